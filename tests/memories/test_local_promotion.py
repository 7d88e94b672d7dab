"""Promotion without an LLM: extractive episode summaries and facts from recurring patterns.

Pure functions: no database, no network. Rows are built in the sentence forms that
``memories.sentences`` writes.
"""

import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest

from memories.promotion.offline.episodes import (
    SUMMARY_MAX_CHARS,
    TITLE_MAX_CHARS,
    episode_summarize,
)
from memories.promotion.offline.facts import MAX_PROPOSED_DELTA as MAX_REINFORCE_DELTA
from memories.promotion.offline.facts import facts_distill

START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
_ids = itertools.count(1)


def row(kind: str, text: str, *, minutes: float = 0, **extra) -> dict:
    return {
        "id": next(_ids),
        "kind": kind,
        "text": text,
        "occurred_at": (START + timedelta(minutes=minutes)).isoformat(),
        "agent": None,
        "prompt_text": None,
        "reply_text": None,
    } | extra


def ran(command: str, *, cwd: str = "~/shop", exit: int = 0, minutes: float = 0) -> dict:
    return row("terminal_turn", f'Ran "{command}" in {cwd} (exit {exit}).', minutes=minutes)


def asked(prompt: str, reply: str | None, *, agent: str = "claude-code", minutes: float = 0):
    """An agent prompt (with its reply when given) and the reply's own row."""
    prompt_row = row(
        "agent_prompt",
        f'{agent} asked: "{prompt}"',
        minutes=minutes,
        agent=agent,
        prompt_text=prompt if reply is not None else None,
        reply_text=reply,
    )
    if reply is None:
        return [prompt_row]
    reply_row = row(
        "user_reply", f'Replied to {agent}: "{reply}"', minutes=minutes + 0.5, agent=agent
    )
    return [prompt_row, reply_row]


def note(text: str, *, minutes: float = 0) -> dict:
    return row("note", f'Noted: "{text}"', minutes=minutes)


def episode(id: int, rows: list[dict]) -> dict:
    return {"id": id, "title": "", "summary": "", "raw": rows}


def shop_session() -> list[dict]:
    return [
        ran("pnpm install", minutes=0),
        *asked("Run the test suite?", "yes", minutes=1),
        ran("pytest -x", exit=1, minutes=2),
        *asked("Run the migrations now?", "yes, but back up the db first", minutes=5),
        ran("python manage.py migrate", minutes=6),
        row("desktop_frame", 'Looked at "shop — models.py" in Code.', minutes=7),
        *asked("Should I run the tests again?", "yes", minutes=8),
    ]


# --- episodes -------------------------------------------------------------------------------


def test_an_agent_session_is_titled_by_agent_place_and_main_topics():
    summary = episode_summarize(rows=shop_session())
    assert summary["title"] == "claude-code session in ~/shop: tests and migrations"


@pytest.mark.parametrize(
    ("rows", "title"),
    [
        (
            [ran("git status", cwd="~/api"), ran("git commit -m wip", cwd="~/api"), ran("ls")],
            "Terminal session in ~/api: commits",
        ),
        (
            [ran("ls", cwd="~/api"), ran("ls", cwd="~/api"), ran("cat x")],
            "Terminal session in ~/api: ls and cat",
        ),
        (
            [
                row("desktop_frame", 'Looked at "Inbox" in Mail.'),
                row("desktop_frame", "Used Slack."),
            ],
            "Mail session",
        ),
        ([row("integration_webhook", 'github reported "pull_request".')], "github activity"),
        ([note("Prefer pnpm over npm.")], "Notes"),
        ([], "Activity"),
    ],
    ids=["terminal", "terminal-no-topic", "desktop", "webhook", "notes", "empty"],
)
def test_titles_name_the_dominant_activity(rows, title):
    assert episode_summarize(rows=rows)["title"] == title


def test_the_summary_counts_the_episode_and_keeps_questions_with_their_answers():
    summary = episode_summarize(rows=shop_session())["summary"]

    assert summary.startswith(
        "10 events (2026-11-20 09:00-09:08): 3 commands (1 failed), 3 agent prompts, "
        "3 replies, 1 desktop frame."
    )
    assert 'claude-code asked "Run the test suite?"; they replied "yes".' in summary
    assert 'Ran "pytest -x" in ~/shop (exit 1).' in summary
    # A reply already shown next to its question is not repeated on its own.
    assert "Replied to claude-code" not in summary
    # Time order.
    assert summary.index("Run the test suite?") < summary.index("pytest -x")
    assert summary.index("pytest -x") < summary.index("Run the migrations now?")


