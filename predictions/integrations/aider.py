"""Aider's chat history (``.aider.chat.history.md``) as CloneEvents: a pure parser.

No Django, no I/O: text in, events out, the same events for the same text.

What the file holds (Aider appends to it as it goes):
- ``# aider chat started at 2025-07-16 20:10:38`` opens a session; the next ``> `` line is the
  command line Aider was started with;
- ``#### text`` lines are what the person typed (one message may span several lines);
- ``> text`` lines are Aider's own output, and a confirmation question is logged once answered as
  ``> Run shell command? (Y)es/(N)o/(D)on't ask again [Yes]: n``: the question, the options, the
  default and the answer's first letter (Enter logs the default's letter). The question's subject
  (the shell command, the file, the URL) is the ``> `` block just above it; a subject of several
  lines has ``> `` on its first line only.

What becomes an event:
- every confirmation question the *person* answered: an ``agent_prompt`` (agent ``aider``, the
  question with its subject as ``text``, the structured ``tool`` where the question carries one,
  the ``options`` offered) and a ``user_reply`` whose ``text`` is the decision, ``yes`` or
  ``no`` ((A)ll is a yes, (S)kip all and (D)on't ask again are a no), with the exact option in
  ``choice``;
- every message of the person: a ``note``.

What does not: answers given without the person. A session started with ``--yes-always`` (or
its old spelling ``--yes``) answers every question itself; after an "(A)ll" or "(S)kip all" the
rest of the group is answered by that choice (Aider logs those as a ``#### question: all`` line
followed by the answer); after "(D)on't ask again" the same question is not the person's either.
Such questions are counted in ``automatic`` and left out: they are not labels.

Ids are derived from the file's own content (the session's header line, its rank among sessions
with the same header, and the event's rank in the session), so importing the same file twice, or
the same file after Aider appended to it, creates nothing twice. ``namespace`` (for example the
repository's name) keeps two files whose sessions started in the same second apart. Aider logs
local times without an offset: they are taken as UTC, one second apart inside a session, so the
events keep the file's order.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

AGENT = "aider"
SOURCE = "aider"
MAX_TEXT = 100_000
MAX_SUBJECT = 4_000
# A subject of several lines is padded and logged with "> " on its first line only; this many
# lines at most are taken as one.
MAX_SUBJECT_LINES = 40

_SESSION = re.compile(r"^# aider chat started at (?P<when>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})")
_QUESTION = re.compile(
    r"^(?P<question>.+?) (?P<options>\(Y\)es/\(N\)o(?:/\([A-Z]\)[^/\[]*?)*) "
    r"\[(?P<default>[^\]]*)\]: ?(?P<answer>[A-Za-z']*)\s*$"
)
_OPTION = re.compile(r"\((?P<letter>[A-Z])\)(?P<rest>[^/]*)")
_YES_ALWAYS = re.compile(r"(?:^|\s)--yes(?:-always)?(?=\s|=|$)")
_PROGRAM = re.compile(r"(?:^|[/\\\s])aider(?:\.exe)?(?:\s|$)")
_DECISIONS = {"y": "yes", "a": "yes", "n": "no", "s": "no", "d": "no"}

# question (without options) -> (tool name, the key its subject fills, does it take a subject)
_TOOLS: list[tuple[re.Pattern[str], str, str | None]] = [
    (re.compile(r"^Run shell commands?\?$"), "Bash", "command"),
    (re.compile(r"^Run pip install\?$"), "Bash", "command"),
    (re.compile(r"^Create new file\?$"), "Write", "file_path"),
    (
        re.compile(r"^Allow edits to file that has not been added to the chat\?$"),
        "Edit",
        "file_path",
    ),
    (re.compile(r"^Allow creation of new file\?$"), "Write", "file_path"),
    (re.compile(r"^Edit the files\?$"), "Edit", None),
    (re.compile(r"^Add file to the chat\?$"), "add_file", "file_path"),
    (re.compile(r"^Add URL to the chat\?$"), "WebFetch", "url"),
    (
        re.compile(r"^Open (?:documentation )?URL for more info\?$", re.IGNORECASE),
        "open_url",
        "url",
    ),
    (re.compile(r"^Add (?:[\d.]+k? tokens of )?command output to the chat\?$"), "add_output", None),
    (re.compile(r"^(?:Attempt to fix lint errors|Fix lint errors in .+)\?$"), "fix_lint", None),
    (re.compile(r"^Attempt to fix test errors\?$"), "fix_tests", None),
]
# Questions that name their file in the question itself.
_ADD_NAMED = re.compile(r"^Add (?P<path>\S+) to the chat\?$")
_CREATE_NAMED = re.compile(r"^No files matched '.*'\. Do you want to create (?P<path>.+)\?$")


@dataclass
class AiderHistory:
    """The events of one history file, in file order, and what was counted on the way."""

    events: list[dict[str, Any]] = field(default_factory=list)
    prompts: int = 0
    replies: int = 0
    notes: int = 0
    sessions: int = 0
    automatic: int = 0  # answered by --yes-always or an earlier group choice: not labels


@dataclass
class _Session:
    key: str
    start: datetime
    yes_always: bool = False
    command_line_seen: bool = False
    group_choice: bool = False  # the next question was answered by an earlier (A)ll/(S)kip all
    never_ask: set[str] = field(default_factory=set)
    rank: int = 0
    last_at: datetime | None = None

    def next_id(self, suffix: str) -> str:
        self.rank += 1
        return f"aider-{self.key}-{self.rank}{suffix}"

    def next_time(self) -> str:
        when = self.start if self.last_at is None else self.last_at + timedelta(seconds=1)
        self.last_at = when
        return when.isoformat().replace("+00:00", "Z")


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


def _strip(line: str) -> str:
    """A history line without Aider's trailing two-space line break."""
    return line.rstrip("\n").rstrip()


