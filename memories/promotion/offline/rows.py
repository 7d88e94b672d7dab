"""The raw rows as the offline path reads them: each row's sentence (the forms
``memories.sentences`` writes) parsed back into its parts."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from clone_server.text import parse_time
from memories.services import MAX_TAG_CHARS

_RAN = re.compile(r'^Ran "(?P<cmd>.*)"(?: in (?P<cwd>.+?))?(?: \(exit (?P<exit>-?\d+)\))?\.?$')
_ASKED = re.compile(r'^(?P<agent>.+?) asked: "(?P<text>.*)"\s*$')
_REPLIED = re.compile(r'^Replied(?: to (?P<agent>.+?))?: "(?P<text>.*)"\s*$')
_LOOKED = re.compile(r'^Looked at ".*" in (?P<app>.+?)\.$|^Used (?P<app2>.+?)\.$')
_REPORTED = re.compile(r'^(?P<integration>.+?) reported "(?P<event>.*)"\.$')
_NOTED = re.compile(r'^Noted: "(?P<text>.*)"\s*$')
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_WRAPPERS = frozenset({"sudo", "env", "time", "nohup", "command", "exec"})


@dataclass
class Row:
    id: Any
    kind: str
    text: str
    when: datetime | None
    agent: str = ""
    prompt: str = ""
    reply: str = ""
    command: str = ""
    cwd: str = ""
    exit_code: int | None = None
    app: str = ""
    integration: str = ""
    note: str = ""
    episodes: set[Any] = field(default_factory=set)


def _text(value: Any) -> str:
    return " ".join(str(value or "").split())


def row_parse(raw: dict) -> Row:
    text = _text(raw.get("text"))
    row = Row(
        id=raw.get("id"),
        kind=_text(raw.get("kind")),
        text=text,
        when=parse_time(raw.get("occurred_at")),
        agent=_text(raw.get("agent")),
        prompt=_text(raw.get("prompt_text")),
        reply=_text(raw.get("reply_text")),
    )
    if match := _RAN.match(text):
        row.command, row.cwd = match["cmd"].strip(), (match["cwd"] or "").strip()
        row.exit_code = int(match["exit"]) if match["exit"] else None
    elif match := _ASKED.match(text):
        row.agent = row.agent or match["agent"].strip()
        row.prompt = row.prompt or match["text"].strip()
    elif match := _REPLIED.match(text):
        row.agent = row.agent or (match["agent"] or "").strip()
        if row.kind == "user_reply":
            row.reply = row.reply or match["text"].strip()
    elif match := _LOOKED.match(text):
        row.app = (match["app"] or match["app2"] or "").strip()
    elif match := _REPORTED.match(text):
        row.integration = match["integration"].strip()
    elif match := _NOTED.match(text):
        row.note = match["text"].strip()
    elif row.kind == "note":
        row.note = text
    return row


def row_order(row: Row) -> tuple:
    """Oldest first, rows without a time last, then by id."""
    return (row.when is None, row.when or datetime.min.replace(tzinfo=UTC), str(row.id))


def rows_sorted(raws: Iterable[Any]) -> list[Row]:
    rows = [row_parse(r) for r in raws if isinstance(r, dict)]
    rows.sort(key=row_order)
    return rows


def command_tool(command: str) -> str:
    """The program a command runs: ``sudo FOO=1 /usr/bin/pnpm i`` -> ``pnpm``."""
    for word in command.split():
        if word in _WRAPPERS or _ASSIGNMENT.match(word) or word.startswith("-"):
            continue
        return word.rsplit("/", 1)[-1].casefold().strip("\"'`()")[:MAX_TAG_CHARS]
    return ""


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def most_common(counter: Counter) -> str:
    """The most frequent key; ties go to the alphabetically first, so the result is stable."""
    return min(counter, key=lambda key: (-counter[key], key)) if counter else ""
