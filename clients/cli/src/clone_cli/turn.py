"""``clone record turn``: the shell recorder's sender, one terminal turn a run.

The shell starts it, detached, after every command the person runs, so what it costs is paid
on every command. Like ``clone hook`` it takes a standard-library-only path (no typer, httpx or
jsonschema) and posts through ``clone_cli.hook.post``. The command comes on stdin (never argv,
which ``ps`` shows). A secret (the patterns are checked again, in case the shell's snippet is
stale) or no login: nothing is sent. The server unreachable or slow, or a 429 or 5xx: the event
goes to the offline spool, which the next command that reaches the server sends (the id comes
from the session and the sequence number, so sending it twice stores it once). With events
already waiting in the spool, or arguments it does not know, the full command set takes over;
it sends the spool first.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clone_cli.config import Config

TIMEOUT_S = 30.0
EVENTS = "/api/recording/events/"
_OPTIONS: dict[str, type] = {
    "--session": str,
    "--seq": int,
    "--exit-code": int,
    "--cwd": str,
    "--duration-ms": int,
}


def parse(argv: list[str]) -> dict[str, object] | None:
    """The options as keyword arguments of ``turn_event``, or None for anything else."""
    values: dict[str, object] = {}
    args = iter(argv)
    for arg in args:
        name, eq, value = arg.partition("=")
        if name not in _OPTIONS:
            return None
        if not eq:
            value = next(args, None)
            if value is None:
                return None
        try:
            values[name[2:].replace("-", "_")] = _OPTIONS[name](value)
        except ValueError:
            return None
    if "session" not in values or "seq" not in values:
        return None
    return values


def read_command() -> str:
    """The command on stdin, without the newline a bash here-string adds."""
    command = sys.stdin.read()
    return command[:-1] if command.endswith("\n") else command


def turn_event(
    *,
    command: str,
    session: str,
    seq: int,
    exit_code: int | None = None,
    cwd: str | None = None,
    duration_ms: int | None = None,
) -> dict[str, object]:
    """The terminal_turn event; its id is the session's and the sequence number's."""
    payload: dict[str, object] = {"command": command}
    if exit_code is not None:
        payload["exit_code"] = exit_code
    if cwd:
        payload["cwd"] = cwd
    if duration_ms is not None and duration_ms >= 0:
        payload["duration_ms"] = duration_ms
    occurred = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "id": f"{session}:{seq:06d}"[:128],
        "session_id": session[:128],
        "kind": "terminal_turn",
        "occurred_at": occurred,
        "source": "cli",
        "payload": payload,
    }


def recorded_turn(**options: Any) -> tuple[Config, dict[str, object]] | None:
    """The command on stdin as a terminal_turn event (``options`` as ``turn_event`` takes them),
    with the configuration to send it with; None when nothing may be sent: no login, or the
    command matches a secret pattern."""
    from clone_cli import config
    from clone_cli.shell import is_secret

    command = read_command()
    cfg = config.load()
    if not cfg.api_key or is_secret(command, cfg.secret_patterns):
        return None
    return cfg, turn_event(command=command, **options)


def run(argv: list[str]) -> int:
    from clone_cli import spool

    options = parse(argv)
    if options is None or spool.has_pending():
        from clone_cli.app import run_app

        return run_app(["record", "turn", *argv])
    recorded = recorded_turn(**options)
    if recorded is None:
        return 0
    cfg, event = recorded
    from clone_cli.hook import post

    headers = {
        "Content-Type": "application/json",
        "X-Clone-API-Key": cfg.api_key,
        "User-Agent": "clone-cli-turn",
    }
    body = json.dumps([event], ensure_ascii=False).encode("utf-8")
    status, _ = post(cfg.url, EVENTS, headers, body, TIMEOUT_S)
    if 200 <= status < 300:
        return 0
    if status == 0 or status == 429 or status >= 500:
        spool.append([event])
        return 0
    # Refused (a bad key, an event the server will not take): sending it again would not help.
    return 3 if status in (401, 403) else 1
