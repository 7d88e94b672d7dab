import math

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from memories.selectors import profile_get
from memories.services import profile_calibration_set, raw_sync
from predictions import confidence as gate
from predictions.models import Prediction
from predictions.services import calibration_refit
from recording.services import event_ingest
from tests.factories import event
from tests.fakes.anthropic import error_reply, tool_reply
from tests.helpers import assert_api_error
from tests.predictions.helpers import (
    a_fact,
    candidates_answer,
    history_with_reply,
    labelled_predictions,
)

pytestmark = pytest.mark.django_db

PREDICT = "predictions:predict"


def _predict(api, **body):
    return api.post(
        reverse(PREDICT),
        {"agent": "claude-code", "agent_input": "Run the test suite?", **body},
        format="json",
    )


def test_confident_answer_is_auto_and_stored_with_usage(api, user, fake_anthropic):
    fact = a_fact(user)
    fake_anthropic.queue(
        tool_reply(
            candidates_answer(("yes", 0.9, [fact.id, 987654]), ("no", 0.1, [])),
            usage={"input_tokens": 321, "output_tokens": 45},
        )
    )
    response = _predict(api, threshold=0.8, k=2)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "auto"
    # No fit yet: the prior takes the raw score at its word, up to PRIOR_CAP.
    assert body["confidence"] == pytest.approx(min(0.9, gate.PRIOR_CAP))
    assert body["raw_confidence"] == pytest.approx(0.9)
    assert [c["text"] for c in body["candidates"]] == ["yes", "no"]
    assert body["cited_facts"] == [fact.id]  # the made-up id is dropped
    assert body["usage"]["input_tokens"] == 321
    assert body["usage"]["output_tokens"] == 45
    assert body["model"] == "claude-sonnet-4-6"
    stored = Prediction.objects.get(pk=body["id"], user=user)
    assert stored.raw_confidence == pytest.approx(0.9)
    assert stored.usage["input_tokens"] == 321
    assert stored.cited_facts == [fact.id]


@pytest.mark.parametrize(
    ("threshold", "status"),
    [(0.69, "auto"), (0.7, "auto"), (0.71, "escalated")],
    ids=["below", "equal", "above"],
)
def test_status_compares_calibrated_top_with_threshold(api, fake_anthropic, threshold, status):
    fake_anthropic.queue(tool_reply(candidates_answer(("yes", 0.7, []))))
    response = _predict(api, threshold=threshold)
    assert response.status_code == 201
    assert response.json()["status"] == status


def test_user_calibration_is_applied_to_every_candidate_and_reorders(api, user, fake_anthropic):
    profile_calibration_set(
        user=user, calibration={"method": "platt", "a": 4.0, "b": -2.0, "n": 50, "fitted_at": None}
    )
    fake_anthropic.queue(tool_reply(candidates_answer(("maybe", 0.3, []), ("yes", 0.6, []))))
    body = _predict(api, threshold=0.5, k=2).json()

    def calibrated(x):
        # Platt on 50 labels, shrunk toward the prior by PRIOR_LABELS (docs/confidence.md).
        weight = 50 / (50 + gate.PRIOR_LABELS)
        return weight / (1 + math.exp(-(4 * x - 2))) + (1 - weight) * min(x, gate.PRIOR_CAP)

    assert [c["text"] for c in body["candidates"]] == ["yes", "maybe"]
    assert body["candidates"][0]["confidence"] == pytest.approx(calibrated(0.6))
    assert body["candidates"][1]["confidence"] == pytest.approx(calibrated(0.3))
    assert body["confidence"] == pytest.approx(calibrated(0.6))
    assert body["raw_confidence"] == pytest.approx(0.6)
    assert body["status"] == "auto"


