"""POST /api/integrations/claude-code/hooks/: every event type, retries, fail-safe paths,
isolation, on the hook bodies Claude Code itself sent (tests/.../fixtures)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from predictions.models import AgentRequest, Prediction
from recording.models import Event
from tests.helpers import assert_api_error
from tests.predictions.integrations.helpers import captured_hooks, hook_body, trusted_history

pytestmark = pytest.mark.django_db
URL = "integrations:claude-code-hooks"


def _post(client, body):
    return client.post(reverse(URL), body, format="json")


def _events(user, kind):
    return list(Event.objects.filter(user=user, kind=kind).order_by("occurred_at", "id"))


def _allow(response):
    return response.json().get("hookSpecificOutput", {}).get("decision", {}).get("behavior")


def test_captured_interactive_session_records_yes_and_no(api, user):
    """The real session: Yes in the dialog (PostToolUse came), then No (no hook; the next
    prompt came). Nothing is decided for a person with no history."""
    for body in captured_hooks():
        response = _post(api, body)
        assert response.status_code == 200, response.content
        assert response.json() == {}
    prompts = _events(user, "agent_prompt")
    assert [p.payload["text"] for p in prompts] == [
        "Bash: touch yes_interactive",
        "Bash: touch no_interactive",
    ]
    assert prompts[0].payload["tool"] == {
        "name": "Bash",
        "input": {"command": "touch yes_interactive", "description": "Run touch yes_interactive"},
    }
    assert prompts[0].payload["options"] == ["yes", "no"]
    assert prompts[0].payload["cwd"] == captured_hooks()[0]["cwd"]
    replies = _events(user, "user_reply")
    assert [(r.payload["in_reply_to"], r.payload["text"]) for r in replies] == [
        (prompts[0].event_id, "yes"),
        (prompts[1].event_id, "no"),
    ]
    assert replies[1].payload["context"] == "please use a different name"
    notes = [n.payload["text"] for n in _events(user, "note")]
    assert notes == [
        "run: touch yes_interactive",
        "run: touch no_interactive",
        "please use a different name",
    ]
    requests = AgentRequest.objects.filter(user=user).order_by("id")
    assert [(r.state, r.reply) for r in requests] == [("answered", "yes"), ("answered", "no")]
    # Each prediction got the person's answer as feedback.
    predictions = [r.prediction for r in requests]
    assert all(p is not None and p.outcome is not None for p in predictions)
    assert [p.actual_reply for p in predictions] == ["yes", "no"]


def test_the_persons_dialog_answers_mark_the_predictions_answered_by_them(api, user):
    for body in captured_hooks():
        _post(api, body)
    predictions = [r.prediction for r in AgentRequest.objects.filter(user=user).order_by("id")]
    assert [p.answered_by for p in predictions] == ["person", "person"]
    assert all(p.answered_at is not None for p in predictions)
    # One reply each, with the id derived from the hook (the one a transcript import derives).
    replies = _events(user, "user_reply")
    assert [r.event_id for r in replies] == [
        f"{p.prompt_event.event_id}-reply" for p in predictions
    ]


def test_an_automatic_prediction_clone_did_not_act_on_is_answered_by_the_person(api, user):
    """An ``auto`` prediction whose reply is not a plain yes/no is no decision: the dialog opens,
    and the answer the person gives there is theirs, not Clone's."""
    trusted_history(user, text="Bash: npm test", reply="only with --watch")
    assert _post(api, hook_body("PermissionRequest", command="npm test")).json() == {}
    request = AgentRequest.objects.get(user=user, state="asked")
    assert request.prediction.status == "auto"
    _post(api, hook_body("PostToolUse", command="npm test", tool_use_id="toolu_w"))
    prediction = Prediction.objects.get(pk=request.prediction_id)
    assert (prediction.answered_by, prediction.actual_reply) == ("person", "yes")
    assert prediction.answered_at is not None and prediction.outcome is not None


def test_same_hooks_twice_record_nothing_twice(api, user):
    for body in captured_hooks():
        _post(api, body)
    counts = Event.objects.filter(user=user).count(), Prediction.objects.filter(user=user).count()
    for body in captured_hooks():
        assert _post(api, body).status_code == 200
    assert (Event.objects.filter(user=user).count(), Prediction.objects.count()) == counts


def test_permission_request_retried_predicts_once(api, user):
    body = hook_body("PermissionRequest", command="make build")
    first, second = _post(api, body), _post(api, body)
    assert first.json() == second.json() == {}
    assert Prediction.objects.filter(user=user).count() == 1
    assert Event.objects.filter(user=user, kind="agent_prompt").count() == 1


