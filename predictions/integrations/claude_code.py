"""Claude Code: its hooks answered, its transcripts read.

Hooks (``.claude/settings.json``, ``"type": "http"``) POST one JSON object per event; every event
carries ``session_id``, ``transcript_path``, ``cwd``, ``hook_event_name`` (and, in recent
versions, ``prompt_id`` naming the person's turn). What each event means here:

- ``PreToolUse`` (``tool_name``, ``tool_input``, ``tool_use_id``): the agent is about to call a
  tool. Noted (later events name the ``tool_use_id``); answered ``{}`` unless the person turned
  on headless answering, when it is decided like a ``PermissionRequest``.
- ``PermissionRequest`` (``tool_name``, ``tool_input``, no ``tool_use_id``): the dialog is about
  to open. The question is recorded and predicted; an automatic yes/no becomes
  ``decision.behavior`` allow/deny, anything else ``{}`` (the dialog opens).
- ``PostToolUse`` / ``PostToolUseFailure``: the tool ran, so a request the person was asked
  about was approved: their "yes".
- ``UserPromptSubmit`` (``prompt``): a note; and an asked request that never ran was refused
  (when the person answers "No" in the dialog Claude Code fires no hook: the next event is the
  person's next prompt). ``Stop`` and ``SessionEnd`` settle everything still open.

Transcripts (``~/.claude/projects/<cwd with / as ->/<session_id>.jsonl``) hold the same story:
``assistant`` lines with ``tool_use`` blocks, ``user`` lines with ``tool_result`` blocks. A
result is the person's answer only when they gave it: ``permissionDecision.source`` names who
decided (``user_*`` the person; ``hook``, ``config``, ... not), and a refusal in the dialog is
marked ``toolUseResult: "User rejected tool use"``. Ids are the ones the hooks use (session and
tool-use id, the person's prompt id), so a session seen live and imported later is stored once.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User

from clone_server.errors import ApiError
from predictions.integrations import requests as agent_requests
from predictions.integrations.settings import headless_answering
from recording.services import event_ingest

AGENT = "claude-code"
MAX_TEXT = 100_000
_SESSION_OK = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
_REJECTED = "User rejected tool use"
_REJECTED_TEXT = "The user doesn't want to proceed"
_NOT_PERSON_TEXT = ("[Request interrupted", "<command-", "<local-command-", "<system-reminder>")
SETTLING_EVENTS = {"UserPromptSubmit", "Stop", "SessionEnd"}


class InvalidHook(ApiError):
    default_code = "invalid_hook"
    default_detail = "The hook body is not one this agent sends."


def session_key(raw: str) -> str:
    """The agent's session id as an id Clone can store (hashed if it has odd characters)."""
    return raw if _SESSION_OK.match(raw) else agent_requests.digest("session", raw)


def prompt_text(tool_name: str, tool_input: Any) -> str:
    """A readable line for the question: ``Bash: touch x``, ``Edit: src/app.py``."""
    data = tool_input if isinstance(tool_input, dict) else {}
    for key in ("command", "file_path", "notebook_path", "url", "path", "pattern", "query"):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return f"{tool_name}: {value.strip()}"[:MAX_TEXT]
    if not data:
        return tool_name
    compact = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return f"{tool_name}: {compact}"[:MAX_TEXT]


def _tool(body: dict[str, Any]) -> dict[str, Any]:
    tool_input = body.get("tool_input")
    return {
        "name": str(body.get("tool_name") or ""),
        "input": tool_input if isinstance(tool_input, dict) else {},
    }


def _context(tool: dict[str, Any]) -> str:
    description = tool["input"].get("description")
    return description if isinstance(description, str) else ""


def hook_validate(body: Any, *, turn_field: str = "prompt_id") -> dict[str, Any]:
    """The body as a dict, or ``InvalidHook`` (400) naming every problem. Unknown fields are
    allowed (newer Claude Code versions add some); the fields an event needs are checked."""
    if not isinstance(body, dict):
        raise InvalidHook(details=[{"field": "", "message": "Expected a JSON object."}])
    problems = []
    for name in ("session_id", "hook_event_name"):
        value = body.get(name)
        if not isinstance(value, str) or not value.strip() or len(value) > 200:
            problems.append({"field": name, "message": "Required: a non-empty string."})
    event = body.get("hook_event_name")
    if event in ("PreToolUse", "PermissionRequest", "PostToolUse", "PostToolUseFailure"):
        if not isinstance(body.get("tool_name"), str) or not body["tool_name"]:
            problems.append({"field": "tool_name", "message": "Required: a non-empty string."})
        if "tool_input" in body and not isinstance(body["tool_input"], dict):
            problems.append({"field": "tool_input", "message": "Expected an object."})
    for name in ("tool_use_id", turn_field, "cwd", "prompt"):
        if name in body and body[name] is not None and not isinstance(body[name], str):
            problems.append({"field": name, "message": "Expected a string."})
    if problems:
        raise InvalidHook(details=problems)
    return body


