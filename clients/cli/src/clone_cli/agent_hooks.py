"""`clone hooks install|uninstall AGENT`: merge Clone's hooks into an agent's hooks file.

The hooks themselves (events, URL, form, the file's shape) are the server's: ``GET
/api/integrations/<agent>/setup/``, the same configuration the web app's Connect screen shows.
This module only knows where each agent keeps the file and merges the server's fragment into
it; everything else in the file is kept as it was.

The fragment's ``hooks`` maps each event to a list of entries: a matcher group holding one hook
(Claude Code, Codex CLI, Gemini CLI) or the hook itself (Cursor). An entry is Clone's when its
one hook posts to a Clone hook endpoint of that agent (``.../api/integrations/<agent>/hooks/``,
the http form or the curl command) or runs ``clone hook <agent>`` (the command form). Install
replaces Clone's entries by the server's (so it is idempotent and follows a change of server
URL or form) and adds the fragment's other keys the file lacks (Cursor's ``version``); uninstall
removes exactly Clone's entries, and an event list or ``hooks`` object left empty by that
removal. A backup of the previous file is written before any change.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from clone_cli.api import EXIT_REFUSED, EXIT_USAGE, CloneError

# Where each agent reads its hooks, by scope (the first is the default), as the server's setup
# gives them in `paths` (a test holds the two together).
AGENTS: dict[str, dict[str, str]] = {
    "claude-code": {
        "user": "~/.claude/settings.json",
        "project": ".claude/settings.json",
        "local": ".claude/settings.local.json",
    },
    "codex": {"user": "~/.codex/hooks.json", "project": ".codex/hooks.json"},
    "gemini": {"user": "~/.gemini/settings.json", "project": ".gemini/settings.json"},
    "cursor": {"user": "~/.cursor/hooks.json", "project": ".cursor/hooks.json"},
}
SCOPES = ("user", "project", "local")
SETUP = "/api/integrations/{agent}/setup/"


def settings_path(agent: str, *, user: bool, project: bool, local: bool) -> Path:
    if agent not in AGENTS:
        raise CloneError(
            "usage",
            f"Unknown agent {agent!r}: one of {', '.join(AGENTS)}.",
            exit_code=EXIT_USAGE,
        )
    if user + project + local > 1:
        raise CloneError("usage", "Choose one of --user, --project, --local.", exit_code=EXIT_USAGE)
    scopes = AGENTS[agent]
    scope = "project" if project else "local" if local else "user"
    if scope not in scopes:
        flags = " or ".join(f"--{s}" for s in scopes)
        raise CloneError(
            "usage",
            f"{agent} has no {scope} hooks file: use {flags} ({', '.join(scopes.values())}).",
            exit_code=EXIT_USAGE,
        )
    where = scopes[scope]
    return Path.home() / where[2:] if where.startswith("~/") else Path.cwd() / where


def _is_clone_hook(agent: str, hook: Any) -> bool:
    if not isinstance(hook, dict):
        return False
    endpoint = f"/api/integrations/{agent}/hooks/"
    if hook.get("type") == "http":
        return str(hook.get("url", "")).endswith(endpoint)
    command = hook.get("command")
    if hook.get("type", "command") != "command" or not isinstance(command, str):
        return False
    try:
        words = shlex.split(command)
    except ValueError:
        return False
    return words[-2:] == ["hook", agent] or (
        len(words) > 1 and words[0] == "curl" and words[-1].endswith(endpoint)
    )


def is_clone_entry(agent: str, entry: Any) -> bool:
    """A matcher group holding exactly one Clone hook, or (Cursor) a Clone hook itself."""
    if isinstance(entry, dict) and "hooks" in entry:
        hooks = entry["hooks"]
        return isinstance(hooks, list) and len(hooks) == 1 and _is_clone_hook(agent, hooks[0])
    return _is_clone_hook(agent, entry)


def _load(path: Path) -> tuple[dict, str | None]:
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return {}, None
    except (OSError, UnicodeDecodeError) as exc:
        raise CloneError(
            "invalid_settings", f"Cannot read {path} ({exc}); not touched.", exit_code=EXIT_USAGE
        ) from None
    try:
        data = json.loads(text) if text.strip() else {}
    except ValueError as exc:
        raise CloneError(
            "invalid_settings", f"{path} is not JSON ({exc}); not touched.", exit_code=EXIT_USAGE
        ) from None
    if not isinstance(data, dict):
        raise CloneError(
            "invalid_settings", f"{path} is not a JSON object; not touched.", exit_code=EXIT_USAGE
        )
    hooks = data.get("hooks")
    if hooks is None:
        hooks = {}
    if not isinstance(hooks, dict):
        raise CloneError(
            "invalid_settings",
            f'{path}: "hooks" is not an object; not touched.',
            exit_code=EXIT_USAGE,
        )
    for event, entries in hooks.items():
        if not isinstance(entries, list):
            raise CloneError(
                "invalid_settings",
                f"{path}: hooks.{event} is not a list; not touched.",
                exit_code=EXIT_USAGE,
            )
    return data, text


def _backup_path(path: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup = path.with_name(f"{path.name}.clone-backup-{stamp}")
    n = 1
    while backup.exists():
        backup = path.with_name(f"{path.name}.clone-backup-{stamp}-{n}")
        n += 1
    return backup


def _write(path: Path, data: dict, previous: str | None) -> str | None:
    path.parent.mkdir(parents=True, exist_ok=True)
    backup = None
    if previous is not None:
        backup = str(_backup_path(path))
        shutil.copy2(path, backup)
    tmp = path.with_name(path.name + ".clone-tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", "utf-8")
    if previous is not None:
        shutil.copymode(path, tmp)
    os.replace(tmp, path)
    return backup


def setup_params(form: str | None) -> dict[str, str]:
    """The query for the server's setup: the form (none: the agent's default), and for the
    command form this machine's `clone` (its absolute path, so the agent finds it without this
    PATH)."""
    from clone_cli.shell import clone_executable

    params: dict[str, str] = {}
    if form:
        params["form"] = form
    if form == "command":
        params["program"] = clone_executable()
    return params


def _server_fragment(agent: str, setup: Any) -> tuple[dict[str, list], dict[str, Any]]:
    """The server's hooks by event and the fragment's other keys, checked to be entries this
    client recognises as Clone's (so that uninstall can find them again)."""
    config = setup.get("config") if isinstance(setup, dict) else None
    hooks = config.get("hooks") if isinstance(config, dict) else None
    if not isinstance(hooks, dict) or not all(
        isinstance(entries, list) and entries and all(is_clone_entry(agent, e) for e in entries)
        for entries in hooks.values()
    ):
        raise CloneError(
            "bad_response",
            "The server's hooks configuration is not one this client can merge.",
            exit_code=EXIT_REFUSED,
        )
    assert isinstance(config, dict)
    return hooks, {k: v for k, v in config.items() if k != "hooks"}