def test_always_approved_request_is_allowed_with_a_reason(api, user):
    trusted_history(user, text="Bash: npm test", reply="yes")
    response = _post(api, hook_body("PermissionRequest", command="npm test"))
    assert response.status_code == 200
    assert _allow(response) == "allow"
    request = AgentRequest.objects.get(user=user, decision="allow")
    assert request.prediction.status == "auto"
    # An automatic answer is Clone's, not the person's: no reply is recorded for it.
    _post(api, hook_body("PostToolUse", command="npm test", tool_use_id="toolu_x"))
    _post(api, hook_body("Stop"))
    assert not Event.objects.filter(user=user, kind="user_reply", source="claude-code").exists()


def test_always_refused_request_is_denied_with_the_reason(api, user):
    trusted_history(user, text="Bash: git push origin main", reply="no")
    response = _post(api, hook_body("PermissionRequest", command="git push origin main"))
    decision = response.json()["hookSpecificOutput"]["decision"]
    assert decision["behavior"] == "deny"
    assert decision["message"].startswith("Clone: ")
    assert decision["message"].endswith(")")


def test_novel_request_is_left_to_the_person(api, user):
    trusted_history(user, text="Bash: npm test", reply="yes")
    trusted_history(user, text="Bash: git push origin main", reply="no")
    response = _post(api, hook_body("PermissionRequest", command="terraform destroy"))
    assert response.json() == {}
    assert AgentRequest.objects.get(user=user).state == "asked"


def test_pre_tool_use_is_noted_and_answered_empty(api, user):
    trusted_history(user, text="Bash: npm test", reply="yes")
    response = _post(api, hook_body("PreToolUse", command="npm test", tool_use_id="toolu_1"))
    assert response.json() == {}
    request = AgentRequest.objects.get(user=user)
    assert (request.state, request.tool_use_id) == ("seen", "toolu_1")
    assert not Event.objects.filter(user=user, kind="agent_prompt", source="claude-code").exists()


def test_tool_allowed_by_the_agents_own_rules_is_not_a_reply(api, user):
    _post(api, hook_body("PreToolUse", command="echo hi", tool_use_id="toolu_2"))
    _post(api, hook_body("PostToolUse", command="echo hi", tool_use_id="toolu_2"))
    assert AgentRequest.objects.get(user=user).state == "closed"
    assert not Event.objects.filter(user=user, kind="user_reply").exists()


def test_stop_settles_an_asked_request_that_never_ran_as_no(api, user):
    _post(api, hook_body("PreToolUse", command="rm build.log", tool_use_id="toolu_3"))
    _post(api, hook_body("PermissionRequest", command="rm build.log"))
    _post(api, hook_body("Stop"))
    reply = Event.objects.get(user=user, kind="user_reply")
    assert reply.payload["text"] == "no"
    prediction = AgentRequest.objects.get(user=user).prediction
    assert prediction.actual_reply == "no"


def test_parallel_call_of_the_same_turn_is_not_taken_for_a_refusal(api, user):
    _post(api, hook_body("PreToolUse", command="make a", tool_use_id="toolu_a"))
    _post(api, hook_body("PermissionRequest", command="make a"))
    _post(api, hook_body("PreToolUse", command="make b", tool_use_id="toolu_b"))
    assert AgentRequest.objects.get(user=user, tool_use_id="toolu_a").state == "asked"
    _post(api, hook_body("PostToolUse", command="make a", tool_use_id="toolu_a"))
    assert AgentRequest.objects.get(user=user, tool_use_id="toolu_a").reply == "yes"


def test_next_turn_settles_the_previous_turns_asked_request(api, user):
    _post(api, hook_body("PreToolUse", command="make a", tool_use_id="toolu_a"))
    _post(api, hook_body("PermissionRequest", command="make a"))
    _post(api, hook_body("PreToolUse", turn="turn-2", command="make c", tool_use_id="toolu_c"))
    assert AgentRequest.objects.get(user=user, tool_use_id="toolu_a").reply == "no"


def test_headless_answering_decides_pre_tool_use(api, user):
    from memories.services import profile_settings_update

    profile_settings_update(user=user, headless_answering=True)
    trusted_history(user, text="Bash: npm test", reply="yes")
    response = _post(api, hook_body("PreToolUse", command="npm test", tool_use_id="toolu_h"))
    output = response.json()["hookSpecificOutput"]
    assert output["hookEventName"] == "PreToolUse"
    assert output["permissionDecision"] == "allow"
    assert output["permissionDecisionReason"].startswith("Clone: ")