def _permission_output(verdict: agent_requests.Verdict) -> dict[str, Any]:
    if verdict.decision == agent_requests.ALLOW:
        decision: dict[str, Any] = {"behavior": "allow"}
    elif verdict.decision == agent_requests.DENY:
        decision = {"behavior": "deny", "message": verdict.reason}
    else:
        return {}
    return {"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": decision}}


def _pre_tool_output(verdict: agent_requests.Verdict) -> dict[str, Any]:
    if verdict.decision not in (agent_requests.ALLOW, agent_requests.DENY):
        return {}
    return {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": verdict.decision,
            "permissionDecisionReason": verdict.reason,
        }
    }


def hook_handle(*, user: User, body: dict[str, Any]) -> dict[str, Any]:
    """Answer one (validated) hook event in Claude Code's output format; ``{}`` is no decision."""
    return permission_hooks_handle(
        user=user,
        body=body,
        agent=AGENT,
        turn=body.get("prompt_id") or "",
        pre_tool_decides=headless_answering(user=user, agent=AGENT),
    )


def permission_hooks_handle(
    *,
    user: User,
    body: dict[str, Any],
    agent: str,
    turn: str,
    pre_tool_decides: bool,
) -> dict[str, Any]:
    """The hook flow Claude Code defined (and Codex CLI follows): ``PreToolUse``,
    ``PermissionRequest``, ``PostToolUse``, ``UserPromptSubmit``, ``Stop``."""
    started = time.monotonic()  # the hook's deadline counts from here, settling included
    event = body["hook_event_name"]
    session = session_key(body["session_id"])
    common: agent_requests.RequestScope = {"user": user, "agent": agent, "session_key": session}

    if event in SETTLING_EVENTS:
        prompt = body.get("prompt") or "" if event == "UserPromptSubmit" else ""
        agent_requests.requests_settle(**common, next_prompt=prompt)
        if event == "UserPromptSubmit" and prompt.strip():
            note_id = turn or agent_requests.digest(prompt, body.get("transcript_path"))
            note_record(user=user, agent=agent, session=session, key=note_id, text=prompt)
        return {}

    if event in ("PreToolUse", "PermissionRequest"):
        tool = _tool(body)
        if turn:
            # An asked request of an earlier turn that never ran was refused.
            agent_requests.requests_settle(**common, keep_turn=turn)
        tool_use_id = body.get("tool_use_id") or ""
        if event == "PreToolUse":
            if tool_use_id:
                agent_requests.request_announce(
                    **common, tool_use_id=tool_use_id, turn_key=turn, tool=tool
                )
            if not pre_tool_decides:
                return {}
        verdict = agent_requests.request_ask(
            **common,
            turn_key=turn,
            tool_use_id=tool_use_id,
            tool=tool,
            text=prompt_text(tool["name"], tool["input"]),
            cwd=body.get("cwd") or "",
            context=_context(tool),
            started=started,
        )
        return _pre_tool_output(verdict) if event == "PreToolUse" else _permission_output(verdict)

    if event in ("PostToolUse", "PostToolUseFailure"):
        agent_requests.request_ran(
            **common, tool_use_id=body.get("tool_use_id") or "", tool=_tool(body)
        )
    return {}


def note_record(*, user: User, agent: str, session: str, key: str, text: str) -> None:
    """What the person asked the agent, as a ``note`` (once per turn)."""
    event_ingest(
        user=user,
        events=[
            {
                "id": f"{agent}-{agent_requests.digest(session, 'note', key)}",
                "session_id": agent_requests.recording_session(agent, session),
                "kind": "note",
                "occurred_at": agent_requests._now_iso(),
                "source": agent,
                "payload": {"text": text[:MAX_TEXT]},
            }
        ],
    )


# --- Transcripts -------------------------------------------------------------------------------


@dataclass
class Transcript:
    """A transcript's events (file order) and what was counted on the way."""

    events: list[dict[str, Any]] = field(default_factory=list)
    prompts: int = 0
    replies: int = 0
    notes: int = 0
    not_the_person: int = 0  # tool calls decided by rules, hooks or modes: not labels
    unpaired: int = 0  # a tool call without its result in these lines, or the reverse
    skipped_lines: int = 0


