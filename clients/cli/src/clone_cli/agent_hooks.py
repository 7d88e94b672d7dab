"""`clone hooks install|uninstall claude-code`: merge Clone's hooks into Claude Code's settings.

Everything else in the file is kept as it was. An entry is Clone's when it is a matcher group
holding exactly one hook that points at Clone's hook endpoint (http form) or runs
``clone hook claude-code`` (command form); install replaces those (so it is idempotent and
follows a change of server URL), uninstall removes exactly those, and any ``hooks`` key or event
list left empty by that removal. A backup of the previous file is written before any change.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from clone_cli.api import EXIT_USAGE, CloneError

AGENTS = ("claude-code",)
# The events Clone's Claude Code endpoint understands (see the server's integrations docs).
CLAUDE_EVENTS = (
    "PreToolUse",
    "PermissionRequest",
    "PostToolUse",
    "PostToolUseFailure",
    "UserPromptSubmit",
    "Stop",
    "SessionEnd",
)
ENDPOINT = "/api/integrations/claude-code/hooks/"
COMMAND = "hook claude-code"


def settings_path(agent: str, *, user: bool, project: bool, local: bool) -> Path:
    if agent not in AGENTS:
        raise CloneError(
            "usage", f"Unknown agent {agent!r}: one of {', '.join(AGENTS)}.", exit_code=EXIT_USAGE
        )
    if user + project + local > 1:
        raise CloneError("usage", "Choose one of --user, --project, --local.", exit_code=EXIT_USAGE)
    if project:
        return Path.cwd() / ".claude" / "settings.json"
    if local:
        return Path.cwd() / ".claude" / "settings.local.json"
    return Path.home() / ".claude" / "settings.json"


def clone_hook(url: str, form: str, executable: str) -> dict[str, Any]:
    if form == "http":
        return {
            "type": "http",
            "url": f"{url.rstrip('/')}{ENDPOINT}",
            "headers": {"X-Clone-API-Key": "$CLONE_API_KEY"},
            "allowedEnvVars": ["CLONE_API_KEY"],
            "timeout": 10,
        }
    if form == "command":
        return {"type": "command", "command": f"{executable} {COMMAND}", "timeout": 10}
    raise CloneError("usage", "--form is http or command.", exit_code=EXIT_USAGE)


def is_clone_group(group: Any) -> bool:
    if not isinstance(group, dict) or not isinstance(group.get("hooks"), list):
        return False
    if len(group["hooks"]) != 1 or not isinstance(group["hooks"][0], dict):
        return False
    hook = group["hooks"][0]
    if hook.get("type") == "http":
        return str(hook.get("url", "")).endswith(ENDPOINT)
    if hook.get("type") == "command":
        return str(hook.get("command", "")).endswith(COMMAND)
    return False


def _load(path: Path) -> tuple[dict, str | None]:
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return {}, None
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
    return data, text


def _write(path: Path, data: dict, previous: str | None) -> str | None:
    path.parent.mkdir(parents=True, exist_ok=True)
    backup = None
    if previous is not None:
        backup = str(path.with_name(f"{path.name}.clone-backup-{time.strftime('%Y%m%d-%H%M%S')}"))
        shutil.copy2(path, backup)
    tmp = path.with_name(path.name + ".clone-tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", "utf-8")
    if previous is not None:
        shutil.copymode(path, tmp)
    os.replace(tmp, path)
    return backup


def install(agent: str, path: Path, *, url: str, form: str = "http") -> dict:
    from clone_cli.shell import clone_executable

    hook = clone_hook(url, form, clone_executable())
    data, previous = _load(path)
    hooks = data.get("hooks")
    if hooks is None:
        hooks = {}
    if not isinstance(hooks, dict):
        raise CloneError(
            "invalid_settings",
            f'{path}: "hooks" is not an object; not touched.',
            exit_code=EXIT_USAGE,
        )
    group = {"matcher": "*", "hooks": [hook]}
    changed = False
    for event in CLAUDE_EVENTS:
        groups = hooks.get(event, [])
        if not isinstance(groups, list):
            raise CloneError(
                "invalid_settings",
                f"{path}: hooks.{event} is not a list; not touched.",
                exit_code=EXIT_USAGE,
            )
        kept = [g for g in groups if not is_clone_group(g)]
        new = [*kept, group]
        if new != groups:
            changed = True
        hooks[event] = new
    if not changed:
        return {
            "action": "install",
            "path": str(path),
            "changed": False,
            "backup": None,
            "events": list(CLAUDE_EVENTS),
            "form": form,
        }
    data["hooks"] = hooks
    backup = _write(path, data, previous)
    return {
        "action": "install",
        "path": str(path),
        "changed": True,
        "backup": backup,
        "events": list(CLAUDE_EVENTS),
        "form": form,
    }


def uninstall(agent: str, path: Path) -> dict:
    data, previous = _load(path)
    hooks = data.get("hooks")
    removed = 0
    if isinstance(hooks, dict):
        for event in list(hooks):
            groups = hooks[event]
            if not isinstance(groups, list):
                continue
            kept = [g for g in groups if not is_clone_group(g)]
            removed += len(groups) - len(kept)
            if kept:
                hooks[event] = kept
            elif len(groups) != len(kept):
                del hooks[event]
        if removed and not hooks:
            del data["hooks"]
    if not removed:
        return {
            "action": "uninstall",
            "path": str(path),
            "changed": False,
            "removed": 0,
            "backup": None,
        }
    backup = _write(path, data, previous)
    return {
        "action": "uninstall",
        "path": str(path),
        "changed": True,
        "removed": removed,
        "backup": backup,
    }


def describe(result: dict) -> str:
    if result["action"] == "install":
        if not result["changed"]:
            return f"Clone's hooks are already in {result['path']}."
        note = ""
        if result.get("form") == "http":
            note = (
                "\nClaude Code sends $CLONE_API_KEY with each hook: export it where you run "
                "claude (or install with --form command to use this machine's login)."
            )
        return (
            f"Installed Clone's hooks ({', '.join(result['events'])}) in {result['path']}"
            + (f" (backup: {result['backup']})" if result["backup"] else "")
            + "."
            + note
        )
    if not result["changed"]:
        return f"No Clone hooks in {result['path']}."
    return f"Removed {result['removed']} Clone hook(s) from {result['path']} (backup: {result['backup']})."
