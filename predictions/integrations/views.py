"""HTTP doors through which agents call Clone (``/api/integrations/``): thin views.

A hook view validates the body (a malformed one is a 400 with the usual error shape), hands it
to its agent's adapter and returns the adapter's answer. Anything that goes wrong after
validation is answered with the agent's "no decision", so the person is asked: never an allow
on an error path. Authentication failures are a 401/403, which agents treat as no decision.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from predictions.integrations import (
    aider,
    claude_code,
    codex,
    cursor,
    gemini,
    history,
    rules,
    setup,
)

logger = logging.getLogger(__name__)


def _fail_safe(handle: Callable[[], dict[str, Any]], *, agent: str) -> dict[str, Any]:
    try:
        return handle()
    except Exception:
        logger.exception("%s hook failed; answering with no decision", agent)
        return {}


class ClaudeCodeHookView(APIView):
    throttle_scope = "predict"

    @extend_schema(
        operation_id="integrations_claude_code_hook",
        summary="Answer a Claude Code hook event (any event; http hook).",
        description=(
            "Takes the hook's JSON as Claude Code sends it. PermissionRequest: the request is "
            "recorded as an agent_prompt and predicted; an automatic yes/no is answered as "
            "hookSpecificOutput.decision.behavior allow/deny, anything else as {} (the person "
            "is asked). PreToolUse: noted, and decided the same way only when the person turned "
            "on headless answering. PostToolUse records the person's yes; a request asked and "
            "never run is recorded as their no at the session's next event. Errors and "
            "timeouts answer {}."
        ),
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiTypes.OBJECT},
        examples=[
            OpenApiExample(
                "PermissionRequest",
                request_only=True,
                value={
                    "session_id": "9721f9e8-9137-4fdf-b125-45297a17e06a",
                    "transcript_path": "/home/me/.claude/projects/-home-me-app/9721f9e8.jsonl",
                    "cwd": "/home/me/app",
                    "permission_mode": "default",
                    "hook_event_name": "PermissionRequest",
                    "tool_name": "Bash",
                    "tool_input": {"command": "npm test", "description": "Run the tests"},
                },
            ),
            OpenApiExample(
                "Allowed",
                response_only=True,
                value={
                    "hookSpecificOutput": {
                        "hookEventName": "PermissionRequest",
                        "decision": {"behavior": "allow"},
                    }
                },
            ),
        ],
    )
    def post(self, request):
        body = claude_code.hook_validate(request.data)
        return Response(
            _fail_safe(
                lambda: claude_code.hook_handle(user=request.user, body=body), agent="claude-code"
            )
        )


class _AgentHookView(APIView):
    """A hook endpoint for one agent: its adapter's validation, then its answer or, on any
    failure after validation, the agent's "no decision"."""

    throttle_scope = "predict"
    adapter: Any = None

    def post(self, request):
        body = self.adapter.hook_validate(request.data)
        return Response(
            _fail_safe(
                lambda: self.adapter.hook_handle(user=request.user, body=body),
                agent=self.adapter.AGENT,
            )
        )


def _hook_schema(agent: str, description: str, example: dict, answer: dict):
    return extend_schema(
        operation_id=f"integrations_{agent}_hook",
        summary=f"Answer a {agent} hook event.",
        description=description,
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiTypes.OBJECT},
        examples=[
            OpenApiExample("Event", request_only=True, value=example),
            OpenApiExample("Answer", response_only=True, value=answer),
        ],
    )


class CodexHookView(_AgentHookView):
    adapter = codex

    @_hook_schema(
        "codex",
        "Codex CLI's hooks (Claude Code's protocol): PermissionRequest is answered with "
        "hookSpecificOutput.decision.behavior allow/deny when the prediction is automatic, {} "
        "otherwise; PostToolUse, UserPromptSubmit and Stop record the person's answers.",
        {
            "session_id": "019a-codex-session",
            "turn_id": "t-1",
            "cwd": "/home/me/app",
            "hook_event_name": "PermissionRequest",
            "tool_name": "Bash",
            "tool_input": {"command": "npm test"},
        },
        {
            "hookSpecificOutput": {
                "hookEventName": "PermissionRequest",
                "decision": {"behavior": "allow"},
            }
        },
    )
    def post(self, request):
        return super().post(request)


