"""The Aider history parser, on snippets written in the shape Aider logs them."""

from predictions.integrations.aider import history_parse
from recording.services import events_validate


def _logged(text: str) -> str:
    """Text as Aider writes it: every non-blank line ends in Markdown's two-space line break
    (except continuation lines of a multi-line subject, written here with a leading "|")."""
    lines = []
    for line in text.split("\n"):
        if line.startswith("|"):
            lines.append(line[1:])
        else:
            lines.append(line + "  " if line.strip() else line)
    return "\n".join(lines)


SESSION = _logged("""
# aider chat started at 2025-07-16 20:10:38

> /opt/homebrew/bin/aider --model sonnet
> Aider v0.86.1
> Main model: anthropic/claude-sonnet-4 with diff edit format

#### add a health endpoint to app.py
#### and test it
> app.py
> Add file to the chat? (Y)es/(N)o/(D)on't ask again [Yes]: y

Here is the change.

> Tokens: 3.4k sent, 192 received. Cost: $0.01 message, $0.01 session.
> Applied edit to app.py
> Commit 3f9c2ab feat: Add /health endpoint
> npm test
> Run shell command? (Y)es/(N)o/(D)on't ask again [Yes]: n
> git add app.py
|git commit -m "feat: health"
> Run shell commands? (Y)es/(N)o/(D)on't ask again [Yes]: y
> Running git add app.py
> Add command output to the chat? (Y)es/(N)o/(D)on't ask again [Yes]: n
> src/health.test.ts
> Create new file? (Y)es/(N)o [Yes]: y
> Add lua/plugins/init.lua to the chat? (Y)es/(N)o/(D)on't ask again [Yes]: n
> https://aider.chat/docs/troubleshooting/edit-errors.html
> Open documentation url for more info? (Y)es/(N)o/(D)on't ask again [Yes]: d

#### /exit
""")

GROUP = _logged("""
# aider chat started at 2025-07-17 09:00:00

> aider

#### look at the schemas
> Tokens: 3.4k sent, 192 received. Cost: $0.01 message, $0.01 session.
> engine/dag.ts
> Add file to the chat? (Y)es/(N)o/(A)ll/(S)kip all/(D)on't ask again [Yes]: a
> schemas/pipeline.ts

#### Add file to the chat? (Y)es/(N)o/(A)ll/(S)kip all/(D)on't ask again [Yes]: all
> Add file to the chat? (Y)es/(N)o/(A)ll/(S)kip all/(D)on't ask again [Yes]: a
> validators/signal.ts

#### Add file to the chat? (Y)es/(N)o/(A)ll/(S)kip all/(D)on't ask again [Yes]: all
> Add file to the chat? (Y)es/(N)o/(A)ll/(S)kip all/(D)on't ask again [Yes]: a

Based on the files you've added, here is a summary.
""")

YES_ALWAYS = _logged("""
# aider chat started at 2025-07-18 10:00:00

> Newer aider version v0.85.2 is available.
> /home/me/venv/bin/aider --model qwen --message make hello.py --yes-always --no-stream
> Aider v0.86.2

#### make hello.py
> hello.py
> Create new file? (Y)es/(N)o [Yes]: y
> python hello.py
> Run shell command? (Y)es/(N)o/(D)on't ask again [Yes]: y
""")


def _kinds(events):
    return [e["kind"] for e in events]


def _prompts(history):
    return [e for e in history.events if e["kind"] == "agent_prompt"]


def _replies(history):
    return {
        e["payload"]["in_reply_to"]: e["payload"]
        for e in history.events
        if e["kind"] == "user_reply"
    }


def test_every_answered_question_becomes_a_prompt_and_the_persons_reply():
    history = history_parse(text=SESSION)
    prompts, replies = _prompts(history), _replies(history)
    assert [p["payload"]["text"].splitlines()[0] for p in prompts] == [
        "Add file to the chat?",
        "Run shell command?",
        "Run shell commands?",
        "Add command output to the chat?",
        "Create new file?",
        "Add lua/plugins/init.lua to the chat?",
        "Open documentation url for more info?",
    ]
    assert [replies[p["id"]]["text"] for p in prompts] == [
        "yes",
        "no",
        "yes",
        "no",
        "yes",
        "no",
        "no",
    ]
    assert replies[prompts[-1]["id"]]["choice"] == "don't ask again"
    assert "choice" not in replies[prompts[0]["id"]]
    assert (history.prompts, history.replies, history.automatic) == (7, 7, 0)
    assert all(p["payload"]["agent"] == "aider" for p in prompts)


def test_the_question_carries_its_tool_and_subject():
    tools = [p["payload"].get("tool") for p in _prompts(history_parse(text=SESSION))]
    assert tools == [
        {"name": "add_file", "input": {"file_path": "app.py"}},
        {"name": "Bash", "input": {"command": "npm test"}},
        {"name": "Bash", "input": {"command": 'git add app.py\ngit commit -m "feat: health"'}},
        {"name": "add_output", "input": {}},
        {"name": "Write", "input": {"file_path": "src/health.test.ts"}},
        {"name": "add_file", "input": {"file_path": "lua/plugins/init.lua"}},
        {
            "name": "open_url",
            "input": {"url": "https://aider.chat/docs/troubleshooting/edit-errors.html"},
        },
    ]


