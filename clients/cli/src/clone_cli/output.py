"""Human output (rich: tables, colours only on a terminal) or JSON (``--json``) for scripts."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.markup import escape

state = {"json": False}

stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def json_mode() -> bool:
    return state["json"]


def emit(data: Any, human: Callable[[], None] | None = None) -> None:
    if json_mode() or human is None:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
        sys.stdout.flush()
    else:
        human()


def say(text: str) -> None:
    """A line for the person (suppressed in --json mode, where stdout is for the machine)."""
    if not json_mode():
        stdout.print(text)


def warn(text: str) -> None:
    stderr.print(f"[yellow]{escape(text)}[/yellow]")


def error(code: str, message: str, details: Any = None) -> None:
    if json_mode():
        body: dict[str, Any] = {"code": code, "message": message}
        if details is not None:
            body["details"] = details
        sys.stdout.write(json.dumps({"error": body}, ensure_ascii=False) + "\n")
        return
    stderr.print(f"[red]error[/red] [bold]{escape(code)}[/bold]: {escape(message)}")
    if isinstance(details, list):
        for item in details[:20]:
            if isinstance(item, dict):
                where = item.get("line", item.get("index", item.get("field", "")))
                path = item.get("path", "")
                label = f"line {where}" if "line" in item else str(where)
                stderr.print(
                    f"  {escape(label)} {escape(str(path))}: {escape(str(item.get('message', '')))}"
                )
            else:
                stderr.print(f"  {escape(str(item))}")