@pytest.mark.parametrize(
    "event", ["Notification", "SessionStart", "SubagentStop", "PreCompact", "SomethingNew"]
)
def test_other_events_are_accepted_and_answered_empty(api, user, event):
    body = hook_body("Stop")
    body["hook_event_name"] = event
    body["notification_type"] = "permission_prompt"
    response = _post(api, body)
    assert response.status_code == 200
    assert response.json() == {}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param([1, 2], id="not-an-object"),
        pytest.param({"hook_event_name": "Stop"}, id="no-session"),
        pytest.param({"session_id": "s"}, id="no-event-name"),
        pytest.param({"session_id": 7, "hook_event_name": "Stop"}, id="session-not-string"),
        pytest.param(
            {"session_id": "s", "hook_event_name": "PermissionRequest", "tool_input": {}},
            id="permission-without-tool",
        ),
        pytest.param(
            {
                "session_id": "s",
                "hook_event_name": "PreToolUse",
                "tool_name": "Bash",
                "tool_input": "ls",
            },
            id="tool-input-not-object",
        ),
        pytest.param(
            {"session_id": "s", "hook_event_name": "UserPromptSubmit", "prompt": 3},
            id="prompt-not-string",
        ),
    ],
)
def test_malformed_body_is_a_400_and_stores_nothing(api, user, body):
    response = _post(api, body)
    assert_api_error(response, 400, "invalid_hook")
    assert not Event.objects.filter(user=user).exists()
    assert not AgentRequest.objects.filter(user=user).exists()


def test_malformed_json_is_a_400(api):
    response = api.post(reverse(URL), "{not json", content_type="application/json")
    assert_api_error(response, 400, "malformed_json")


def test_without_credentials_is_not_a_2xx(anon_client):
    response = _post(anon_client, hook_body("PermissionRequest", command="npm test"))
    assert response.status_code in (401, 403)


def test_a_wrong_api_key_is_not_a_2xx(anon_client):
    anon_client.credentials(HTTP_X_CLONE_API_KEY="clone_wrong")
    response = _post(anon_client, hook_body("PermissionRequest", command="npm test"))
    assert response.status_code in (401, 403)


def test_an_error_after_validation_asks_the_person(api, user, monkeypatch):
    from predictions import services

    def broken(**kwargs):
        raise RuntimeError("boom")

    trusted_history(user, text="Bash: npm test", reply="yes")
    monkeypatch.setattr(services, "prediction_create", broken)
    response = _post(api, hook_body("PermissionRequest", command="npm test"))
    assert response.status_code == 200
    assert response.json() == {}
    request = AgentRequest.objects.get(user=user)
    assert (request.state, request.prediction) == ("asked", None)


def test_a_model_slower_than_the_deadline_asks_the_person(api, user, fake_anthropic, settings):
    from tests.fakes.anthropic import slow_reply, tool_reply
    from tests.predictions.helpers import candidates_answer

    settings.CLONE_HOOK_DEADLINE_MS = 200
    fake_anthropic.respond_with(
        lambda request: slow_reply(1.0, then=tool_reply(candidates_answer(("yes", 0.99, []))))
    )
    response = _post(api, hook_body("PermissionRequest", command="npm test"))
    assert response.json() == {}
    assert AgentRequest.objects.get(user=user).state == "asked"


def test_a_model_error_asks_the_person(api, user, fake_anthropic):
    from tests.fakes.anthropic import error_reply

    fake_anthropic.respond_with(lambda request: error_reply(500))
    response = _post(api, hook_body("PermissionRequest", command="npm test"))
    assert response.status_code == 200
    assert response.json() == {}


def test_another_users_session_ids_never_match(api, user, other_user, client_for):
    other = client_for(other_user, "api_key")
    _post(other, hook_body("PreToolUse", command="make a", tool_use_id="toolu_same"))
    _post(other, hook_body("PermissionRequest", command="make a"))
    # The same session and tool-use ids from this user: their own request, not bob's.
    _post(api, hook_body("PostToolUse", command="make a", tool_use_id="toolu_same"))
    _post(api, hook_body("Stop"))
    assert not Event.objects.filter(user=user).exists()
    theirs = AgentRequest.objects.get(user=other_user)
    assert theirs.state == "asked"
    _post(other, hook_body("PostToolUse", command="make a", tool_use_id="toolu_same"))
    theirs.refresh_from_db()
    assert theirs.reply == "yes"