def test_a_fit_on_low_raw_scores_cannot_lift_a_higher_one_above_its_range_top(
    api, user, fake_anthropic
):
    # 45 labels on raw scores 0.1-0.4, acceptance rising steeply with the score.
    rows = [(0.1, "rejected")] * 15 + [(0.2, "rejected")] * 8 + [(0.2, "accepted")] * 2
    rows += [(0.3, "accepted")] * 3 + [(0.3, "rejected")] * 7
    rows += [(0.4, "accepted")] * 6 + [(0.4, "rejected")] * 4
    labelled_predictions(user, fake_anthropic, rows)
    fit = calibration_refit(user=user)
    stored = profile_get(user=user).calibration
    assert (stored["raw_min"], stored["raw_max"]) == (0.1, 0.4)
    assert fit.n == 45 and fit.a > 5  # steep: unclamped, sigmoid(a*0.9 + b) is above 0.99

    fake_anthropic.queue(tool_reply(candidates_answer(("yes", 0.9, []))))
    body = _predict(api, threshold=0.8).json()

    # The Platt term is its value at the range top, 0.4; the prior still reads the raw 0.9.
    weight = 45 / (45 + gate.PRIOR_LABELS)
    top = 1 / (1 + math.exp(-(fit.a * 0.4 + fit.b)))
    assert body["confidence"] == pytest.approx(weight * top + (1 - weight) * gate.PRIOR_CAP)
    unclamped = weight / (1 + math.exp(-(fit.a * 0.9 + fit.b))) + (1 - weight) * gate.PRIOR_CAP
    assert body["confidence"] < 0.7 < 0.95 < unclamped
    assert body["status"] == "escalated"


def test_the_request_carries_relevant_past_replies(api, user, fake_anthropic):
    history_with_reply(
        user, prompt="Should I run the whole test suite now?", reply="yes, all of it"
    )
    fake_anthropic.queue(tool_reply(candidates_answer(("yes, all of it", 0.8, []))))
    assert _predict(api).status_code == 201
    sent = str(fake_anthropic.requests[0])
    assert "yes, all of it" in sent
    assert "Should I run the whole test suite now?" in sent


@pytest.mark.parametrize(
    ("reply", "status", "code"),
    [
        (error_reply(401, error_type="authentication_error"), 502, "llm_auth_failed"),
        (error_reply(429, headers={"retry-after": "30"}), 503, "llm_rate_limited"),
        (error_reply(500), 502, "llm_unavailable"),
        (error_reply(529, error_type="overloaded_error"), 502, "llm_unavailable"),
    ],
    ids=["401", "429", "500", "529"],
)
def test_provider_failures_map_to_clear_errors_and_store_nothing(
    api, fake_anthropic, settings, reply, status, code
):
    settings.CLONE_LLM_MAX_RETRIES = 0
    fake_anthropic.respond_with(lambda request: reply)
    response = _predict(api)
    assert_api_error(response, status, code)
    if code == "llm_rate_limited":
        assert response["Retry-After"] == "30"
    assert Prediction.objects.count() == 0


def test_invalid_model_output_twice_is_bad_output_and_stores_nothing(api, fake_anthropic):
    fake_anthropic.respond_with(lambda request: tool_reply({"candidates": "not a list"}))
    response = _predict(api)
    assert_api_error(response, 502, "llm_bad_output")
    assert Prediction.objects.count() == 0


def test_missing_key_is_not_configured(api, settings):
    settings.CLONE_LLM_PROVIDER = "anthropic"
    settings.ANTHROPIC_API_KEY = ""
    response = _predict(api)
    assert_api_error(response, 503, "llm_not_configured")
    assert Prediction.objects.count() == 0


def test_model_outside_allow_list_is_rejected(api, fake_anthropic):
    response = _predict(api, model="gpt-4")
    assert_api_error(response, 400, "unsupported_model")
    assert fake_anthropic.calls == 0


def test_chosen_model_is_used_and_reported(api, fake_anthropic):
    fake_anthropic.queue(tool_reply(candidates_answer(("yes", 0.5, []))))
    body = _predict(api, model="claude-haiku-4-5").json()
    assert body["model"] == "claude-haiku-4-5"
    assert fake_anthropic.requests[0]["model"] == "claude-haiku-4-5"


