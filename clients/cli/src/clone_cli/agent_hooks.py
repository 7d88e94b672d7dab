"""`clone hooks install|uninstall claude-code`: merge Clone's hooks into Claude Code's settings.

The hooks themselves (events, URL, form) are the server's: ``GET
/api/integrations/claude-code/setup/``, the same configuration the web app's Connect screen
shows. This module only merges them into the file. Everything else in the file is kept as it was. An entry is Clone's when it is a matcher group
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from clone_cli.api import EXIT_REFUSED, EXIT_USAGE, CloneError

AGENTS = ("claude-code",)
ENDPOINT = "/api/integrations/claude-code/hooks/"
COMMAND = "hook claude-code"
SETUP = "/api/integrations/{agent}/setup/"


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


def setup_params(form: str) -> dict[str, str]:
    """The query for the server's setup: the form, and for the command form this machine's
    `clone` (its absolute path, so the agent finds it without this PATH)."""
    from clone_cli.shell import clone_executable

    params = {"form": form}
    if form == "command":
        params["program"] = clone_executable()
    return params


def _server_groups(setup: Any) -> dict[str, list]:
    hooks = setup.get("config", {}).get("hooks") if isinstance(setup, dict) else None
    if not isinstance(hooks, dict) or not all(
        isinstance(groups, list) and all(is_clone_group(g) for g in groups)
        for groups in hooks.values()
    ):
        raise CloneError(
            "bad_response",
            "The server's hooks configuration is not one this client can merge.",
            exit_code=EXIT_REFUSED,
        )
    return hooks


def install(path: Path, *, setup: Callable[[], Any]) -> dict:
    """Merge the hooks ``setup()`` fetches from the server into the settings file at ``path``
    (checked first, so a file that is not JSON is reported before the server is asked)."""
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
    for event, groups in hooks.items():
        if not isinstance(groups, list):
            raise CloneError(
                "invalid_settings",
                f"{path}: hooks.{event} is not a list; not touched.",
                exit_code=EXIT_USAGE,
            )
    answer = setup()
    ours = _server_groups(answer)
    changed = False
    for event, groups in ours.items():
        current = hooks.get(event, [])
        kept = [g for g in current if not is_clone_group(g)]
        new = [*kept, *groups]
        if new != current:
            changed = True
        hooks[event] = new
    result = {
        "action": "install",
        "path": str(path),
        "changed": changed,
        "backup": None,
        "events": list(ours),
        "form": answer.get("form"),
        "hook_url": answer.get("hook_url"),
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