def _options(text: str) -> list[str]:
    return [(m["letter"].lower() + m["rest"]).strip().lower() for m in _OPTION.finditer(text or "")]


def _subject(lines: list[str], index: int) -> str:
    """The ``> `` block just above line ``index``: its first line has ``> ``, the others none."""
    taken: list[str] = []
    for back in range(index - 1, max(-1, index - 1 - MAX_SUBJECT_LINES), -1):
        line = _strip(lines[back])
        if not line or line.startswith("####"):
            return ""
        if line.startswith("> Please answer with one of"):
            continue  # the person mistyped an answer: Aider asked again
        if line.startswith("> "):
            taken.append(line[2:])
            return "\n".join(part.rstrip() for part in reversed(taken)).strip()[:MAX_SUBJECT]
        if line == ">":
            return ""
        taken.append(line)
    return ""


def _tool(question: str, subject: str) -> tuple[dict[str, Any] | None, bool]:
    """The structured request a question carries, and whether it took the subject above it."""
    for pattern, name, key in _TOOLS:
        if pattern.match(question):
            if key is None:
                return {"name": name, "input": {}}, False
            return {"name": name, "input": {key: subject} if subject else {}}, True
    named = _ADD_NAMED.match(question)
    if named and "command output" not in question and not question.startswith("Add .aider"):
        return {"name": "add_file", "input": {"file_path": named["path"]}}, False
    created = _CREATE_NAMED.match(question)
    if created:
        # "/add" of a name that matched nothing (often a typo): not the agent creating a file.
        return {"name": "add_missing_file", "input": {"file_path": created["path"].strip()}}, False
    return None, False


def _session_command_line(session: _Session, line: str) -> None:
    """Aider's command line is logged near the top of a session (after any upgrade notice)."""
    if session.command_line_seen:
        return
    if _PROGRAM.search(line[2:]) and _YES_ALWAYS.search(line[2:]):
        session.yes_always = True