def test_the_prompt_text_shows_the_subject_and_the_options_are_listed():
    prompts = _prompts(history_parse(text=SESSION))
    assert prompts[1]["payload"]["text"] == "Run shell command?\nnpm test"
    assert prompts[0]["payload"]["options"] == ["yes", "no", "don't ask again"]
    assert prompts[4]["payload"]["options"] == ["yes", "no"]


def test_the_persons_messages_are_notes_joined_across_lines():
    notes = [
        e["payload"]["text"] for e in history_parse(text=SESSION).events if e["kind"] == "note"
    ]
    assert notes == ["add a health endpoint to app.py\nand test it", "/exit"]


def test_answers_from_an_earlier_all_are_not_labels():
    history = history_parse(text=GROUP)
    prompts = _prompts(history)
    assert len(prompts) == 1
    assert prompts[0]["payload"]["tool"] == {
        "name": "add_file",
        "input": {"file_path": "engine/dag.ts"},
    }
    assert _replies(history)[prompts[0]["id"]] == {
        "text": "yes",
        "in_reply_to": prompts[0]["id"],
        "choice": "all",
    }
    assert history.automatic == 2
    # Aider's "#### ...: all" lines are its own, not the person's messages.
    assert [e["payload"]["text"] for e in history.events if e["kind"] == "note"] == [
        "look at the schemas"
    ]


def test_a_yes_always_session_has_no_labels():
    history = history_parse(text=YES_ALWAYS)
    assert _prompts(history) == []
    assert history.automatic == 2
    assert history.notes == 1


def test_the_old_yes_flag_counts_as_yes_always_but_a_yes_in_the_message_does_not():
    old = YES_ALWAYS.replace("--yes-always", "--yes")
    assert history_parse(text=old).automatic == 2
    worded = YES_ALWAYS.replace("--yes-always", "--message-file yes.txt")
    assert history_parse(text=worded).prompts == 2


def test_a_question_asked_again_after_dont_ask_again_is_not_the_persons():
    again = SESSION.replace(
        "#### /exit",
        "> https://aider.chat/docs/troubleshooting/edit-errors.html  \n"
        "> Open documentation url for more info? (Y)es/(N)o/(D)on't ask again [Yes]: n  \n\n#### /exit",
    )
    history = history_parse(text=again)
    assert (history.prompts, history.automatic) == (7, 1)


def test_a_mistyped_answer_does_not_become_the_subject():
    text = SESSION.replace(
        "> Run shell command? (Y)es/(N)o/(D)on't ask again [Yes]: n",
        "> Please answer with one of: yes, no, don't  \n"
        "> Run shell command? (Y)es/(N)o/(D)on't ask again [Yes]: n",
    )
    prompts = _prompts(history_parse(text=text))
    assert prompts[1]["payload"]["tool"] == {"name": "Bash", "input": {"command": "npm test"}}


def test_ids_are_derived_from_the_content_so_a_second_import_adds_nothing():
    first = history_parse(text=SESSION + GROUP)
    again = history_parse(text=SESSION + GROUP)
    assert [e["id"] for e in first.events] == [e["id"] for e in again.events]
    assert len({e["id"] for e in first.events}) == len(first.events)
    # Aider appends: the events already imported keep their ids.
    grown = history_parse(text=SESSION + GROUP + YES_ALWAYS)
    assert [e["id"] for e in grown.events[: len(first.events)]] == [e["id"] for e in first.events]


def test_the_namespace_keeps_two_files_apart():
    a = history_parse(text=SESSION, namespace="repo-a")
    b = history_parse(text=SESSION, namespace="repo-b")
    assert not {e["id"] for e in a.events} & {e["id"] for e in b.events}


def test_a_repeated_session_header_gets_new_ids():
    history = history_parse(text=SESSION + SESSION)
    assert (
        len({e["id"] for e in history.events})
        == len(history.events)
        == 2 * len(history_parse(text=SESSION).events)
    )


def test_events_are_valid_clone_events_in_increasing_time():
    events = history_parse(text=SESSION + GROUP + YES_ALWAYS).events
    events_validate(events=events)
    times = [e["occurred_at"] for e in events]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert times[0] == "2025-07-16T20:10:38Z"
    for i, event in enumerate(events):
        if event["kind"] == "user_reply":
            assert events[i - 1]["id"] == event["payload"]["in_reply_to"]


def test_a_session_starting_before_the_last_event_keeps_the_order():
    early = SESSION.replace("2025-07-16 20:10:38", "2025-07-19 00:00:00")
    events = history_parse(text=early + GROUP).events
    times = [e["occurred_at"] for e in events]
    assert times == sorted(times)


def test_odd_content_is_skipped_never_raised_on():
    assert history_parse(text="").events == []
    assert history_parse(text="just some text\n> Run shell command? maybe\n").events == []
    headless = history_parse(text="> ls  \n> Run shell command? (Y)es/(N)o [Yes]: y  \n")
    assert headless.prompts == 1
    events_validate(events=headless.events)


def test_an_add_that_matched_nothing_is_its_own_request_not_a_new_file_the_agent_writes():
    text = _logged(
        "# aider chat started at 2025-07-19 09:00:00\n\n> aider\n\n#### /add src/\n"
        "> No files matched 'src/'. Do you want to create /home/me/app/src/? (Y)es/(N)o [Yes]: n"
    )
    prompt = _prompts(history_parse(text=text))[0]
    assert prompt["payload"]["tool"] == {
        "name": "add_missing_file",
        "input": {"file_path": "/home/me/app/src/"},
    }
