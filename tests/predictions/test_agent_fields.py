"""The request's structure (tool, options, cwd, context, prompt_event_id) through the API, and
the fields that say why and by whom a prediction was answered."""

import pytest
from django.urls import reverse

from predictions import services
from predictions.models import Prediction
from recording.services import event_ingest
from tests.factories import event
from tests.fakes.anthropic import tool_reply
from tests.helpers import assert_api_error
from tests.predictions.helpers import candidates_answer

pytestmark = pytest.mark.django_db

TOOL = {"name": "Bash", "input": {"command": "npm test", "timeout": 60}}
STRUCTURE = {
    "tool": TOOL,
    "options": ["yes", "no", "always"],
    "cwd": "/home/ada/shop",
    "context": "I updated the reports.",
}


def _predict(api, **body):
    return api.post(
        reverse("predictions:predict"),
        {"agent": "claude-code", "agent_input": "Bash: npm test", **body},
        format="json",
    )


def test_structured_fields_round_trip_through_predict_detail_and_list(api, user, fake_anthropic):
    fake_anthropic.queue(tool_reply(candidates_answer(("yes", 0.95, []))))
    response = _predict(api, **STRUCTURE)
    assert response.status_code == 201, response.content
    body = response.json()
    for key, value in STRUCTURE.items():
        assert body[key] == value
    assert body["prompt_event_id"] is None
    assert (body["status"], body["escalation_reason"]) == ("auto", "")
    assert body["answered_by"] == "clone"
    assert body["answered_at"] is not None
    assert body["answer"] == "yes"
    stored = Prediction.objects.get(pk=body["id"], user=user)
    assert (stored.tool, stored.options, stored.cwd, stored.context) == tuple(STRUCTURE.values())
    detail = api.get(reverse("predictions:detail", args=[body["id"]])).json()
    assert detail == body
    assert api.get(reverse("predictions:list")).json()["results"][0] == body


def test_an_old_client_gets_the_same_prediction_with_blank_structure(api, fake_anthropic):
    fake_anthropic.queue(tool_reply(candidates_answer(("yes", 0.5, []))))
    response = _predict(api)
    assert response.status_code == 201
    body = response.json()
    assert (body["tool"], body["options"], body["cwd"], body["context"]) == (None, None, "", "")
    assert (body["status"], body["escalation_reason"]) == ("escalated", "below_threshold")
    assert (body["answered_by"], body["answered_at"], body["answer"]) == ("", None, None)


def test_a_tool_without_input_is_stored_with_an_empty_input(api, fake_anthropic):
    fake_anthropic.queue(tool_reply(candidates_answer(("yes", 0.5, []))))
    body = _predict(api, tool={"name": "WebFetch"}).json()
    assert body["tool"] == {"name": "WebFetch", "input": {}}


def test_the_prediction_links_to_the_prompt_event_it_came_from(api, user, fake_anthropic):
    prompt = event(
        "agent_prompt",
        id="cc-prompt-1",
        session_id="cc-session",
        payload={"agent": "claude-code", "text": "Bash: npm test", **STRUCTURE},
    )
    event_ingest(user=user, events=[prompt])
    fake_anthropic.queue(tool_reply(candidates_answer(("yes", 0.5, []))))
    body = _predict(api, prompt_event_id="cc-prompt-1", **STRUCTURE).json()
    assert body["prompt_event_id"] == "cc-prompt-1"
    assert Prediction.objects.get(pk=body["id"]).prompt_event.event_id == "cc-prompt-1"


def test_the_provider_receives_the_structured_request(user, fake_anthropic, monkeypatch):
    seen: list[services.PredictItem] = []
    real = services._answer

    def spy(**kwargs):
        seen.append(kwargs["item"])
        return real(**kwargs)

    monkeypatch.setattr(services, "_answer", spy)
    event_ingest(
        user=user,
        events=[
            event(
                "agent_prompt", id="p-9", session_id="sess-9", payload={"agent": "a", "text": "t"}
            )
        ],
    )
    fake_anthropic.queue(tool_reply(candidates_answer(("yes", 0.5, []))))
    services.prediction_create(
        user=user, agent="a", agent_input="t", prompt_event_id="p-9", **STRUCTURE
    )
    assert seen == [
        services.PredictItem(
            agent="a",
            agent_input="t",
            threshold=0.8,  # none named: the default, resolved before the provider is asked
            tool=TOOL,
            options=["yes", "no", "always"],
            cwd="/home/ada/shop",
            context="I updated the reports.",
            prompt_event_id="p-9",
            session_id="sess-9",
        )
    ]