def history_parse(*, text: str, namespace: str = "", agent: str = AGENT) -> AiderHistory:
    """The CloneEvents of an ``.aider.chat.history.md`` (see the module docstring).

    Promises: pure and deterministic (the same ``text`` and ``namespace``, the same events with
    the same ids); every ``user_reply`` follows its ``agent_prompt`` and answers it; events are
    in file order with increasing times; text outside any session (a file cut at the front)
    belongs to a session keyed on the file's first line. Never raises on odd content: lines it
    does not understand are skipped.
    """
    result = AiderHistory()
    lines = (text or "").splitlines()
    header_counts: dict[str, int] = {}
    session: _Session | None = None
    message: list[str] = []

    def open_session(header: str, when: datetime) -> _Session:
        rank = header_counts.get(header, 0)
        header_counts[header] = rank + 1
        result.sessions += 1
        return _Session(key=_digest(namespace, header, str(rank)), start=when)

    def current() -> _Session:
        nonlocal session
        if session is None:
            session = open_session(
                f"(no header) {lines[0] if lines else ''}", datetime(1970, 1, 1, tzinfo=UTC)
            )
        return session

    def flush_message() -> None:
        if not message:
            return
        body = "\n".join(message).strip()
        message.clear()
        if not body or body == "<blank>":
            return
        own = current()
        grouped = _QUESTION.match(body)
        if grouped and "\n" not in body:
            # "#### Add file to the chat? ... [Yes]: all": Aider answering from an earlier choice.
            own.group_choice = True
            return
        result.events.append(
            {
                "id": own.next_id("-note"),
                "session_id": f"aider-{own.key}",
                "kind": "note",
                "occurred_at": own.next_time(),
                "source": SOURCE,
                "payload": {"text": body[:MAX_TEXT]},
            }
        )
        result.notes += 1

    for index, raw in enumerate(lines):
        line = _strip(raw)
        started = _SESSION.match(line)
        if started:
            flush_message()
            when = datetime.strptime(started["when"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
            if session is not None and session.last_at is not None and when <= session.last_at:
                when = session.last_at + timedelta(seconds=1)
            session = open_session(line, when)
            continue
        if line.startswith("####"):
            if session is not None:
                session.command_line_seen = True
            message.append(line[5:] if line.startswith("#### ") else line[4:].strip())
            continue
        flush_message()
        if not line.startswith("> "):
            continue
        own = current()
        _session_command_line(own, line)
        asked = _QUESTION.match(line[2:])
        if not asked:
            continue
        own.command_line_seen = True
        answer = asked["answer"][:1].lower()
        if answer not in _DECISIONS:
            continue
        question = asked["question"].strip()
        subject = _subject(lines, index)
        tool, takes_subject = _tool(question, subject)
        shown = f"{question}\n{subject}" if takes_subject and subject else question
        ask_key = f"{question}\x1f{subject}"
        automatic = own.yes_always or own.group_choice or ask_key in own.never_ask
        own.group_choice = False
        if automatic:
            result.automatic += 1
            continue
        if answer == "d":
            own.never_ask.add(ask_key)
        prompt_id = own.next_id("-p")
        payload: dict[str, Any] = {"agent": agent, "text": shown[:MAX_TEXT]}
        if tool is not None:
            payload["tool"] = tool
        options = _options(asked["options"])
        if options:
            payload["options"] = options
        result.events.append(
            {
                "id": prompt_id,
                "session_id": f"aider-{own.key}",
                "kind": "agent_prompt",
                "occurred_at": own.next_time(),
                "source": SOURCE,
                "payload": payload,
            }
        )
        choice = next((o for o in options if o[:1] == answer), _DECISIONS[answer])
        reply: dict[str, Any] = {"text": _DECISIONS[answer], "in_reply_to": prompt_id}
        if choice != reply["text"]:
            reply["choice"] = choice
        result.events.append(
            {
                "id": f"{prompt_id}-r",
                "session_id": f"aider-{own.key}",
                "kind": "user_reply",
                "occurred_at": own.next_time(),
                "source": SOURCE,
                "payload": reply,
            }
        )
        result.prompts += 1
        result.replies += 1
    flush_message()
    return result
