"""Gemini CLI: its hooks (``.gemini/settings.json``, command hooks reading the event on stdin).

Every event carries ``session_id``, ``transcript_path``, ``cwd``, ``hook_event_name`` and
``timestamp``. ``BeforeTool`` (``tool_name``, ``tool_input``) fires before every tool call and is
Gemini's one place to decide: answered ``{"decision": "allow"}`` or ``{"decision": "deny",
"reason": ...}`` when the prediction is automatic, ``{}`` otherwise (Gemini's own policy then
runs the call or asks the person). Because it fires for calls nobody is asked about, an outcome
counts as the person's only once ``Notification`` (``notification_type`` ``ToolPermission``)
said the confirmation opened: ``AfterTool`` is then their "yes"; ``BeforeAgent`` (the next
prompt), ``AfterAgent`` or ``SessionEnd`` without the tool having run, their "no".
"""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth.models import User

from predictions.integrations import claude_code
from predictions.integrations import requests as agent_requests

AGENT = "gemini-cli"
_TOOL_EVENTS = ("BeforeTool", "AfterTool")


def hook_validate(body: Any) -> dict[str, Any]:
    body = claude_code.hook_validate(body, turn_field="timestamp")
    if body["hook_event_name"] in _TOOL_EVENTS and not isinstance(body.get("tool_name"), str):
        raise claude_code.InvalidHook(
            details=[{"field": "tool_name", "message": "Required: a non-empty string."}]
        )
    return body


def _tool(body: dict[str, Any]) -> dict[str, Any]:
    tool_input = body.get("tool_input")
    return {
        "name": str(body.get("tool_name") or ""),
        "input": tool_input if isinstance(tool_input, dict) else {},
    }


def hook_handle(*, user: User, body: dict[str, Any]) -> dict[str, Any]:
    started = time.monotonic()
    event = body["hook_event_name"]
    session = claude_code.session_key(body["session_id"])
    common: agent_requests.RequestScope = {"user": user, "agent": AGENT, "session_key": session}
    if event == "BeforeTool":
        tool = _tool(body)
        verdict = agent_requests.request_ask(
            **common,
            turn_key=str(body.get("timestamp") or ""),
            tool_use_id="",
            tool=tool,
            text=claude_code.prompt_text(tool["name"], tool["input"]),
            cwd=body.get("cwd") or "",
            shown=False,
            started=started,
        )
        if verdict.decision == agent_requests.ALLOW:
            return {"decision": "allow", "reason": verdict.reason}
        if verdict.decision == agent_requests.DENY:
            return {"decision": "deny", "reason": verdict.reason}
        return {}
    if event == "Notification" and body.get("notification_type") == "ToolPermission":
        agent_requests.request_shown(**common)
    elif event == "AfterTool":
        agent_requests.request_ran(**common, tool_use_id="", tool=_tool(body))
    elif event in ("BeforeAgent", "AfterAgent", "SessionEnd"):
        prompt = body.get("prompt") or "" if event == "BeforeAgent" else ""
        agent_requests.requests_settle(**common, next_prompt=prompt)
        if event == "BeforeAgent" and prompt.strip():
            claude_code.note_record(
                user=user,
                agent=AGENT,
                session=session,
                key=str(body.get("timestamp") or prompt),
                text=prompt,
            )
    return {}
