"""The structured offline predictor: levels of evidence, shrinkage, the evidence cap, options."""

from datetime import UTC, datetime, timedelta

import pytest

from predictions.structured import (
    NOVEL_CAP,
    command_head,
    option_for,
    request_keys,
    structured_predict,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def bash(command):
    return {"name": "Bash", "input": {"command": command}}


def past(tool, reply, *, days_ago=3.0, agent="claude-code", prompt="Allow?"):
    return {
        "agent": agent,
        "prompt": prompt,
        "reply": reply,
        "tool": tool,
        "occurred_at": (NOW - timedelta(days=days_ago)).isoformat(),
    }


def predict(tool, history, *, options=None, agent="claude-code", text="Allow?"):
    return structured_predict(
        agent=agent, text=text, tool=tool, options=options, history=history, now=NOW
    )


@pytest.mark.parametrize(
    ("command", "head"),
    [
        ("npm test", "npm test"),
        ("npm test -- --watch", "npm test"),
        ("git push --force origin main", "git push"),
        ("rm -rf build", "rm"),
        ("cd web && pnpm dev", "pnpm dev"),
        ("FOO=1 npm run build", "npm run"),
        ("sudo apt-get install jq", "apt-get install"),
        ("python -m pytest -q", "python -m pytest"),
        ("/usr/bin/ls -la", "ls"),
        ("echo 'unbalanced", "echo"),
        ("", ""),
    ],
)
def test_command_head_names_the_action(command, head):
    assert command_head(command) == head


@pytest.mark.parametrize(
    ("reply", "chosen"),
    [
        ("y", "yes"),
        ("Yes please", "yes"),
        ("go ahead", "yes"),
        ("sure, run it", "yes"),
        ("n", "no"),
        ("nope, not now", "no"),
        ("don't", "no"),
        ("always", "always"),
        ("always allow this", "always"),
        ("what is this for?", None),
        ("", None),
    ],
)
def test_the_persons_wording_maps_to_an_option(reply, chosen):
    assert option_for(reply, ["yes", "no", "always"]) == chosen


def test_request_keys_widen_from_the_command_to_the_agent():
    keys = request_keys(agent="Claude-Code", tool=bash("npm  test"), text="")
    assert keys == {
        "L0": "claude-code|bash|npm test",
        "L1": "claude-code|bash|head:npm test",
        "L2": "claude-code|bash",
        "L3": "agent:claude-code",
    }
    edit = request_keys(
        agent="a", tool={"name": "Edit", "input": {"file_path": "src/x/y.py"}}, text=""
    )
    assert edit["L1"] == "a|edit|dir:src/x"
    fetch = request_keys(
        agent="a", tool={"name": "WebFetch", "input": {"url": "https://Docs.rs/x"}}, text=""
    )
    assert fetch["L1"] == "a|webfetch|host:docs.rs"
    untooled = request_keys(agent="a", tool=None, text="Add .aider* to .gitignore?\nmore")
    assert untooled["L0"] == untooled["L2"] == "text:add aider to gitignore"


def test_a_command_always_approved_is_predicted_with_high_confidence_and_says_why():
    history = [past(bash("npm test"), "yes", days_ago=i / 10) for i in range(41)]
    top = predict(bash("npm test"), history)[0]
    assert top.text == "yes"
    assert top.confidence >= 0.95
    assert "approved `npm test` 41 of 41 times" in top.reasoning


def test_three_answers_cannot_reach_0_9():
    history = [past(bash("make deploy"), "yes") for _ in range(3)]
    top = predict(bash("make deploy"), history)[0]
    assert top.text == "yes"
    assert top.confidence < 0.9
    assert top.evidence_cap == pytest.approx(3.5 / 4)


def test_the_agent_level_alone_does_not_vouch_for_a_request():
    # Many approvals of reads say nothing about this one Bash command refused once.
    history = [past({"name": "Read", "input": {"file_path": f"f{i}.py"}}, "yes") for i in range(50)]
    history.append(past(bash("git push"), "no"))
    top = predict(bash("git push"), history)[0]
    assert top.evidence_cap <= 0.75


def test_a_novel_request_gets_a_low_confidence():
    history = [past({"name": "Read", "input": {"file_path": f"f{i}.py"}}, "yes") for i in range(50)]
    top = predict(bash("terraform destroy"), history)[0]
    assert top.confidence <= NOVEL_CAP < 0.8
    assert "Never seen" in top.reasoning


def read(path):
    return {"name": "Read", "input": {"file_path": path}}


def fetch(url):
    return {"name": "WebFetch", "input": {"url": url}}


def test_a_first_request_of_a_kind_weighs_each_kind_answered_once_not_each_answer():
    # Eight refused URLs and six approvals spread over two other kinds: pooled, the URLs would
    # decide the person's first file write.
    history = [past(fetch(f"https://x.example/{i}"), "no") for i in range(8)]
    history += [past(bash(f"npm run t{i}"), "yes") for i in range(3)]
    history += [past(read(f"src/f{i}.py"), "yes") for i in range(3)]
    top = predict({"name": "Write", "input": {"file_path": "docs/api.md"}}, history)[0]
    assert top.text == "yes"
    assert top.confidence <= NOVEL_CAP
    assert top.counts["L3"] == (6, 14)


def test_a_kind_answered_once_counts_less_than_one_answered_often():
    # Two kinds approved once each against one kind refused eight times: "no" (each kind
    # counting one whole vote would say "yes").
    history = [past(fetch(f"https://x.example/{i}"), "no") for i in range(8)]
    history += [past(bash("make"), "yes"), past(read("src/a.py"), "yes")]
    assert predict({"name": "Edit", "input": {"file_path": "b.py"}}, history)[0].text == "no"


def test_a_kind_already_answered_keeps_the_agent_level_pooled():
    # Bash has one answer of its own: only a first request of a kind re-weighs the agent level
    # by kind (which here would tip the new command to "yes").
    history = [past(fetch(f"https://x.example/{i}"), "no") for i in range(20)]
    history += [past(bash("npm run t0"), "yes")]
    history += [past(read(f"src/f{i}.py"), "yes") for i in range(3)]
    assert predict(bash("terraform plan"), history)[0].text == "no"


def test_no_history_means_no_candidate():
    assert predict(bash("ls"), []) == []
    assert predict(bash("ls"), [past(bash("ls"), "yes", agent="cursor")]) == []


def test_the_same_head_informs_a_new_command():
    history = [past(bash(f"git push origin b{i}"), "no") for i in range(8)]
    history += [past(bash(f"git status {i}"), "yes") for i in range(8)]
    top = predict(bash("git push origin main"), history)[0]
    assert top.text == "no"
    assert top.counts["L1"] == (8, 8)


def test_the_finest_level_outweighs_the_wider_one():
    history = [past(bash(f"npm run {s}"), "yes") for s in ("lint", "build", "dev", "fmt") * 3]
    history += [past(bash("npm run deploy"), "no") for _ in range(4)]
    assert predict(bash("npm run deploy"), history)[0].text == "no"
    assert predict(bash("npm run lint"), history)[0].text == "yes"


def test_what_the_person_just_said_in_this_session_moves_the_prediction():
    old = [past(bash(f"npm run dev{i}"), "yes", days_ago=20) for i in range(6)]
    recent = [past(bash(f"npm run dev{i}"), "no", days_ago=0.005) for i in range(3)]
    assert predict(bash("npm run dev9"), old + recent)[0].text == "no"
    assert predict(bash("npm run dev9"), old)[0].text == "yes"


def test_recency_counts():
    history = [past(bash("npm run e2e"), "yes", days_ago=300) for _ in range(4)]
    history += [past(bash("npm run e2e"), "no", days_ago=2) for _ in range(3)]
    assert predict(bash("npm run e2e"), history)[0].text == "no"


def test_the_latest_answer_to_the_same_request_breaks_a_split():
    # The person approved this fetch, then refused it, hours apart (outside one session); the
    # wider levels lean to yes.
    fetch = {"name": "WebFetch", "input": {"url": "http://localhost:8000/register"}}
    wider = [past({"name": "WebFetch", "input": {"url": f"http://x/{i}"}}, "yes") for i in range(4)]
    split = [past(fetch, "no", days_ago=0.1), past(fetch, "yes", days_ago=0.2)]
    assert predict(fetch, split + wider)[0].text == "no"
    flipped = [past(fetch, "yes", days_ago=0.1), past(fetch, "no", days_ago=0.2)]
    assert predict(fetch, flipped + wider)[0].text == "yes"
    # A single answer is no stronger for being the latest: three answers still cannot reach 0.9.
    three = [past(fetch, "yes", days_ago=d) for d in (0.1, 0.2, 0.3)]
    assert predict(fetch, three)[0].confidence < 0.9


def test_candidates_are_the_requests_options():
    history = [past(bash("ls"), "always allow") for _ in range(5)] + [past(bash("ls"), "y")]
    found = predict(bash("ls"), history, options=["yes", "no", "always"])
    assert [c.text for c in found] == ["always", "yes", "no"]
    assert sum(c.confidence for c in found) <= 1.0 + 1e-9


def test_replies_naming_no_option_are_not_evidence():
    history = [past(bash("ls"), "what does it do?") for _ in range(5)]
    assert predict(bash("ls"), history) == []


def test_deterministic():
    history = [past(bash(f"cmd{i % 3}"), "yes" if i % 2 else "no", days_ago=i) for i in range(30)]
    first = predict(bash("cmd1"), history)
    assert first == predict(bash("cmd1"), list(history))


def test_two_equal_answers_at_the_same_moment_are_two_answers_and_one_is_the_latest():
    """Imported histories repeat a time (one per chat session): the same reply to the same
    request at the same moment counts twice and only one of them as the latest answer, exactly
    as when the two are a microsecond apart."""
    same_moment = [
        past(bash("npm test"), "no", days_ago=1),
        past(bash("npm test"), "no", days_ago=1),
    ]
    apart = [
        past(bash("npm test"), "no", days_ago=1),
        past(bash("npm test"), "no", days_ago=1 + 1e-6 / 86_400),
    ]
    older = [past(bash("npm test"), "yes", days_ago=d) for d in (2, 3, 4, 5)]
    first, second = (
        predict(bash("npm test"), same_moment + older),
        predict(bash("npm test"), apart + older),
    )
    assert [(c.text, c.confidence) for c in first] == [(c.text, c.confidence) for c in second]
    # Read again (every past decision is read once per process, then reused): the same answer.
    assert [(c.text, c.confidence) for c in predict(bash("npm test"), same_moment + older)] == [
        (c.text, c.confidence) for c in first
    ]


def test_tool_inputs_that_python_calls_equal_stay_different_requests():
    """``1``, ``1.0`` and ``true`` are equal in Python but different arguments of a tool call."""
    history = [
        past({"name": "mcp__db__query", "input": {"limit": value}}, "yes")
        for value in (1, True, 1.0)
    ]
    (top,) = predict({"name": "mcp__db__query", "input": {"limit": True}}, history)[:1]
    assert top.counts["L0"] == (1, 1)
    assert top.counts["L2"] == (3, 3)