def install(agent: str, path: Path, *, setup: Callable[[], Any]) -> dict:
    """Merge the hooks ``setup()`` fetches from the server into the file at ``path`` (checked
    first, so a file that is not JSON is reported before the server is asked)."""
    data, previous = _load(path)
    answer = setup()
    ours, others = _server_fragment(agent, answer)
    hooks = dict(data.get("hooks") or {})
    changed = False
    for key, value in others.items():
        if key not in data:
            data[key] = value
            changed = True
    for event, entries in ours.items():
        current = hooks.get(event, [])
        new = [e for e in current if not is_clone_entry(agent, e)] + entries
        if new != current:
            changed = True
        hooks[event] = new
    result = {
        "action": "install",
        "agent": agent,
        "path": str(path),
        "changed": changed,
        "backup": None,
        "events": list(ours),
        "form": answer.get("form"),
        "hook_url": answer.get("hook_url"),
        "notes": [n for n in answer.get("notes", []) if isinstance(n, str)],
    }
    if changed:
        data["hooks"] = hooks
        result["backup"] = _write(path, data, previous)
    return result


def uninstall(agent: str, path: Path) -> dict:
    data, previous = _load(path)
    hooks = data.get("hooks")
    removed = 0
    if isinstance(hooks, dict):
        for event in list(hooks):
            entries = hooks[event]
            kept = [e for e in entries if not is_clone_entry(agent, e)]
            removed += len(entries) - len(kept)
            if kept:
                hooks[event] = kept
            elif len(entries) != len(kept):
                del hooks[event]
        if removed and not hooks:
            del data["hooks"]
    result = {
        "action": "uninstall",
        "agent": agent,
        "path": str(path),
        "changed": bool(removed),
        "removed": removed,
        "backup": None,
    }
    if removed:
        result["backup"] = _write(path, data, previous)
    return result


def describe(result: dict) -> str:
    if result["action"] == "install":
        if not result["changed"]:
            return f"Clone's hooks are already in {result['path']}."
        lines = [
            f"Installed Clone's hooks ({', '.join(result['events'])}) in {result['path']}"
            + (f" (backup: {result['backup']})" if result["backup"] else "")
            + "."
        ]
        lines += result["notes"]
        if result.get("form") != "command":
            lines.append("Or install with --form command to use this machine's login instead.")
        return "\n".join(lines)
    if not result["changed"]:
        return f"No Clone hooks in {result['path']}."
    return f"Removed {result['removed']} Clone hook(s) from {result['path']} (backup: {result['backup']})."
