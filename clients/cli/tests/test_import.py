"""`clone import claude-code|aider` as a subprocess against the live server, and the chunking
that keeps each tool call with its result."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from conftest import REPO

from clone_cli.imports import _is_person_message, _line_chunks, _transcript_lines

FIXTURES = REPO / "tests" / "predictions" / "integrations" / "fixtures"
INTERACTIVE = "claude_code_transcript_interactive.jsonl"
HEADLESS = "claude_code_transcript_headless_denied.jsonl"

AIDER_HISTORY = """
# aider chat started at {started}

> /usr/bin/aider --model sonnet

#### run the tests

> Run shell command? (Y)es/(N)o/(D)on't ask again [Yes]: y

#### now push it

> git push origin main
> Run shell command? (Y)es/(N)o/(D)on't ask again [Yes]: n
"""


def _transcript(folder: Path, fixture: str) -> Path:
    """A copy of a transcript the real Claude Code wrote, under a fresh session id (the
    server's ids derive from it, so each test imports into an empty history)."""
    text = (FIXTURES / fixture).read_text()
    old = json.loads(text.splitlines()[0])["sessionId"]
    new = str(uuid.uuid4())
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{new}.jsonl"
    path.write_text(text.replace(old, new))
    return path


def _aider(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ".aider.chat.history.md"
    # A start second no other test uses: the session's ids derive from its header.
    started = f"2025-07-{uuid.uuid4().int % 28 + 1:02d} 20:{uuid.uuid4().int % 60:02d}:38"
    path.write_text(AIDER_HISTORY.format(started=started))
    return path


def test_claude_code_imports_the_default_folder_then_nothing_new(cli):
    projects = cli.home / ".claude" / "projects" / "-tmp-cc-proj"
    _transcript(projects, INTERACTIVE)
    _transcript(projects, HEADLESS)

    first = cli("--json", "import", "claude-code")
    assert first.returncode == 0, first.stderr
    body = first.json
    assert body["files"] == 2
    # The interactive session: two requests the person answered (a yes, a no), three prompts
    # typed; the headless one: a prompt typed, a call refused by the mode (not the person's).
    assert body["created"] == {"prompts": 2, "replies": 2, "notes": 4}
    assert body["duplicates"] == {"prompts": 0, "replies": 0, "notes": 0}
    assert body["skipped"]["not_the_person"] == 1
    # The import went on to learn from the two answers: they count toward automatic answers.
    assert (body["learned"]["labelled"], body["learned"]["already_labelled"]) == (2, 0)
    assert not any("history/learn" in step for step in body["next"])

    again = cli("import", "claude-code")
    assert again.returncode == 0, again.stderr
    assert "Imported 2 file(s): created 0 prompts, 0 replies, 0 notes;" in again.stdout
    assert "duplicates (already there) 2 prompts, 2 replies, 4 notes." in again.stdout
    assert "Learned from" not in again.stdout  # nothing new to learn from


def test_import_without_learning_then_clone_learn_labels_the_answers_once(cli):
    repo = cli.home / "app"
    _aider(repo)
    imported = cli("--json", "import", "aider", "--no-learn", str(repo))
    assert imported.returncode == 0, imported.stderr
    assert "learned" not in imported.json
    assert any("history/learn" in step for step in imported.json["next"])

    learned = cli("learn")
    assert learned.returncode == 0, learned.stderr
    # Alice's earlier tests' answers may be there already: only these two are new.
    assert ": 2 new label(s), " in learned.stdout, learned.stdout
    again = cli("--json", "learn")
    assert again.returncode == 0, again.stderr
    assert again.json["labelled"] == 0
    assert again.json["already_labelled"] == again.json["replayed"] >= 2


def test_learn_with_the_server_down_exits_4(cli, dead_url):
    done = cli("learn", CLONE_URL=dead_url)
    assert done.returncode == 4, done.stderr


def test_claude_code_imports_a_named_file_and_the_persons_answers_reach_the_server(
    cli, server, alice_key
):
    path = _transcript(cli.home / "elsewhere", INTERACTIVE)
    done = cli("--json", "import", "claude-code", str(path))
    assert done.returncode == 0, done.stderr
    assert done.json["files"] == 1 and done.json["created"]["prompts"] == 2
    with server.api(alice_key) as api:
        events = api.get(
            f"/api/recording/sessions/claude-code:{path.stem}/events/", params={"page_size": 500}
        ).json()["results"]
    replies = [e["payload"]["text"] for e in events if e["kind"] == "user_reply"]
    assert sorted(replies) == ["no", "yes"]


def test_aider_imports_then_nothing_new(cli):
    repo = cli.home / "app"
    _aider(repo)

    first = cli("--json", "import", "aider", str(repo))
    assert first.returncode == 0, first.stderr
    assert first.json["files"] == 1
    assert first.json["created"] == {"prompts": 2, "replies": 2, "notes": 2}

    again = cli("--json", "import", "aider", str(repo / ".aider.chat.history.md"))
    assert again.returncode == 0, again.stderr
    assert again.json["created"] == {"prompts": 0, "replies": 0, "notes": 0}
    assert again.json["duplicates"] == {"prompts": 2, "replies": 2, "notes": 2}


def test_aider_histories_of_two_repositories_are_kept_apart(cli):
    """The same session header in two repositories: the folder's name is the namespace the
    server keeps them apart by, so the second is not taken for a duplicate of the first."""
    one = _aider(cli.home / "one")
    two = cli.home / "two" / ".aider.chat.history.md"
    two.parent.mkdir()
    two.write_text(one.read_text())
    done = cli("--json", "import", "aider", str(one), str(two))
    assert done.returncode == 0, done.stderr
    assert done.json["files"] == 2
    assert done.json["created"] == {"prompts": 4, "replies": 4, "notes": 4}


@pytest.mark.parametrize(
    ("command", "name", "content", "code"),
    [
        pytest.param(
            "claude-code",
            "t.jsonl",
            "this is not\nJSON at all\n",
            "invalid_transcript",
            id="cc-text",
        ),
        pytest.param(
            "claude-code", "t.jsonl", b"\xff\xfe\x00binary", "invalid_transcript", id="cc-binary"
        ),
        pytest.param(
            "aider", ".aider.chat.history.md", b"\xff\xfe\x00", "invalid_history", id="aider-binary"
        ),
        pytest.param(
            "aider", ".aider.chat.history.md", "  \n", "invalid_history", id="aider-empty"
        ),
    ],
)
def test_a_bad_file_is_a_clear_error_exit_2_and_nothing_is_sent(
    cli, server, alice_key, command, name, content, code
):
    good = (
        _transcript(cli.home / "good", INTERACTIVE)
        if command == "claude-code"
        else _aider(cli.home / "good")
    )
    bad = cli.home / "bad" / name
    bad.parent.mkdir()
    if isinstance(content, bytes):
        bad.write_bytes(content)
    else:
        bad.write_text(content)

    done = cli("import", command, str(good), str(bad))
    assert done.returncode == 2
    assert f"error {code}:" in done.stderr and str(bad) in done.stderr
    assert "Traceback" not in done.stderr + done.stdout

    as_json = cli("--json", "import", command, str(bad))
    assert as_json.returncode == 2
    assert as_json.json["error"]["code"] == code
    # The good file named before the bad one was not sent either.
    again = cli("--json", "import", command, str(good))
    assert again.json["duplicates"]["prompts"] == 0 and again.json["created"]["prompts"] == 2


def test_a_missing_path_is_exit_2(cli):
    done = cli("import", "aider", str(cli.home / "nowhere"))
    assert done.returncode == 2
    assert "No such file or folder" in done.stderr and "Traceback" not in done.stderr


def test_a_history_the_server_refuses_is_exit_1_with_its_code(cli):
    """Too big for the server's body limit: the server's 413 and its code, not a traceback."""
    path = cli.home / "big" / ".aider.chat.history.md"
    path.parent.mkdir()
    path.write_text("#### hello\n" * 600_000)  # > 5 MiB
    done = cli("--json", "import", "aider", str(path))
    assert done.returncode == 1, done.stdout
    assert done.json["error"]["code"] == "payload_too_large"
    human = cli("import", "aider", str(path))
    assert human.returncode == 1
    assert "error payload_too_large:" in human.stderr and "Traceback" not in human.stderr


# ------------------------------------------------------------------------------ chunking


def _user(text, session="s"):
    return {"type": "user", "sessionId": session, "message": {"role": "user", "content": text}}


def _tool_use(n):
    return {
        "type": "assistant",
        "message": {"content": [{"type": "tool_use", "id": f"t{n}", "name": "Bash", "input": {}}]},
    }


def _tool_result(n):
    return {
        "type": "user",
        "message": {"content": [{"type": "tool_result", "tool_use_id": f"t{n}", "content": "ok"}]},
    }


def _sized(lines):
    return [(line, len(json.dumps(line)) + 1) for line in lines]


def test_person_messages_are_told_from_tool_results_and_meta_lines():
    assert _is_person_message(_user("run the tests"))
    assert _is_person_message(_user([{"type": "text", "text": "hi"}]))
    assert not _is_person_message(_tool_result(1))
    assert not _is_person_message({**_user("<command-name>"), "isMeta": True})
    assert not _is_person_message(_tool_use(1))
    assert not _is_person_message({"type": "attachment"})


def test_every_chunk_starts_at_a_persons_message_so_no_call_loses_its_result():
    lines = []
    for turn in range(40):
        lines.append(_user(f"turn {turn}"))
        for call in range(turn % 4):
            n = turn * 10 + call
            lines += [_tool_use(n), _tool_result(n)]
    sized = _sized(lines)
    chunks = list(_line_chunks(sized, limit=600))
    assert len(chunks) > 5
    assert [line for chunk in chunks for line in chunk] == lines  # nothing lost or reordered
    for chunk in chunks:
        assert _is_person_message(chunk[0])
        uses = {
            b["id"] for line in chunk for b in line["message"]["content"] if _kind(b) == "tool_use"
        }
        results = {
            b["tool_use_id"]
            for line in chunk
            for b in line["message"]["content"]
            if _kind(b) == "tool_result"
        }
        assert uses == results


def _kind(block):
    return block.get("type") if isinstance(block, dict) else None


def test_a_turn_longer_than_the_limit_stays_whole_up_to_twice_the_limit():
    lines = [_user("one")] + [x for n in range(6) for x in (_tool_use(n), _tool_result(n))]
    lines.append(_user("two"))
    sized = _sized(lines)
    turn = sum(size for _, size in sized[:-1])
    chunks = list(_line_chunks(sized, limit=turn // 2 + 1))
    assert [len(c) for c in chunks] == [13, 1]


def test_a_torn_last_line_is_skipped_and_other_bad_lines_are_named(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(_user("a")) + "\n\n" + json.dumps(_user("b")) + '\n{"type": "us')
    assert [line["message"]["content"] for line, _ in _transcript_lines(path)] == ["a", "b"]
    path.write_text(json.dumps(_user("a")) + "\nnot json\n" + json.dumps(_user("b")) + "\n")
    with pytest.raises(Exception) as raised:
        _transcript_lines(path)
    assert raised.value.code == "invalid_transcript" and raised.value.details == [
        {"line": 2, "message": "not JSON"}
    ]