def test_batch_items_carry_their_own_structure(api, fake_anthropic):
    fake_anthropic.respond_with(lambda req: tool_reply(candidates_answer(("yes", 0.5, []))))
    items = [
        {"agent": "claude-code", "agent_input": "Bash: npm test", **STRUCTURE},
        {"agent": "claude-code", "agent_input": "Deploy?"},
    ]
    response = api.post(reverse("predictions:batch"), {"items": items}, format="json")
    assert response.status_code == 201, response.content
    first, second = response.json()["results"]
    assert {k: first[k] for k in STRUCTURE} == STRUCTURE
    assert (second["tool"], second["options"], second["cwd"]) == (None, None, "")
    assert {r["escalation_reason"] for r in (first, second)} == {"below_threshold"}


BAD = {
    "tool-not-object": {"tool": "Bash"},
    "tool-no-name": {"tool": {"input": {}}},
    "tool-blank-name": {"tool": {"name": " "}},
    "tool-name-not-text": {"tool": {"name": 5}},
    "tool-input-not-object": {"tool": {"name": "Bash", "input": "ls"}},
    "tool-unknown-key": {"tool": {"name": "Bash", "args": {}}},
    "tool-input-nul": {"tool": {"name": "Bash", "input": {"command": "a\x00b"}}},
    "tool-input-huge": {"tool": {"name": "Bash", "input": {"command": "x" * 20_001}}},
    "options-not-list": {"options": "yes"},
    "options-empty": {"options": []},
    "options-blank": {"options": ["yes", " "]},
    "options-not-text": {"options": ["yes", 1]},
    "options-too-many": {"options": [f"o{i}" for i in range(21)]},
    "cwd-not-text": {"cwd": 5},
    "cwd-too-long": {"cwd": "/" * 4097},
    "context-not-text": {"context": ["x"]},
    "context-nul": {"context": "a\x00b"},
    "prompt-event-bad-id": {"prompt_event_id": "has space"},
    "prompt-event-unknown": {"prompt_event_id": "no-such-event"},
}


@pytest.mark.parametrize("body", BAD.values(), ids=BAD.keys())
def test_bad_structure_is_a_400_and_stores_nothing(api, fake_anthropic, body):
    assert_api_error(_predict(api, **body), 400, "invalid_request")
    assert not Prediction.objects.exists()
    assert fake_anthropic.requests == []


def test_a_prompt_event_that_is_not_an_agent_prompt_is_refused(api, user, fake_anthropic):
    event_ingest(user=user, events=[event("note", id="n-1", payload={"text": "x"})])
    error = assert_api_error(_predict(api, prompt_event_id="n-1"), 400, "invalid_request")
    assert error["details"][0]["field"] == "prompt_event_id"


def test_another_users_prompt_event_is_unknown(api, other_user, fake_anthropic):
    event_ingest(
        user=other_user,
        events=[event("agent_prompt", id="theirs", payload={"agent": "a", "text": "t"})],
    )
    assert_api_error(_predict(api, prompt_event_id="theirs"), 400, "invalid_request")


def test_a_bad_item_in_a_batch_names_its_index(api, fake_anthropic):
    items = [
        {"agent": "claude-code", "agent_input": "fine"},
        {"agent": "claude-code", "agent_input": "Deploy?", "prompt_event_id": "nope"},
    ]
    response = api.post(reverse("predictions:batch"), {"items": items}, format="json")
    error = assert_api_error(response, 400, "invalid_request")
    assert error["details"][0]["field"] == "items[1].prompt_event_id"
    assert not Prediction.objects.exists()


def test_the_openapi_schema_documents_the_new_fields_and_endpoints(api):
    schema = api.get(reverse("schema"), HTTP_ACCEPT="application/json").json()
    item = schema["components"]["schemas"]["PredictItemInputRequest"]["properties"]
    assert {"tool", "options", "cwd", "context", "prompt_event_id"} <= set(item)
    output = schema["components"]["schemas"]["PredictionOutput"]["properties"]
    assert {
        "tool",
        "options",
        "cwd",
        "context",
        "prompt_event_id",
        "escalation_reason",
        "answered_at",
        "answered_by",
        "answer",
    } <= set(output)
    assert "/api/predictions/inbox/" in schema["paths"]
    assert "post" in schema["paths"]["/api/predictions/{prediction_id}/answer/"]