class GeminiHookView(_AgentHookView):
    adapter = gemini

    @_hook_schema(
        "gemini-cli",
        "Gemini CLI's hooks: BeforeTool is answered {decision: allow|deny, reason} when the "
        "prediction is automatic, {} otherwise; Notification (ToolPermission), AfterTool, "
        "BeforeAgent, AfterAgent and SessionEnd record the person's answers.",
        {
            "session_id": "gem-1",
            "transcript_path": "/home/me/.gemini/tmp/chats/gem-1.json",
            "cwd": "/home/me/app",
            "hook_event_name": "BeforeTool",
            "timestamp": "2026-11-20T09:14:03Z",
            "tool_name": "run_shell_command",
            "tool_input": {"command": "npm test"},
        },
        {"decision": "allow", "reason": "Clone: ..."},
    )
    def post(self, request):
        return super().post(request)


class CursorHookView(_AgentHookView):
    adapter = cursor

    @_hook_schema(
        "cursor",
        "Cursor's agent hooks: beforeShellExecution, beforeMCPExecution and preToolUse are "
        "answered {permission: allow|deny} when the prediction is automatic and {permission: "
        "ask} otherwise; the after* events, beforeSubmitPrompt and stop record the person's "
        "answers.",
        {
            "conversation_id": "conv-123",
            "generation_id": "gen-456",
            "hook_event_name": "beforeShellExecution",
            "workspace_roots": ["/home/me/app"],
            "command": "npm test",
            "cwd": "/home/me/app",
        },
        {"permission": "allow", "user_message": "Clone: ...", "agent_message": "Clone: ..."},
    )
    def post(self, request):
        return super().post(request)


class ImportOutput(serializers.Serializer):
    created = serializers.DictField(child=serializers.IntegerField())
    duplicates = serializers.DictField(child=serializers.IntegerField())
    skipped = serializers.DictField(child=serializers.IntegerField())
    memory_rows_synced = serializers.IntegerField()
    next = serializers.ListField(child=serializers.CharField())


class _KnownFieldsOnly(serializers.Serializer):
    """A body with a field the endpoint does not read is a 400 naming it, not silently
    ignored (a client sending ``name`` for ``namespace`` would otherwise never find out)."""

    def to_internal_value(self, data):
        if isinstance(data, dict) and (unknown := set(data) - set(self.fields)):
            names = ", ".join(sorted(map(str, unknown)))
            raise serializers.ValidationError({"non_field_errors": [f"Unknown field(s): {names}."]})
        return super().to_internal_value(data)


class TranscriptInput(_KnownFieldsOnly):
    lines = serializers.ListField(
        child=serializers.JSONField(),
        allow_empty=False,
        max_length=50_000,
        help_text="The transcript's JSONL lines, as strings or as objects. Send a big file in "
        "chunks that each start at a message of the person's.",
    )


class TranscriptImportView(APIView):
    throttle_scope = "ingest"

    @extend_schema(
        operation_id="integrations_claude_code_transcripts",
        summary="Import a Claude Code transcript (JSONL lines).",
        request=TranscriptInput,
        responses={200: ImportOutput},
    )
    def post(self, request):
        payload = TranscriptInput(data=request.data)
        payload.is_valid(raise_exception=True)
        parsed = claude_code.transcript_parse(lines=payload.validated_data["lines"])
        result = history.history_import(
            user=request.user,
            events=parsed.events,
            skipped={
                "not_the_person": parsed.not_the_person,
                "unpaired": parsed.unpaired,
                "other_lines": parsed.skipped_lines,
            },
        )
        return Response(ImportOutput(result.as_dict()).data)


