"""The canonical event schema (``schema/events.schema.json``), loaded and compiled once.

Two validators are compiled from the same schema: ``jsonschema_rs`` answers "is this valid?"
much faster (it keeps ingest cheap), and the reference ``jsonschema`` explains what is
wrong, with stable messages and JSON paths, only for events the fast check rejects.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema_rs
from django.conf import settings
from jsonschema import Draft202012Validator

SCHEMA_PATH = Path(settings.BASE_DIR) / "schema" / "events.schema.json"
EVENT_SCHEMA: dict[str, Any] = json.loads(SCHEMA_PATH.read_text())
Draft202012Validator.check_schema(EVENT_SCHEMA)
_VALIDATOR = Draft202012Validator(EVENT_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
_FAST_VALIDATOR = jsonschema_rs.validator_for(EVENT_SCHEMA, validate_formats=True)


@dataclass(frozen=True)
class EventProblem:
    index: int | None
    path: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "path": self.path, "message": self.message}


def _printable(text: str) -> str:
    # A lone surrogate cannot be encoded in the UTF-8 response; show it escaped instead.
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _openapi_30(node: Any) -> Any:
    """``node`` with ``$defs`` references inlined and the 2020-12-only keywords dropped."""
    if isinstance(node, list):
        return [_openapi_30(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = EVENT_SCHEMA["$defs"][node["$ref"].removeprefix("#/$defs/")]
        rest = {k: v for k, v in node.items() if k != "$ref"}
        return _openapi_30({**target, **rest})
    dropped = {"$schema", "$id", "$defs", "allOf"}
    return {key: _openapi_30(value) for key, value in node.items() if key not in dropped}


def openapi_ingest_body() -> dict[str, Any]:
    """The ingest body for the OpenAPI (3.0) schema: one CloneEvent or an array of them.

    OpenAPI 3.0 has no if/then, so each kind's payload rules are only described; the server
    checks them against the full JSON Schema (``GET /api/recording/schema/``)."""
    event = _openapi_30(EVENT_SCHEMA)
    kinds = "; ".join(
        f"{kind}: requires {', '.join(EVENT_SCHEMA['$defs'][kind].get('required', []))}"
        for kind in event["properties"]["kind"]["enum"]
    )
    event["properties"]["payload"]["description"] = f"Depends on kind ({kinds})."
    batch = {
        "type": "array",
        "items": event,
        "maxItems": settings.CLONE_MAX_EVENTS_PER_REQUEST,
    }
    return {"oneOf": [event, batch]}


def _json_path(parts) -> str:
    path = "$"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{_printable(str(part))}"
    return path


def parse_occurred_at(value: str) -> datetime | None:
    """The UTC instant of an RFC 3339 string, or None when it is not one we can store
    (no offset, leap second, or a UTC instant outside years 1-9999).

    UTC because Postgres keeps only the instant anyway, and refuses offsets beyond +-15:59
    that RFC 3339 allows (up to +-23:59)."""
    try:
        parsed = datetime.fromisoformat(value.upper())
        if parsed.tzinfo is None:
            return None
        # OverflowError for e.g. 0001-01-01T00:00:00+01:00
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _has_bad_text(value: Any) -> bool:
    """Whether any string or key holds a NUL or a lone surrogate: the cheap check that runs on
    every event (no paths are built; ``_text_problems`` explains the rare positive)."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if "\x00" in node or not (node.isascii() or _is_encodable(node)):
                return True
        elif isinstance(node, dict):
            for key, child in node.items():
                if "\x00" in key or not (key.isascii() or _is_encodable(key)):
                    return True
                if isinstance(child, str | dict | list):
                    stack.append(child)
        elif isinstance(node, list):
            stack.extend(child for child in node if isinstance(child, str | dict | list))
    return False


def _text_problems(value: Any) -> list[tuple[str, str]]:
    """Strings the database cannot store: NUL characters and lone surrogates (values and keys)."""
    if not _has_bad_text(value):
        return []
    problems: list[tuple[str, str]] = []
    stack: list[tuple[Any, tuple]] = [(value, ())]
    while stack:
        node, parts = stack.pop()
        if isinstance(node, dict):
            for key, child in node.items():
                if "\x00" in key:
                    problems.append((_json_path(parts), "keys must not contain NUL characters"))
                elif not _is_encodable(key):
                    problems.append((_json_path(parts), "keys must be valid Unicode"))
                stack.append((child, (*parts, key)))
        elif isinstance(node, list):
            stack.extend((child, (*parts, i)) for i, child in enumerate(node))
        elif isinstance(node, str):
            if "\x00" in node:
                problems.append((_json_path(parts), "strings must not contain NUL characters"))
            elif not _is_encodable(node):
                problems.append((_json_path(parts), "strings must be valid Unicode"))
    return problems


def _is_encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _short(message: str, limit: int = 300) -> str:
    # jsonschema quotes the offending value; a 100 kB string must not come back in the error.
    message = _printable(message)
    return message if len(message) <= limit else message[: limit - 1] + "…"


def _fast_is_valid(event: Any) -> bool:
    try:
        return _FAST_VALIDATOR.is_valid(event)
    except (ValueError, TypeError, OverflowError):
        # Values the Rust side cannot represent: let the reference validator judge them.
        return False


def _fast_problems(event: Any, index: int | None) -> list[EventProblem]:
    try:
        errors = list(_FAST_VALIDATOR.iter_errors(event))
    except (ValueError, TypeError, OverflowError):
        return []
    return [
        EventProblem(index, _json_path(error.instance_path), _short(error.message))
        for error in errors
    ]


def _schema_problems(event: Any, index: int | None) -> list[EventProblem]:
    """What the reference validator finds, one problem per field: a missing or unexpected
    property is reported at its own path, not at its parent's."""
    found: dict[tuple[str, str], None] = {}
    for error in _VALIDATOR.iter_errors(event):
        parts = list(error.absolute_path)
        instance = error.instance
        if error.validator == "required" and isinstance(instance, dict):
            for name in error.validator_value:
                if name not in instance:
                    found[(_json_path([*parts, name]), "is required")] = None
        elif error.validator == "additionalProperties" and isinstance(instance, dict):
            known = error.schema.get("properties", {})
            for name in instance:
                if name not in known:
                    found[(_json_path([*parts, name]), "is not an allowed property")] = None
        else:
            found[(_json_path(parts), _short(error.message))] = None
    return [EventProblem(index, path, message) for path, message in found]


def event_problems(event: Any, *, index: int | None = None) -> list[EventProblem]:
    """Every reason ``event`` is not a valid CloneEvent, with JSON paths; empty when valid.

    Beyond the schema: ``occurred_at`` must parse to a storable instant, and no string (or key)
    may hold a NUL character or a lone surrogate, which Postgres cannot store.
    """
    fast_ok = _fast_is_valid(event)
    problems = [] if fast_ok else _schema_problems(event, index)
    if not fast_ok and not problems:
        # The validators disagree (Python's "$" also matches before a final newline): the
        # stricter verdict stands, in the fast validator's words.
        problems = _fast_problems(event, index)
    occurred_at = event.get("occurred_at") if isinstance(event, dict) else None
    if (
        isinstance(occurred_at, str)
        and not any(p.path == "$.occurred_at" for p in problems)
        and parse_occurred_at(occurred_at) is None
    ):
        problems.append(
            EventProblem(
                index,
                "$.occurred_at",
                "is not an RFC 3339 date-time with an offset between years 1 and 9999",
            )
        )
    problems.sort(key=lambda problem: problem.path)
    problems.extend(EventProblem(index, path, message) for path, message in _text_problems(event))
    return problems