def _person_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        texts = [content]
    elif isinstance(content, list):
        if any(isinstance(b, dict) and b.get("type") == "tool_result" for b in content):
            return ""
        texts = [
            b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"
        ]
    else:
        return ""
    kept = [t.strip() for t in texts if isinstance(t, str) and t.strip()]
    kept = [t for t in kept if not t.startswith(_NOT_PERSON_TEXT)]
    return "\n".join(kept)


def _who_decided(line: dict[str, Any], block: dict[str, Any]) -> str | None:
    """ "yes"/"no" when the person decided this tool call, None when someone else did."""
    decision = line.get("permissionDecision")
    if isinstance(decision, dict) and decision.get("source"):
        if not str(decision["source"]).startswith("user"):
            return None
        return "yes" if decision.get("decision") == "accept" else "no"
    result = line.get("toolUseResult")
    content = block.get("content")
    text = content if isinstance(content, str) else json.dumps(content, default=str)
    if result == _REJECTED or (block.get("is_error") and text.startswith(_REJECTED_TEXT)):
        return "no"
    if line.get("toolDenialKind"):
        return None  # refused by a rule or a mode, not in the dialog
    return "yes"  # older versions name no decider: a call that ran was approved


def transcript_parse(*, lines: list[Any]) -> Transcript:
    """Turn a transcript's lines (JSON strings or objects) into CloneEvents. Pure."""
    out = Transcript()
    calls: dict[str, dict[str, Any]] = {}
    pending_no: dict[str, Any] | None = None
    for raw in lines:
        try:
            line = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            out.skipped_lines += 1
            continue
        if not isinstance(line, dict) or line.get("type") not in ("user", "assistant"):
            out.skipped_lines += 1
            continue
        message = line.get("message")
        session_raw = line.get("sessionId")
        when = line.get("timestamp")
        if not isinstance(message, dict) or not isinstance(session_raw, str) or not when:
            out.skipped_lines += 1
            continue
        session = session_key(session_raw)
        content = message.get("content")
        if line["type"] == "assistant":
            for block in content if isinstance(content, list) else []:
                if isinstance(block, dict) and block.get("type") == "tool_use" and block.get("id"):
                    calls[str(block["id"])] = {
                        "block": block,
                        "when": when,
                        "cwd": line.get("cwd") or "",
                        "session": session,
                    }
            continue
        if line.get("isMeta"):
            continue
        text = _person_text(message)
        if text:
            key = line.get("promptId") or line.get("uuid") or agent_requests.digest(when, text)
            out.events.append(
                {
                    "id": f"{AGENT}-{agent_requests.digest(session, 'note', key)}",
                    "session_id": agent_requests.recording_session(AGENT, session),
                    "kind": "note",
                    "occurred_at": when,
                    "source": AGENT,
                    "payload": {"text": text[:MAX_TEXT]},
                }
            )
            out.notes += 1
            if pending_no is not None:
                pending_no["payload"]["context"] = text[:4000]
            pending_no = None
            continue
        for block in content if isinstance(content, list) else []:
            if not isinstance(block, dict) or block.get("type") != "tool_result":
                continue
            call = calls.pop(str(block.get("tool_use_id") or ""), None)
            if call is None:
                out.unpaired += 1
                continue
            reply = _who_decided(line, block)
            if reply is None:
                out.not_the_person += 1
                continue
            use = call["block"]
            tool: dict[str, Any] = {
                "name": str(use.get("name") or ""),
                "input": use.get("input") if isinstance(use.get("input"), dict) else {},
            }
            prompt_id = f"{AGENT}-{agent_requests.digest(call['session'], str(use['id']))}"
            payload: dict[str, Any] = {
                "agent": AGENT,
                "text": prompt_text(tool["name"], tool["input"]),
                "tool": tool,
                "options": list(agent_requests.OPTIONS),
            }
            if call["cwd"]:
                payload["cwd"] = str(call["cwd"])[:4096]
            if _context(tool):
                payload["context"] = _context(tool)[:4000]
            session_id = agent_requests.recording_session(AGENT, call["session"])
            reply_event = {
                "id": f"{prompt_id}-reply",
                "session_id": session_id,
                "kind": "user_reply",
                "occurred_at": when,
                "source": AGENT,
                "payload": {"text": reply, "choice": reply, "in_reply_to": prompt_id},
            }
            out.events.append(
                {
                    "id": prompt_id,
                    "session_id": session_id,
                    "kind": "agent_prompt",
                    "occurred_at": call["when"],
                    "source": AGENT,
                    "payload": payload,
                }
            )
            out.events.append(reply_event)
            out.prompts += 1
            out.replies += 1
            if reply == "no":
                pending_no = reply_event
    out.unpaired += len(calls)
    return out