@pytest.mark.parametrize(
    "body",
    [
        {"agent_input": "Run tests?"},
        {"agent": "claude-code"},
        {"agent": "claude-code", "agent_input": "   "},
        {"agent": "claude-code", "agent_input": "x", "threshold": 1.5},
        {"agent": "claude-code", "agent_input": "x", "threshold": -0.1},
        {"agent": "claude-code", "agent_input": "x", "threshold": "high"},
        {"agent": "claude-code", "agent_input": "x", "k": 0},
        {"agent": "claude-code", "agent_input": "x", "k": 11},
        {"agent": "claude-code", "agent_input": "x", "k": 2.5},
        {"agent": "a" * 201, "agent_input": "x"},
        {"agent": "claude-code", "agent_input": "bad\x00byte"},
        [],
    ],
    ids=[
        "no-agent",
        "no-input",
        "blank-input",
        "threshold-high",
        "threshold-negative",
        "threshold-text",
        "k-zero",
        "k-eleven",
        "k-fraction",
        "agent-too-long",
        "nul-byte",
        "array-body",
    ],
)
def test_bad_predict_input_is_400_and_stores_nothing(api, fake_anthropic, body):
    response = api.post(reverse(PREDICT), body, format="json")
    assert_api_error(response, 400, "invalid_request")
    assert fake_anthropic.calls == 0
    assert Prediction.objects.count() == 0


def test_predict_needs_credentials(anon_client):
    response = anon_client.post(reverse(PREDICT), {"agent": "a", "agent_input": "b"}, format="json")
    assert_api_error(response, 401, "not_authenticated")


def test_local_provider_answers_from_history_without_a_key(api, user, settings):
    settings.CLONE_LLM_PROVIDER = "local"
    history_with_reply(user, prompt="Run the test suite?", reply="yes, run it", n=4)
    body = _predict(api).json()
    assert body["model"] == "local"
    assert body["candidates"][0]["text"] == "yes, run it"
    assert 0 < body["raw_confidence"] <= 1


def _relevance_reads(queries) -> int:
    """How many of the captured queries are the relevance search (its window of answered
    prompts, ``memories.relevance``)."""
    return sum("WITH win AS MATERIALIZED" in q["sql"] for q in queries.captured_queries)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the Postgres relevance statement")
def test_a_structured_request_the_decisions_answer_reads_no_neighbours(api, user, settings):
    """The local provider answers a request with a tool from the person's decisions; the
    relevance search runs only when those say nothing (then the text predictor answers)."""
    settings.CLONE_LLM_PROVIDER = "local"
    bash = {"tool": {"name": "Bash", "input": {"command": "npm test"}}, "options": ["yes", "no"]}
    for _ in range(3):
        asked = event("agent_prompt", payload={"agent": "claude-code", "text": "Bash", **bash})
        answer = event("user_reply", payload={"text": "yes", "in_reply_to": asked["id"]})
        event_ingest(user=user, events=[asked, answer])
    raw_sync(user=user)
    assert _predict(api).status_code == 201  # the first predict creates the profile
    with CaptureQueriesContext(connection) as structured:
        body = _predict(api, agent_input="Bash: npm test", **bash).json()
    assert body["candidates"][0]["text"] == "yes"
    assert "approved `npm test` 3 of 3 times" in body["candidates"][0]["reasoning"]
    assert _relevance_reads(structured) == 0
    # Another agent's first request: no decision of this agent bears on it.
    with CaptureQueriesContext(connection) as fallback:
        response = _predict(api, agent="codex", agent_input="Run the test suite?", **bash)
    assert response.status_code == 201
    assert _relevance_reads(fallback) == 1
    with CaptureQueriesContext(connection) as text:
        assert _predict(api, agent_input="Bash: npm test").status_code == 201
    assert _relevance_reads(text) == 1
    assert len(structured.captured_queries) == len(text.captured_queries) - 1


def _predict_queries(api, fake_anthropic) -> int:
    fake_anthropic.queue(tool_reply(candidates_answer(("yes", 0.5, []))))
    with CaptureQueriesContext(connection) as queries:
        assert _predict(api).status_code == 201
    return len(queries)


def test_queries_per_predict_do_not_grow_with_memory(client_for, user, fake_anthropic):
    api = client_for(user, "jwt")
    _predict_queries(api, fake_anthropic)  # the first call creates the profile
    small = _predict_queries(api, fake_anthropic)
    for i in range(30):
        a_fact(user, text=f"Fact number {i}")
    history_with_reply(user, prompt="Run the test suite?", reply="yes", n=25)
    assert _predict_queries(api, fake_anthropic) == small
