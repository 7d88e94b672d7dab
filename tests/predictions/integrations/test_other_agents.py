"""Codex CLI, Gemini CLI and Cursor hooks, on payloads written from their documented formats
(Codex: codex-rs/hooks schema; Gemini: docs/hooks/reference.md; Cursor: its hooks docs)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from predictions.models import AgentRequest
from recording.models import Event
from tests.helpers import assert_api_error
from tests.predictions.integrations.helpers import trusted_history

pytestmark = pytest.mark.django_db


def _post(client, name, body):
    return client.post(reverse(f"integrations:{name}"), body, format="json")


def _replies(user, agent):
    return [
        e.payload["text"]
        for e in Event.objects.filter(user=user, kind="user_reply", source=agent).order_by("id")
    ]


# --- Codex CLI ---------------------------------------------------------------------------------


def codex(event, command="npm test", turn="t-1", **extra):
    body = {
        "session_id": "019a-codex",
        "turn_id": turn,
        "transcript_path": "/home/me/.codex/sessions/019a-codex.jsonl",
        "cwd": "/home/me/app",
        "hook_event_name": event,
        "model": "gpt-5",
        "permission_mode": "default",
    }
    if event in ("PreToolUse", "PermissionRequest", "PostToolUse"):
        body.update(tool_name="Bash", tool_input={"command": command})
    if event in ("PreToolUse", "PostToolUse"):
        body["tool_use_id"] = f"call-{command}"
    body.update(extra)
    return body


def test_codex_permission_request_allowed_for_an_always_approved_command(api, user):
    trusted_history(user, text="Bash: npm test", reply="yes", agent="codex")
    response = _post(api, "codex-hooks", codex("PermissionRequest"))
    assert response.json() == {
        "hookSpecificOutput": {
            "hookEventName": "PermissionRequest",
            "decision": {"behavior": "allow"},
        }
    }


def test_codex_escalated_request_then_run_is_a_yes_and_a_refusal_a_no(api, user):
    for event in ("PreToolUse", "PermissionRequest", "PostToolUse"):
        assert _post(api, "codex-hooks", codex(event, command="make a")).json() == {}
    _post(api, "codex-hooks", codex("PreToolUse", command="make b", turn="t-2"))
    _post(api, "codex-hooks", codex("PermissionRequest", command="make b", turn="t-2"))
    _post(api, "codex-hooks", codex("UserPromptSubmit", turn="t-3", prompt="no, stop"))
    assert _replies(user, "codex") == ["yes", "no"]


def test_codex_pre_tool_use_never_decides(api, user):
    trusted_history(user, text="Bash: npm test", reply="yes", agent="codex")
    assert _post(api, "codex-hooks", codex("PreToolUse")).json() == {}


def test_codex_malformed_is_a_400(api):
    response = _post(api, "codex-hooks", {"hook_event_name": "PermissionRequest"})
    assert_api_error(response, 400, "invalid_hook")


# --- Gemini CLI --------------------------------------------------------------------------------


def gemini(event, command="npm test", when="2026-11-20T09:14:03Z", **extra):
    body = {
        "session_id": "gem-1",
        "transcript_path": "/home/me/.gemini/tmp/chats/gem-1.json",
        "cwd": "/home/me/app",
        "hook_event_name": event,
        "timestamp": when,
    }
    if event in ("BeforeTool", "AfterTool"):
        body.update(tool_name="run_shell_command", tool_input={"command": command})
    if event == "AfterTool":
        body["tool_response"] = {"llmContent": "ok", "returnDisplay": "ok"}
    body.update(extra)
    return body


def test_gemini_before_tool_decides_automatic_predictions(api, user):
    trusted_history(user, text="run_shell_command: npm test", reply="yes", agent="gemini-cli")
    trusted_history(user, text="run_shell_command: git push", reply="no", agent="gemini-cli")
    allowed = _post(api, "gemini-hooks", gemini("BeforeTool")).json()
    assert allowed["decision"] == "allow"
    assert allowed["reason"].startswith("Clone: ")
    denied = _post(api, "gemini-hooks", gemini("BeforeTool", command="git push", when="t2")).json()
    assert denied["decision"] == "deny"


def test_gemini_outcome_counts_only_when_the_confirmation_opened(api, user):
    # Not shown to the person (Gemini's policy ran it): no label.
    assert _post(api, "gemini-hooks", gemini("BeforeTool", command="ls")).json() == {}
    _post(api, "gemini-hooks", gemini("AfterTool", command="ls"))
    assert _replies(user, "gemini-cli") == []
    # Shown, then run: yes. Shown, never run, next prompt: no.
    _post(api, "gemini-hooks", gemini("BeforeTool", command="make a", when="t2"))
    notice = gemini("Notification", notification_type="ToolPermission", message="Allow?")
    _post(api, "gemini-hooks", notice)
    _post(api, "gemini-hooks", gemini("AfterTool", command="make a"))
    _post(api, "gemini-hooks", gemini("BeforeTool", command="make b", when="t3"))
    _post(api, "gemini-hooks", notice)
    _post(api, "gemini-hooks", gemini("BeforeAgent", prompt="not that one", when="t4"))
    assert _replies(user, "gemini-cli") == ["yes", "no"]
    assert AgentRequest.objects.get(user=user, tool__input__command="ls").state == "closed"


def test_gemini_malformed_is_a_400(api):
    body = gemini("BeforeTool")
    del body["tool_name"]
    response = _post(api, "gemini-hooks", body)
    assert response.status_code == 400


# --- Cursor ------------------------------------------------------------------------------------


def cursor(event, command="npm test", generation="gen-1", **extra):
    body = {
        "conversation_id": "conv-123",
        "generation_id": generation,
        "hook_event_name": event,
        "workspace_roots": ["/home/me/app"],
        "cursor_version": "2.0.77",
    }
    if event in ("beforeShellExecution", "afterShellExecution"):
        body.update(command=command, cwd="/home/me/app")
    if event == "afterShellExecution":
        body.update(output="ok", duration=150)
    body.update(extra)
    return body


def test_cursor_shell_command_allowed_or_asked(api, user):
    trusted_history(user, text="Shell: npm test", reply="yes", agent="cursor")
    allowed = _post(api, "cursor-hooks", cursor("beforeShellExecution")).json()
    assert allowed["permission"] == "allow"
    novel = _post(api, "cursor-hooks", cursor("beforeShellExecution", command="rm -rf build"))
    assert novel.json()["permission"] == "ask"


def test_cursor_mcp_tool_input_as_json_text(api, user):
    body = cursor(
        "beforeMCPExecution", tool_name="database_query", tool_input='{"query": "SELECT 1"}'
    )
    assert _post(api, "cursor-hooks", body).json()["permission"] == "ask"
    prompt = Event.objects.get(user=user, kind="agent_prompt", source="cursor")
    assert prompt.payload["tool"] == {"name": "database_query", "input": {"query": "SELECT 1"}}


def test_cursor_asked_then_run_is_yes_asked_then_stop_is_no(api, user):
    _post(api, "cursor-hooks", cursor("beforeShellExecution", command="make a"))
    _post(api, "cursor-hooks", cursor("afterShellExecution", command="make a"))
    _post(api, "cursor-hooks", cursor("beforeShellExecution", command="make b"))
    assert _post(api, "cursor-hooks", cursor("stop", status="completed")).json() == {}
    assert _replies(user, "cursor") == ["yes", "no"]
    submitted = _post(api, "cursor-hooks", cursor("beforeSubmitPrompt", prompt="thanks"))
    assert submitted.json() == {"continue": True}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"hook_event_name": "stop"}, id="no-conversation"),
        pytest.param(
            {"conversation_id": "c", "hook_event_name": "beforeShellExecution"}, id="no-command"
        ),
        pytest.param(
            {"conversation_id": "c", "hook_event_name": "preToolUse", "tool_input": {}},
            id="no-tool-name",
        ),
        pytest.param("text", id="not-an-object"),
    ],
)
def test_cursor_malformed_is_a_400(api, user, body):
    response = _post(api, "cursor-hooks", body)
    assert_api_error(response, 400, "invalid_hook")
    assert not Event.objects.filter(user=user).exists()


@pytest.mark.parametrize("name", ["codex-hooks", "gemini-hooks", "cursor-hooks"])
def test_other_agents_need_credentials(anon_client, name):
    assert _post(anon_client, name, {"session_id": "s"}).status_code in (401, 403)


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("codex-hooks", codex("PermissionRequest")),
        ("gemini-hooks", gemini("BeforeTool")),
        ("cursor-hooks", cursor("beforeShellExecution")),
    ],
)
def test_other_agents_fail_safe_on_an_error(api, user, monkeypatch, name, body):
    from predictions import services

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "prediction_create", broken)
    response = _post(api, name, body)
    assert response.status_code == 200
    assert response.json().get("permission", "ask") == "ask"
    assert "decision" not in response.json()
    assert "hookSpecificOutput" not in response.json()
