"""Codex CLI: its hooks (``~/.codex/hooks.json``, command hooks that pipe the event to a program).

Codex follows Claude Code's hook protocol: ``PreToolUse`` (``tool_name``, ``tool_input``,
``tool_use_id``), ``PermissionRequest`` when an approval prompt is about to be shown (shell and
network approvals, ``tool_name`` ``Bash``), ``PostToolUse``, ``UserPromptSubmit``, ``Stop``;
every event carries ``session_id``, ``cwd`` and the turn's ``turn_id``. A ``PermissionRequest``
is answered ``{"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision":
{"behavior": "allow" | "deny", "message": ...}}}``; an empty answer (or any failure) lets the
normal approval prompt open. ``PreToolUse`` is only noted: Codex decides there with ``deny``
alone, and Clone never blocks a call the person would be asked about anyway.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User

from predictions.integrations import claude_code

AGENT = "codex"


def hook_validate(body: Any) -> dict[str, Any]:
    return claude_code.hook_validate(body, turn_field="turn_id")


def hook_handle(*, user: User, body: dict[str, Any]) -> dict[str, Any]:
    return claude_code.permission_hooks_handle(
        user=user, body=body, agent=AGENT, turn=body.get("turn_id") or "", pre_tool_decides=False
    )
