"""The life of a hook request under concurrency (predictions.integrations.requests), on real
Postgres with real transactions: a model slower than the hook's deadline never holds up another
hook of the same session, the slow hook's answer is the safe one, and its late prediction is
judged by the person's reply once both exist."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connections
from django.urls import reverse
from rest_framework.test import APIClient

from clone_server.accounts.services import api_key_create
from predictions.integrations import requests as agent_requests
from predictions.models import AgentRequest, Prediction
from recording.models import Event
from tests.fakes.anthropic import slow_reply, tool_reply
from tests.predictions.helpers import candidates_answer
from tests.predictions.integrations.helpers import hook_body

URL = "integrations:claude-code-hooks"
DEADLINE_MS = 600
SLOW_S = 3.0


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_X_CLONE_API_KEY=api_key_create(user=user, name="hook").key)
    return client


def _timed_post(client: APIClient, body: dict) -> tuple[dict, float]:
    started = time.monotonic()
    try:
        response = client.post(reverse(URL), body, format="json")
    finally:
        connections.close_all()  # this thread's connection; the test database is dropped later
    assert response.status_code == 200, response.content
    return response.json(), (time.monotonic() - started) * 1000


def _slow_then_fast(fake, *, slow_command: str):
    """The model takes SLOW_S for ``slow_command`` (and would answer a confident "yes": an
    automatic allow, had it come in time), and answers everything else at once."""

    def respond(request):
        # Only the request being asked about (earlier prompts appear in the context too).
        asked = str(request["messages"]).rsplit("now asks:", 1)[-1]
        delay = SLOW_S if slow_command in asked else 0.0
        return slow_reply(delay, then=tool_reply(candidates_answer(("yes", 0.99, []))))

    fake.respond_with(respond)


def _wait_for(condition, timeout: float = 10.0) -> None:
    until = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < until, "timed out waiting"
        time.sleep(0.02)


@pytest.fixture
def deadline(settings):
    settings.CLONE_HOOK_DEADLINE_MS = DEADLINE_MS
    return DEADLINE_MS


@pytest.mark.django_db(transaction=True)
def test_parallel_hook_answers_within_the_deadline_while_another_waits_for_a_slow_model(
    user, fake_anthropic, deadline
):
    """Two calls of one turn (parallel tool calls), asked at once: the first one's model is slow;
    the second hook is answered in time all the same, and the slow one gets no decision."""
    _slow_then_fast(fake_anthropic, slow_command="make slow")
    results: dict[str, tuple[dict, float]] = {}

    def first() -> None:
        results["slow"] = _timed_post(
            _client(user), hook_body("PermissionRequest", turn="t1", command="make slow")
        )

    thread = threading.Thread(target=first)
    thread.start()
    # The slow request is recorded and its model call is under way.
    _wait_for(lambda: len(fake_anthropic.requests) == 1)
    results["fast"] = _timed_post(
        _client(user), hook_body("PermissionRequest", turn="t1", command="make fast")
    )
    thread.join()

    fast_answer, fast_ms = results["fast"]
    slow_answer, slow_ms = results["slow"]
    assert fast_ms < deadline, fast_ms
    assert fast_answer["hookSpecificOutput"]["decision"]["behavior"] == "allow"
    assert slow_answer == {}  # the deadline passed: the person is asked, never an allow
    assert deadline <= slow_ms < SLOW_S * 1000, slow_ms
    slow = AgentRequest.objects.get(user=user, tool__input__command="make slow")
    assert (slow.state, slow.decision) == ("asked", "")


@pytest.mark.django_db(transaction=True)
def test_hook_after_a_late_prediction_answers_within_the_deadline_and_the_late_one_is_judged(
    user, fake_anthropic, deadline
):
    """The bench's case: a hook answered ``{}`` at its deadline while its model call goes on; the
    session's next hook (a new turn: the earlier request never ran, so it was refused) answers
    in time, does not wait for that call, and the late prediction, once it comes, is judged by
    the person's "no" and marked answered by them."""
    _slow_then_fast(fake_anthropic, slow_command="make slow")
    client = _client(user)
    answer, slow_ms = _timed_post(
        client, hook_body("PermissionRequest", turn="t1", command="make slow")
    )
    assert answer == {}
    assert slow_ms < SLOW_S * 1000
    late = AgentRequest.objects.get(user=user, tool__input__command="make slow")
    assert late.prediction_id is None  # the model call is still running

    answer, next_ms = _timed_post(
        client, hook_body("PermissionRequest", turn="t2", command="make next")
    )
    print("NEXTMS", next_ms, slow_ms)
    assert next_ms < deadline, next_ms
    assert answer["hookSpecificOutput"]["decision"]["behavior"] == "allow"
    late.refresh_from_db()
    assert (late.state, late.reply, late.prediction_id) == ("answered", "no", None)

    _wait_for(lambda: AgentRequest.objects.get(pk=late.pk).prediction_id is not None)
    prediction = Prediction.objects.get(pk=AgentRequest.objects.get(pk=late.pk).prediction_id)
    assert (prediction.outcome, prediction.actual_reply) == ("rejected", "no")
    assert prediction.answered_by == "person"
    assert prediction.answered_at is not None
    # The reply was recorded once, with the id derived from the hook.
    replies = Event.objects.filter(user=user, kind="user_reply")
    assert [r.event_id for r in replies] == [f"{late.prompt_event_id}-reply"]


@pytest.mark.django_db(transaction=True)
def test_settling_leaves_a_request_another_hook_is_settling_to_it(user):
    """``requests_settle`` does not wait on a request row another request holds."""
    request = agent_requests.request_announce(
        user=user,
        agent="claude-code",
        session_key="s-1",
        tool_use_id="toolu_1",
        turn_key="t1",
        tool={"name": "Bash", "input": {"command": "make a"}},
    )
    AgentRequest.objects.filter(pk=request.pk).update(state="asked", prompt_recorded=True)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        from django.db import transaction

        try:
            with transaction.atomic():
                AgentRequest.objects.select_for_update().get(pk=request.pk)
                holding.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=hold)
    thread.start()
    holding.wait(10)
    started = time.monotonic()
    try:
        refused = agent_requests.requests_settle(user=user, agent="claude-code", session_key="s-1")
    finally:
        release.set()
        thread.join()
    assert (time.monotonic() - started) < 1.0
    assert refused == 0
    assert AgentRequest.objects.get(pk=request.pk).state == "asked"  # left for the holder