def test_a_long_episode_keeps_the_most_informative_sentences_within_the_limit():
    rows = [ran(f"ls dir{i}", minutes=i) for i in range(200)]
    rows += asked("Deploy to staging?", "no, wait for QA", minutes=50)
    rows += [ran("pytest", exit=2, minutes=60), note("Never deploy on Fridays.", minutes=70)]

    result = episode_summarize(rows=rows)

    assert len(result["summary"]) <= SUMMARY_MAX_CHARS
    assert len(result["title"]) <= TITLE_MAX_CHARS
    for informative in ('"Deploy to staging?"', 'Ran "pytest" in ~/shop (exit 2).', "Never deploy"):
        assert informative in result["summary"]


def test_repeated_rows_are_summarised_once():
    rows = [ran("pytest -x", exit=1, minutes=i) for i in range(5)]
    assert episode_summarize(rows=rows)["summary"].count('Ran "pytest -x"') == 1


def test_the_summary_does_not_depend_on_row_order():
    rows = shop_session()
    shuffled = rows[:]
    random.Random(3).shuffle(shuffled)
    assert episode_summarize(rows=shuffled) == episode_summarize(rows=rows)


def test_unrecognised_or_partial_rows_still_give_a_title_and_summary():
    rows = [
        {"id": 1, "kind": "mystery", "text": "Something happened."},
        {"id": 2},
        "not a row",
        {"id": 3, "kind": "terminal_turn", "text": "Ran", "occurred_at": "yesterday"},
    ]
    result = episode_summarize(rows=rows)
    assert result["title"] and result["summary"]
    assert "Something happened." in result["summary"]


# --- facts ----------------------------------------------------------------------------------


def test_a_reply_given_again_and_again_to_paraphrased_questions_becomes_a_reply_pattern():
    episodes = [
        episode(1, asked("Run the test suite?", "yes", minutes=0)),
        episode(2, asked("Should I run the tests now?", "Yes.", minutes=60, agent="cursor")),
        episode(3, asked("Run the test suite?", "yes", minutes=120)),
    ]
    result = facts_distill(episodes=episodes, existing_facts=[])

    (pattern,) = [f for f in result["new"] if f["kind"] == "reply_pattern"]
    assert pattern["text"] == 'When asked "Run the test suite?" they answer "yes".'
    assert pattern["tags"][:3] == ["reply", "claude-code", "cursor"]
    assert pattern["tags"][3].startswith("pattern:")
    assert pattern["source_episode_ids"] == [1, 2, 3]
    assert 0 < pattern["importance"] <= 1
    assert result["reinforce"] == []


def test_the_question_is_stated_without_the_context_the_agent_wrapped_around_it():
    episodes = [
        episode(1, asked("Done with api.ts. Proceed?", "apply it", agent="cursor")),
        episode(2, asked("I've updated cart.py. Proceed?", "apply it", agent="cursor")),
    ]
    (pattern,) = facts_distill(episodes=episodes, existing_facts=[])["new"][:1]
    assert pattern["text"] == 'When cursor asks "Proceed?" they answer "apply it".'


def test_an_answer_that_differs_by_agent_becomes_one_pattern_per_agent():
    rows = []
    for i in range(2):
        rows += asked("Proceed?", "yes, go ahead", agent="claude-code", minutes=10 * i)
        rows += asked("Proceed?", "apply it", agent="cursor", minutes=10 * i + 1)
        rows += asked("Proceed?", "y", agent="aider", minutes=10 * i + 2)
    texts = [
        f["text"]
        for f in facts_distill(episodes=[episode(1, rows)], existing_facts=[])["new"]
        if f["kind"] == "reply_pattern"
    ]
    assert texts == [
        'When aider asks "Proceed?" they answer "y".',
        'When claude-code asks "Proceed?" they answer "yes, go ahead".',
        'When cursor asks "Proceed?" they answer "apply it".',
    ]


@pytest.mark.parametrize(
    "replies",
    [
        ["yes"],  # once is not a pattern
        ["yes", "no", "later"],  # no answer recurs
        ["yes", "yes", "no", "later", "skip it"],  # recurs, but not the usual answer
    ],
    ids=["once", "all-different", "not-dominant"],
)
def test_no_reply_pattern_without_a_recurring_dominant_answer(replies):
    rows = [r for i, reply in enumerate(replies) for r in asked("Run the tests?", reply, minutes=i)]
    new = facts_distill(episodes=[episode(1, rows)], existing_facts=[])["new"]
    assert [f for f in new if f["kind"] == "reply_pattern"] == []