class _StrictText(serializers.CharField):
    """A string, not a number coerced into one."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class AiderInput(_KnownFieldsOnly):
    text = _StrictText(
        allow_blank=False, trim_whitespace=False, help_text="An .aider.chat.history.md file."
    )
    namespace = _StrictText(
        required=False,
        default="",
        allow_blank=True,
        max_length=200,
        help_text="Keeps two files apart whose sessions started in the same second "
        "(e.g. the repository's name).",
    )


class AiderImportView(APIView):
    throttle_scope = "ingest"

    @extend_schema(
        operation_id="integrations_aider_history",
        summary="Import an Aider chat history (.aider.chat.history.md).",
        request=AiderInput,
        responses={200: ImportOutput},
    )
    def post(self, request):
        payload = AiderInput(data=request.data)
        payload.is_valid(raise_exception=True)
        parsed = aider.history_parse(
            text=payload.validated_data["text"], namespace=payload.validated_data["namespace"]
        )
        result = history.history_import(
            user=request.user, events=parsed.events, skipped={"automatic": parsed.automatic}
        )
        return Response(ImportOutput(result.as_dict()).data)


class LearnInput(serializers.Serializer):
    limit = serializers.IntegerField(
        required=False,
        default=5000,
        min_value=1,
        max_value=20_000,
        help_text="Replay at most this many of the newest prompts, replies and notes.",
    )


class LearnOutput(serializers.Serializer):
    replayed = serializers.IntegerField(help_text="Answered prompts predicted in the replay.")
    labelled = serializers.IntegerField(help_text="Labelled predictions added to the account.")
    already_labelled = serializers.IntegerField()
    calibration = serializers.DictField(help_text="The calibration fitted afterwards.")


class HistoryLearnView(APIView):
    throttle_scope = "promote"

    @extend_schema(
        operation_id="integrations_history_learn",
        summary="Learn from the recorded history: labelled predictions and a calibration.",
        description=(
            "Replays the person's recorded prompts and replies in time order (each predicted "
            "from what came before it only, judged against the real reply), keeps the labelled "
            "predictions and refits the calibration. Run it after an import; idempotent."
        ),
        request=LearnInput,
        responses={200: LearnOutput},
    )
    def post(self, request):
        payload = LearnInput(data=request.data)
        payload.is_valid(raise_exception=True)
        result = history.history_learn(user=request.user, **payload.validated_data)
        return Response(LearnOutput(result.as_dict()).data)


class RulesInput(serializers.Serializer):
    min_count = serializers.IntegerField(required=False, default=10, min_value=1, max_value=100_000)


class RuleOutput(serializers.Serializer):
    rule = serializers.CharField(help_text="A Claude Code permission rule, e.g. Bash(npm test:*).")
    tool = serializers.CharField()
    approved = serializers.IntegerField()
    refused = serializers.IntegerField()
    examples = serializers.ListField(child=serializers.CharField())


class RulesOutput(serializers.Serializer):
    min_count = serializers.IntegerField()
    rules = RuleOutput(many=True)
    settings = serializers.DictField(help_text="A .claude/settings.json fragment allowing them.")


class SuggestedRulesView(APIView):
    @extend_schema(
        operation_id="integrations_claude_code_suggested_rules",
        summary="Claude Code permission rules for requests the person always approved.",
        parameters=[RulesInput],
        responses={200: RulesOutput},
    )
    def get(self, request):
        payload = RulesInput(data=request.query_params.dict())
        payload.is_valid(raise_exception=True)
        return Response(rules.suggested_rules(user=request.user, **payload.validated_data))


class _Program(serializers.CharField):
    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise serializers.ValidationError("No control characters.")
        return value


class SetupInput(serializers.Serializer):
    form = serializers.ChoiceField(
        choices=sorted({f for a in setup.AGENTS.values() for f in a.forms}),
        required=False,
        help_text="http (Claude Code's own http hooks; its default), curl (a command hook "
        "posting with curl; the other agents' default) or command (`clone hook <agent>`, the "
        "CLI's command-hook form).",
    )
    program = _Program(
        required=False,
        default="clone",
        max_length=1024,
        help_text="The `clone` program the command form runs (e.g. its absolute path).",
    )


class SetupOutput(serializers.Serializer):
    agent = serializers.CharField()
    name = serializers.CharField()
    form = serializers.CharField()
    forms = serializers.ListField(child=serializers.CharField())
    hook_url = serializers.URLField()
    paths = serializers.DictField(
        child=serializers.CharField(), help_text="Where the settings file lives, by scope."
    )
    events = serializers.ListField(child=serializers.CharField())
    config = serializers.DictField(help_text="The fragment to merge into the settings file.")
    text = serializers.CharField(help_text="`config` as indented JSON, to copy.")
    notes = serializers.ListField(child=serializers.CharField())


class AgentSetupView(APIView):
    @extend_schema(
        operation_id="integrations_agent_setup",
        summary="The hooks configuration connecting an agent to this server.",
        description=(
            "The settings fragment that wires the agent's hooks to this server's hook endpoint "
            f"(agents: {', '.join(setup.AGENTS)}), as the web app shows it and `clone hooks "
            "install` merges it. An unknown agent is a 404."
        ),
        parameters=[
            OpenApiParameter("agent", str, OpenApiParameter.PATH, enum=list(setup.AGENTS)),
            SetupInput,
        ],
        responses={200: SetupOutput},
    )
    def get(self, request, agent: str):
        spec = setup.AGENTS.get(agent)
        if spec is None:
            raise NotFound(f"No hooks for agent {agent!r}: one of {', '.join(setup.AGENTS)}.")
        payload = SetupInput(data=request.query_params.dict())
        payload.is_valid(raise_exception=True)
        form = payload.validated_data.get("form", "")
        if form and form not in spec.forms:
            raise serializers.ValidationError(
                {"form": [f"{spec.name} hooks come as {' or '.join(spec.forms)}."]}
            )
        return Response(
            setup.agent_setup(
                agent=agent,
                base_url=request.build_absolute_uri("/"),
                form=form,
                program=payload.validated_data["program"],
            )
        )
