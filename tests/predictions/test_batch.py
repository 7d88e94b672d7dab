import re
import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from predictions.models import Prediction
from tests.fakes.anthropic import error_reply, tool_reply
from tests.helpers import assert_api_error
from tests.predictions.helpers import candidates_answer, history_with_reply

pytestmark = pytest.mark.django_db

BATCH = "predictions:batch"


def _items(n: int, **extra):
    return [
        {"agent": "claude-code", "agent_input": f"Question number {i}?", **extra} for i in range(n)
    ]


def _echo_question(request):
    """Answer each prompt with its own question number, so order can be checked."""
    text = str(request["messages"])
    number = re.search(r"Question number (\d+)\?", text).group(1)
    if "FAIL" in text:
        return error_reply(400, error_type="invalid_request_error")
    return tool_reply(candidates_answer((f"answer {number}", 0.5, [])))


def test_results_come_back_in_item_order(api, user, fake_anthropic):
    fake_anthropic.respond_with(_echo_question)
    response = api.post(reverse(BATCH), {"items": _items(12)}, format="json")
    assert response.status_code == 201, response.content
    results = response.json()["results"]
    assert [r["candidates"][0]["text"] for r in results] == [f"answer {i}" for i in range(12)]
    assert Prediction.objects.filter(user=user).count() == 12


def test_a_failed_item_is_an_error_and_the_others_succeed(api, user, fake_anthropic, settings):
    settings.CLONE_LLM_MAX_RETRIES = 0
    fake_anthropic.respond_with(_echo_question)
    items = _items(3)
    items[1]["agent_input"] = "Question number 1? FAIL"
    results = api.post(reverse(BATCH), {"items": items}, format="json").json()["results"]
    assert results[0]["candidates"][0]["text"] == "answer 0"
    assert results[1]["error"]["code"] == "llm_unavailable"
    assert results[2]["candidates"][0]["text"] == "answer 2"
    assert Prediction.objects.filter(user=user).count() == 2


def test_each_item_keeps_its_own_threshold_and_k(api, fake_anthropic):
    fake_anthropic.respond_with(
        lambda request: tool_reply(candidates_answer(("yes", 0.6, []), ("no", 0.3, [])))
    )
    items = [
        {"agent": "a", "agent_input": "Question number 0?", "threshold": 0.5, "k": 2},
        {"agent": "a", "agent_input": "Question number 1?", "threshold": 0.9, "k": 1},
    ]
    first, second = api.post(reverse(BATCH), {"items": items}, format="json").json()["results"]
    assert (first["status"], len(first["candidates"])) == ("auto", 2)
    assert (second["status"], len(second["candidates"])) == ("escalated", 1)


def test_calls_run_concurrently_and_share_a_cached_context(api, fake_anthropic, settings):
    settings.CLONE_BATCH_CONCURRENCY = 4
    in_flight, peak, lock = 0, 0, threading.Lock()
    release = threading.Barrier(4, timeout=5)

    def responder(request):
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        try:
            release.wait()  # four calls must be in flight at once, or this times out
        finally:
            with lock:
                in_flight -= 1
        return tool_reply(candidates_answer(("ok", 0.5, [])))

    fake_anthropic.respond_with(responder)
    response = api.post(reverse(BATCH), {"items": _items(8)}, format="json")
    assert response.status_code == 201
    assert peak == 4
    systems = [request["system"] for request in fake_anthropic.requests]
    assert all(any("cache_control" in block for block in system) for system in systems)
    assert len({str(system) for system in systems}) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"items": []},
        {"items": _items(101)},
        {},
        {"items": "Run tests?"},
        {"items": [{"agent": "a"}]},
        {"items": [{"agent": "a", "agent_input": "x", "k": 0}]},
    ],
    ids=["empty", "over-100", "missing", "not-a-list", "item-without-input", "item-bad-k"],
)
def test_bad_batch_is_400_as_a_whole(api, fake_anthropic, body):
    response = api.post(reverse(BATCH), body, format="json")
    assert_api_error(response, 400, "invalid_request")
    assert fake_anthropic.calls == 0


def test_one_hundred_items_are_accepted(api, settings, user):
    settings.CLONE_LLM_PROVIDER = "local"
    response = api.post(reverse(BATCH), {"items": _items(100)}, format="json")
    assert response.status_code == 201
    assert len(response.json()["results"]) == 100


def test_unsupported_model_fails_the_whole_batch(api, fake_anthropic):
    response = api.post(reverse(BATCH), {"items": _items(2), "model": "nope"}, format="json")
    assert_api_error(response, 400, "unsupported_model")
    assert fake_anthropic.calls == 0


def test_missing_key_fails_the_whole_batch(api, settings):
    settings.CLONE_LLM_PROVIDER = "anthropic"
    response = api.post(reverse(BATCH), {"items": _items(3)}, format="json")
    assert_api_error(response, 503, "llm_not_configured")
    assert Prediction.objects.count() == 0


def _batch_queries(api, n: int) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert api.post(reverse(BATCH), {"items": _items(n)}, format="json").status_code == 201
    return len(queries)


def test_context_queries_do_not_grow_with_the_batch(client_for, user, fake_anthropic):
    history_with_reply(user, prompt="Question number 3?", reply="three", n=3)
    fake_anthropic.respond_with(lambda request: tool_reply(candidates_answer(("x", 0.5, []))))
    api = client_for(user, "api_key")
    _batch_queries(api, 1)  # creates the profile
    assert _batch_queries(api, 2) == _batch_queries(api, 20)


def test_batch_threads_leave_no_database_connection_open(api, fake_anthropic):
    fake_anthropic.respond_with(lambda request: tool_reply(candidates_answer(("x", 0.5, []))))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        before = cursor.fetchone()[0]
    assert api.post(reverse(BATCH), {"items": _items(16)}, format="json").status_code == 201
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        after = cursor.fetchone()[0]
    assert after <= before


def test_relevant_replies_are_per_item(api, user, fake_anthropic):
    history_with_reply(user, prompt="Should we use pnpm or npm here?", reply="pnpm, always")
    fake_anthropic.respond_with(lambda request: tool_reply(candidates_answer(("x", 0.5, []))))
    items = [
        {"agent": "a", "agent_input": "npm or pnpm?"},
        {"agent": "a", "agent_input": "What is the capital of France?"},
    ]
    assert api.post(reverse(BATCH), {"items": items}, format="json").status_code == 201
    by_question = {
        ("npm or pnpm?" in str(r["messages"])): str(r["messages"]) for r in fake_anthropic.requests
    }
    assert "pnpm, always" in by_question[True]
    assert "pnpm, always" not in by_question[False]