def test_the_tools_used_most_become_habits():
    rows = [ran("pnpm install", minutes=i) for i in range(4)]
    rows += [ran("sudo FOO=1 /usr/local/bin/pnpm build", minutes=5)]
    rows += [ran("git status", minutes=6 + i) for i in range(3)]
    rows += [ran("ls", minutes=10), ran("ls", minutes=11)]  # twice: not a habit

    habits = [
        (f["text"], f["tags"][:3])
        for f in facts_distill(episodes=[episode(1, rows)], existing_facts=[])["new"]
        if f["kind"] == "habit"
    ]
    assert habits == [
        ("Uses pnpm (5 times).", ["habit", "tool", "pnpm"]),
        ("Uses git (3 times).", ["habit", "tool", "git"]),
    ]


def test_notes_become_preferences_or_notes_once_each():
    episodes = [
        episode(1, [note("I always use pnpm, never npm."), note("Dentist at 3")]),
        episode(2, [note("I always use pnpm, never npm.", minutes=5)]),
    ]
    new = facts_distill(episodes=episodes, existing_facts=[])["new"]
    assert [(f["kind"], f["text"], f["source_episode_ids"]) for f in new] == [
        ("preference", "I always use pnpm, never npm.", [1, 2]),
        ("note", "Dentist at 3.", [1]),
    ]


def test_recent_patterns_are_more_important_than_old_ones_and_habits_rank_below_answers():
    old = asked("Run the tests?", "yes", minutes=0) + asked("Run the tests?", "yes", minutes=1)
    recent_minutes = 60 * 24 * 90  # three months later
    recent = asked("Use tabs or spaces?", "spaces", minutes=recent_minutes)
    recent += asked("Use tabs or spaces?", "spaces", minutes=recent_minutes + 1)
    tools = [ran("make", minutes=recent_minutes + i) for i in range(20)]

    new = facts_distill(episodes=[episode(1, old + recent + tools)], existing_facts=[])["new"]
    importance = {f["text"]: f["importance"] for f in new}

    tests = importance['When claude-code asks "Run the tests?" they answer "yes".']
    spaces = importance['When claude-code asks "Use tabs or spaces?" they answer "spaces".']
    habit = importance["Uses make (20 times)."]
    assert all(0 <= value <= 1 for value in importance.values())
    assert tests < spaces
    assert habit < spaces


def _as_existing(new: list[dict], first_id: int = 100) -> list[dict]:
    return [
        {key: fact[key] for key in ("kind", "text", "importance", "tags")} | {"id": first_id + i}
        for i, fact in enumerate(new)
    ]


def test_patterns_already_known_are_reinforced_instead_of_duplicated():
    rows = shop_session() + asked("Run the test suite?", "yes", minutes=20)
    rows += [ran("pnpm test", minutes=30 + i) for i in range(3)]
    rows += [note("Prefer pnpm over npm.")]
    first = facts_distill(episodes=[episode(1, rows)], existing_facts=[])
    existing = _as_existing(first["new"])
    assert {f["kind"] for f in first["new"]} == {"reply_pattern", "habit", "preference"}

    again = facts_distill(episodes=[episode(2, rows)], existing_facts=existing)

    assert again["new"] == []
    assert again["reinforce"] == [
        # 0.02 per repeat seen again for answers and notes, 0.005 for habits.
        {"id": existing[0]["id"], "importance_delta": 0.06, "source_episode_ids": [2]},
        {"id": existing[1]["id"], "importance_delta": 0.02, "source_episode_ids": [2]},
        {"id": existing[2]["id"], "importance_delta": 0.02, "source_episode_ids": [2]},
        {"id": existing[3]["id"], "importance_delta": 0.02, "source_episode_ids": [2]},
    ]
    assert [f["text"] for f in existing] == [
        'When claude-code asks "Run the test suite?" they answer "yes".',
        "Uses pnpm (4 times).",
        "Works with claude-code (4 prompts).",
        "Prefer pnpm over npm.",
    ]
    assert max(r["importance_delta"] for r in again["reinforce"]) <= MAX_REINFORCE_DELTA


@pytest.mark.parametrize(
    ("existing_text", "kind", "rows"),
    [
        (
            "Uses pnpm (40 times).",
            "habit",
            [ran("pnpm i", minutes=i) for i in range(3)],
        ),
        (
            'When claude-code asks "Shall I run the tests?" they answer "Yes".',
            "reply_pattern",
            asked("Run the test suite?", "yes") + asked("Run the tests?", "yes!", minutes=1),
        ),
        (
            "i always use PNPM",
            "preference",
            [note("I always use pnpm.")],
        ),
    ],
    ids=["habit-with-another-count", "reply-pattern-in-other-words", "same-normalised-text"],
)
def test_a_fact_stated_differently_without_a_key_tag_is_still_recognised(existing_text, kind, rows):
    existing = [{"id": 7, "kind": kind, "text": existing_text, "importance": 0.5, "tags": []}]
    result = facts_distill(episodes=[episode(3, rows)], existing_facts=existing)
    assert [f for f in result["new"] if f["kind"] == kind] == []
    assert [r["id"] for r in result["reinforce"]] == [7]


