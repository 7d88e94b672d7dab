"""Events: reading a JSONL file or JSON array with line numbers, local schema validation
against the schema shipped in the package, batching within the server's limits, and sending."""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

from clone_cli.api import EXIT_USAGE, Api, CloneError, Unreachable

# The server's defaults are 1,000 events and 5 MiB a request; stay well inside both.
BATCH_EVENTS = 500
BATCH_BYTES = 4 * 1024 * 1024


@dataclass
class LineError:
    line: int
    path: str
    message: str

    def as_json(self) -> dict:
        return {"line": self.line, "path": self.path, "message": self.message}


@dataclass
class SendResult:
    created: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    spooled: int = 0

    def as_json(self) -> dict:
        return {
            "created": len(self.created),
            "duplicates": len(self.duplicates),
            "spooled": self.spooled,
        }


def now_rfc3339() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def hostname() -> str:
    return (socket.gethostname().split(".")[0] or "host")[:40]


@cache
def schema() -> dict:
    text = resources.files("clone_cli").joinpath("schema/events.schema.json").read_text("utf-8")
    return json.loads(text)


@cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator, FormatChecker

    return Draft202012Validator(schema(), format_checker=FormatChecker())


def _json_path(parts: Iterable[Any]) -> str:
    path = "$"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def validate(event: Any, line: int) -> list[LineError]:
    errors = []
    for error in sorted(_validator().iter_errors(event), key=lambda e: list(e.absolute_path)):
        errors.append(LineError(line, _json_path(error.absolute_path), error.message[:300]))
        if len(errors) >= 5:
            break
    return errors


def parse(text: str) -> tuple[list[tuple[int, Any]], list[LineError]]:
    """(line, event) pairs from JSONL or a JSON array, and the lines that are not JSON."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        return _parse_array(text)
    if stripped.startswith("{") and "\n" in stripped.rstrip():
        # One pretty-printed event (a file like schema/examples/*.json), not JSONL.
        try:
            value = json.loads(text)
        except ValueError:
            pass
        else:
            return [(text[: len(text) - len(stripped)].count("\n") + 1, value)], []
    items, errors = [], []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            items.append((number, json.loads(raw)))
        except ValueError as exc:
            errors.append(LineError(number, "$", f"not JSON: {exc}"))
    return items, errors


def _parse_array(text: str) -> tuple[list[tuple[int, Any]], list[LineError]]:
    decoder = json.JSONDecoder()
    index = text.index("[") + 1
    items: list[tuple[int, Any]] = []

    def skip(i: int) -> int:
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        return i

    def line_of(i: int) -> int:
        return text.count("\n", 0, i) + 1

    index = skip(index)
    if index < len(text) and text[index] == "]":
        return [], []
    while True:
        index = skip(index)
        try:
            value, end = decoder.raw_decode(text, index)
        except ValueError as exc:
            return items, [LineError(line_of(index), "$", f"not JSON: {exc}")]
        items.append((line_of(index), value))
        index = skip(end)
        if index < len(text) and text[index] == ",":
            index += 1
            continue
        if index < len(text) and text[index] == "]":
            if skip(index + 1) != len(text):
                return items, [LineError(line_of(index + 1), "$", "text after the array")]
            return items, []
        return items, [LineError(line_of(index), "$", "expected ',' or ']'")]


def load_and_validate(text: str) -> list[dict]:
    """The events of a file, or a CloneError (exit 2) listing each bad line before any is sent."""
    items, errors = parse(text)
    for line, event in items:
        errors.extend(validate(event, line))
    if errors:
        errors.sort(key=lambda e: e.line)
        first = errors[0]
        raise CloneError(
            "invalid_event",
            f"{len(errors)} problem(s); nothing was sent. First: line {first.line} "
            f"{first.path}: {first.message}",
            exit_code=EXIT_USAGE,
            details=[e.as_json() for e in errors[:100]],
        )
    return [event for _, event in items]


def batches(events: list[dict]) -> Iterator[list[dict]]:
    batch: list[dict] = []
    size = 2
    for event in events:
        event_size = len(json.dumps(event, ensure_ascii=False).encode()) + 1
        if batch and (len(batch) >= BATCH_EVENTS or size + event_size > BATCH_BYTES):
            yield batch
            batch, size = [], 2
        batch.append(event)
        size += event_size
    if batch:
        yield batch


def post_batch(api: Api, batch: list[dict]) -> dict:
    body = api.post("/api/recording/events/", json=batch)
    return body if isinstance(body, dict) else {}


def send(
    api: Api | None, events: list[dict], *, spool_on_failure: bool = True, progress: Any = None
) -> SendResult:
    """Send events in batches; what cannot be sent because the server is unreachable is spooled
    (when allowed) and counted in ``spooled``. A refusal (4xx) is raised."""
    from clone_cli import spool

    result = SendResult()
    pending = list(batches(events))
    while pending:
        batch = pending[0]
        if api is None:
            break
        try:
            body = post_batch(api, batch)
        except Unreachable:
            if not spool_on_failure:
                raise
            break
        result.created += body.get("created", [])
        result.duplicates += body.get("duplicates", [])
        pending.pop(0)
        if progress is not None:
            progress(len(batch))
    rest = [event for batch in pending for event in batch]
    if rest:
        spool.append(rest)
        result.spooled = len(rest)
    return result


def note_event(text: str, *, session: str | None = None, source: str = "cli") -> dict:
    return {
        "id": new_id("note"),
        "session_id": session or f"notes-{hostname()}",
        "kind": "note",
        "occurred_at": now_rfc3339(),
        "source": source,
        "payload": {"text": text},
    }


def terminal_session() -> str:
    return os.environ.get("CLONE_SHELL_SESSION") or f"term-{hostname()}"
