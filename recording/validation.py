"""The canonical event schema (``schema/events.schema.json``), loaded and compiled once."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from jsonschema import Draft202012Validator

SCHEMA_PATH = Path(settings.BASE_DIR) / "schema" / "events.schema.json"
EVENT_SCHEMA: dict[str, Any] = json.loads(SCHEMA_PATH.read_text())
Draft202012Validator.check_schema(EVENT_SCHEMA)
_VALIDATOR = Draft202012Validator(EVENT_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)


@dataclass(frozen=True)
class EventProblem:
    index: int | None
    path: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "path": self.path, "message": self.message}


def _json_path(parts) -> str:
    path = "$"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _text_problems(value: Any) -> list[tuple[str, str]]:
    """Strings the database cannot store: NUL characters and lone surrogates."""
    problems: list[tuple[str, str]] = []
    stack: list[tuple[Any, tuple]] = [(value, ())]
    while stack:
        node, parts = stack.pop()
        if isinstance(node, dict):
            for key, child in node.items():
                if "\x00" in key:
                    problems.append((_json_path(parts), "keys must not contain NUL characters"))
                stack.append((child, (*parts, key)))
        elif isinstance(node, list):
            stack.extend((child, (*parts, i)) for i, child in enumerate(node))
        elif isinstance(node, str):
            if "\x00" in node:
                problems.append((_json_path(parts), "strings must not contain NUL characters"))
            else:
                try:
                    node.encode("utf-8")
                except UnicodeEncodeError:
                    problems.append((_json_path(parts), "strings must be valid Unicode"))
    return problems


def _short(message: str, limit: int = 300) -> str:
    # jsonschema quotes the offending value; a 100 kB string must not come back in the error.
    return message if len(message) <= limit else message[: limit - 1] + "…"


def event_problems(event: Any, *, index: int | None = None) -> list[EventProblem]:
    """Every reason ``event`` is not a valid CloneEvent, with JSON paths; empty when valid."""
    problems = [
        EventProblem(index, _json_path(error.absolute_path), _short(error.message))
        for error in _VALIDATOR.iter_errors(event)
    ]
    problems.sort(key=lambda problem: problem.path)
    problems.extend(EventProblem(index, path, message) for path, message in _text_problems(event))
    return problems