def test_the_same_question_with_a_new_answer_is_a_new_fact_and_the_old_one_stays():
    existing = [
        {
            "id": 7,
            "kind": "reply_pattern",
            "text": 'When claude-code asks "npm or pnpm?" they answer "npm".',
            "importance": 0.8,
            "tags": ["reply"],
        }
    ]
    rows = asked("npm or pnpm?", "pnpm") + asked("npm or pnpm?", "pnpm", minutes=1)
    result = facts_distill(episodes=[episode(1, rows)], existing_facts=existing)
    assert [f["text"] for f in result["new"] if f["kind"] == "reply_pattern"] == [
        'When claude-code asks "npm or pnpm?" they answer "pnpm".'
    ]
    assert result["reinforce"] == []


def test_reinforcement_stops_at_the_ceiling_of_the_kind_but_still_records_provenance():
    existing = [
        {"id": 1, "kind": "habit", "text": "Uses git (3 times).", "importance": 0.6, "tags": []}
    ]
    rows = [ran("git status", minutes=i) for i in range(10)]
    result = facts_distill(episodes=[episode(9, rows)], existing_facts=existing)
    assert result == {
        "new": [],
        "reinforce": [{"id": 1, "importance_delta": 0.0, "source_episode_ids": [9]}],
    }


def test_distilling_is_deterministic_whatever_the_order_of_episodes_and_rows():
    episodes = [
        episode(1, shop_session()),
        episode(2, [*asked("Run the test suite?", "yes", minutes=30), note("Spaces, not tabs.")]),
        episode(3, [ran("pnpm install", minutes=40 + i) for i in range(3)]),
    ]
    expected = facts_distill(episodes=episodes, existing_facts=[])
    rng = random.Random(5)
    for _ in range(3):
        shuffled = [e | {"raw": rng.sample(e["raw"], len(e["raw"]))} for e in episodes]
        rng.shuffle(shuffled)
        assert facts_distill(episodes=shuffled, existing_facts=[]) == expected


def test_nothing_to_distill_gives_nothing():
    assert facts_distill(episodes=[], existing_facts=[]) == {"new": [], "reinforce": []}
    assert facts_distill(episodes=[episode(1, [])], existing_facts=[]) == {
        "new": [],
        "reinforce": [],
    }


def test_malformed_episodes_rows_and_facts_are_skipped():
    episodes = ["junk", {"id": 2, "raw": ["junk", {"id": 5}]}, episode(3, shop_session())]
    existing = ["junk", {"id": True, "text": "x"}, {"text": "no id"}]
    result = facts_distill(episodes=episodes, existing_facts=existing)
    assert result["reinforce"] == []
    assert any(f["kind"] == "reply_pattern" for f in result["new"])


def test_the_output_fits_the_llm_paths_schema_even_for_large_odd_input():
    from jsonschema import Draft202012Validator

    from memories.promotion import EPISODE_SCHEMA, FACTS_SCHEMA

    rng = random.Random(11)
    long_agent = "agent-" + "x" * 190
    long_tool = "/opt/" + "t" * 300 + " run"
    episodes = []
    for i in range(1, 131):  # 130 unrelated questions, each answered twice the same way
        prompt = " ".join("".join(rng.sample("abcdefghijklmnopqrstuvwxyz", 7)) for _ in range(3))
        rows = asked(f"{prompt}?", "yes", agent=long_agent, minutes=i)
        rows += asked(f"{prompt}?", "yes", agent=long_agent, minutes=i + 0.2)
        episodes.append(episode(i, [*rows, ran(long_tool, minutes=i)]))
    result = facts_distill(episodes=episodes, existing_facts=[])

    assert list(Draft202012Validator(FACTS_SCHEMA).iter_errors(result)) == []
    assert len(result["new"]) == 50
    summary = episode_summarize(rows=[r for e in episodes for r in e["raw"]])
    assert list(Draft202012Validator(EPISODE_SCHEMA).iter_errors(summary)) == []


def test_source_episode_ids_are_in_numeric_order():
    rows = asked("Run the tests?", "yes")
    episodes = [episode(10, rows), episode(9, asked("Run the tests?", "yes", minutes=1))]
    (fact,) = [
        f
        for f in facts_distill(episodes=episodes, existing_facts=[])["new"]
        if f["kind"] == "reply_pattern"
    ]
    assert fact["source_episode_ids"] == [9, 10]
