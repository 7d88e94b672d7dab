"""Cursor: its agent hooks (``~/.cursor/hooks.json`` or ``.cursor/hooks.json``, command hooks
reading the event on stdin).

Every event carries ``conversation_id``, ``generation_id`` (the turn), ``hook_event_name`` and
``workspace_roots``. The permission events are ``beforeShellExecution`` (``command``, ``cwd``),
``beforeMCPExecution`` (``tool_name``, ``tool_input``) and ``preToolUse`` (``tool_name``,
``tool_input``), answered ``{"permission": "allow" | "deny" | "ask", "user_message",
"agent_message"}``. Clone answers allow/deny for an automatic prediction and ``ask`` otherwise,
so the person is asked and their answer is known: ``afterShellExecution`` /
``afterMCPExecution`` / ``postToolUse`` is their "yes"; the next ``beforeSubmitPrompt`` or
``stop`` without the call having run, their "no". A failure answers ``{}`` (Cursor's own rules).
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.contrib.auth.models import User

from predictions.integrations import claude_code
from predictions.integrations import requests as agent_requests

AGENT = "cursor"
_ASK = ("beforeShellExecution", "beforeMCPExecution", "preToolUse")
_RAN = ("afterShellExecution", "afterMCPExecution", "postToolUse")
_SHELL = ("beforeShellExecution", "afterShellExecution")


def hook_validate(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise claude_code.InvalidHook(details=[{"field": "", "message": "Expected a JSON object."}])
    problems = []
    for name in ("conversation_id", "hook_event_name"):
        value = body.get(name)
        if not isinstance(value, str) or not value.strip() or len(value) > 200:
            problems.append({"field": name, "message": "Required: a non-empty string."})
    event = body.get("hook_event_name")
    if event in _SHELL and not isinstance(body.get("command"), str):
        problems.append({"field": "command", "message": "Required: a string."})
    if event in _ASK + _RAN and event not in _SHELL and not isinstance(body.get("tool_name"), str):
        problems.append({"field": "tool_name", "message": "Required: a string."})
    for name in ("generation_id", "cwd", "prompt"):
        if body.get(name) is not None and not isinstance(body[name], str):
            problems.append({"field": name, "message": "Expected a string."})
    if problems:
        raise claude_code.InvalidHook(details=problems)
    return body


def _tool(body: dict[str, Any]) -> dict[str, Any]:
    if body["hook_event_name"] in _SHELL:
        return {"name": "Shell", "input": {"command": body["command"]}}
    tool_input = body.get("tool_input")
    if isinstance(tool_input, str):  # beforeMCPExecution sends it as JSON text
        try:
            tool_input = json.loads(tool_input)
        except ValueError:
            tool_input = {"input": tool_input}
    return {
        "name": str(body.get("tool_name") or ""),
        "input": tool_input if isinstance(tool_input, dict) else {},
    }


def _cwd(body: dict[str, Any]) -> str:
    roots = body.get("workspace_roots")
    if isinstance(body.get("cwd"), str):
        return body["cwd"]
    return roots[0] if isinstance(roots, list) and roots and isinstance(roots[0], str) else ""


def hook_handle(*, user: User, body: dict[str, Any]) -> dict[str, Any]:
    started = time.monotonic()
    event = body["hook_event_name"]
    session = claude_code.session_key(body["conversation_id"])
    turn = body.get("generation_id") or ""
    common: agent_requests.RequestScope = {"user": user, "agent": AGENT, "session_key": session}
    if event in _ASK:
        tool = _tool(body)
        verdict = agent_requests.request_ask(
            **common,
            turn_key=turn,
            tool_use_id=str(body.get("tool_use_id") or ""),
            tool=tool,
            text=claude_code.prompt_text(tool["name"], tool["input"]),
            cwd=_cwd(body),
            started=started,
        )
        if verdict.decision in (agent_requests.ALLOW, agent_requests.DENY):
            return {
                "permission": verdict.decision,
                "user_message": verdict.reason,
                "agent_message": verdict.reason,
            }
        return {"permission": "ask", "user_message": verdict.reason}
    if event in _RAN:
        agent_requests.request_ran(
            **common, tool_use_id=str(body.get("tool_use_id") or ""), tool=_tool(body)
        )
    elif event in ("beforeSubmitPrompt", "stop"):
        prompt = body.get("prompt") or "" if event == "beforeSubmitPrompt" else ""
        agent_requests.requests_settle(**common, next_prompt=prompt)
        if prompt.strip():
            claude_code.note_record(
                user=user, agent=AGENT, session=session, key=turn or prompt, text=prompt
            )
        if event == "beforeSubmitPrompt":
            return {"continue": True}
    return {}
