"""Faults, with nothing lost: LLM failures through the fake Messages API, and races on Postgres.

Every LLM-backed endpoint (predict, batch predict, episode and fact promotion) is driven through
HTTP into each provider fault. Each fault gives its mapped error code, leaves no row half-written
(the counts that matter are unchanged) and a later retry, once the provider is healthy, succeeds
normally.
"""

import io
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from clone_server.accounts.services import api_key_create
from memories.models import EpisodicMemory, RawMemory, SemanticMemory
from memories.promotion import episodes_promote
from memories.services import fact_create, raw_sync
from predictions.models import Prediction
from recording.services import event_ingest
from tests.factories import BASE_TIME, event
from tests.fakes.anthropic import (
    drop_connection,
    error_reply,
    refusal_reply,
    slow_reply,
    text_reply,
    tool_reply,
)
from tests.helpers import assert_api_error
from tests.predictions.helpers import candidates_answer

PROMPT = {"agent": "claude-code", "agent_input": "Run the migrations?"}
ROOMY_TIMEOUT_S = 10.0

# fault id -> (the provider's reply to every request, status, code)
FAULTS = {
    "401": (error_reply(401, error_type="authentication_error"), 502, "llm_auth_failed"),
    "429-retry-after": (
        error_reply(429, error_type="rate_limit_error", headers={"retry-after": "30"}),
        503,
        "llm_rate_limited",
    ),
    "500": (error_reply(500), 502, "llm_unavailable"),
    "529-overloaded": (error_reply(529, error_type="overloaded_error"), 502, "llm_unavailable"),
    "timeout": (slow_reply(1.5), 504, "llm_timeout"),
    "dropped-connection": (drop_connection(), 502, "llm_unavailable"),
    "schema-violating-output": (tool_reply({"unexpected": True}), 502, "llm_bad_output"),
    "no-tool-call": (text_reply("Sure! Here is my answer."), 502, "llm_bad_output"),
    "refusal": (refusal_reply(), 502, "llm_bad_output"),
}


@dataclass
class Endpoint:
    url_name: str
    body: dict
    ok_status: int
    good_answer: dict


ENDPOINTS = {
    "predict": Endpoint("predictions:predict", PROMPT, 201, candidates_answer(("yes", 0.9, []))),
    "batch-predict": Endpoint(
        "predictions:batch",
        {"items": [PROMPT, {**PROMPT, "agent_input": "Deploy now?"}]},
        201,
        candidates_answer(("yes", 0.9, [])),
    ),
    "promote-episodes": Endpoint(
        "memories:promote-episodes", {}, 200, {"title": "Migrations", "summary": "Ran them."}
    ),
    "promote-facts": Endpoint(
        "memories:promote-facts",
        {},
        200,
        {
            "new": [
                {
                    "kind": "preference",
                    "text": "Runs migrations after a backup.",
                    "importance": 0.7,
                    "tags": [],
                    "source_episode_ids": [],
                }
            ],
            "reinforce": [],
        },
    ),
}


def _state(user) -> dict[str, Any]:
    """Everything a half-finished LLM operation could have written."""
    return {
        "predictions": Prediction.objects.filter(user=user).count(),
        "episodes": EpisodicMemory.objects.filter(user=user).count(),
        "rows_in_episodes": RawMemory.objects.filter(user=user, episode__isnull=False).count(),
        "facts": list(
            SemanticMemory.objects.filter(user=user).order_by("id").values_list("id", "importance")
        ),
        "distilled": EpisodicMemory.objects.filter(user=user, distilled_at__isnull=False).count(),
    }


def _history(user, fake) -> None:
    """Raw rows waiting for an episode, and one episode waiting to be distilled."""
    event_ingest(
        user=user,
        events=[
            event("terminal_turn", session_id="done", occurred_at=BASE_TIME),
            event("note", session_id="todo", occurred_at=BASE_TIME + timedelta(days=1)),
        ],
    )
    raw_sync(user=user)
    fake.queue(tool_reply({"title": "Earlier", "summary": "Ran the tests."}))
    episodes_promote(user=user, max_rows=1)
    fact_create(user=user, text="Prefers small commits.", importance=0.5)
    fake.reset()


@pytest.mark.django_db
@pytest.mark.parametrize(("reply", "status", "code"), FAULTS.values(), ids=FAULTS.keys())
@pytest.mark.parametrize("endpoint", ENDPOINTS.values(), ids=ENDPOINTS.keys())
def test_llm_fault_maps_to_its_code_writes_nothing_and_a_retry_succeeds(
    user, client_for, fake_anthropic, settings, endpoint, reply, status, code
):
    settings.CLONE_LLM_MAX_RETRIES = 0
    # A short budget only where the fault is slowness; elsewhere a roomy one, so a loaded
    # machine cannot turn a bad answer's second attempt into a timeout.
    settings.CLONE_LLM_TIMEOUT_S = 0.3 if code == "llm_timeout" else ROOMY_TIMEOUT_S
    _history(user, fake_anthropic)
    client = client_for(user, "jwt")
    before = _state(user)
    fake_anthropic.respond_with(lambda request: reply)

    response = client.post(reverse(endpoint.url_name), endpoint.body, format="json")

    if endpoint.url_name == "predictions:batch":
        # A batch answers per item: each failed item is an error body, none is stored.
        assert response.status_code == 201, response.content[:300]
        results = response.json()["results"]
        assert [r["error"]["code"] for r in results] == [code, code]
    else:
        assert_api_error(response, status, code)
        if code == "llm_rate_limited":
            assert response["Retry-After"] == "30"
    assert _state(user) == before

    settings.CLONE_LLM_TIMEOUT_S = ROOMY_TIMEOUT_S
    fake_anthropic.respond_with(lambda request: tool_reply(endpoint.good_answer))
    retried = client.post(reverse(endpoint.url_name), endpoint.body, format="json")

    assert retried.status_code == endpoint.ok_status, retried.content[:300]
    after = _state(user)
    if endpoint.url_name == "predictions:predict":
        assert after["predictions"] == before["predictions"] + 1
    elif endpoint.url_name == "predictions:batch":
        assert after["predictions"] == before["predictions"] + 2
        assert all("error" not in r for r in retried.json()["results"])
    elif endpoint.url_name == "memories:promote-episodes":
        assert after["episodes"] == before["episodes"] + 1
        assert after["rows_in_episodes"] == before["rows_in_episodes"] + 1
    else:
        assert len(after["facts"]) == len(before["facts"]) + 1
        assert after["distilled"] == before["distilled"] + 1


@pytest.mark.django_db
def test_a_transient_fault_is_retried_inside_one_request(
    user, client_for, fake_anthropic, settings
):
    # One 529 then a good answer: the gateway's bounded retry hides it from the caller.
    settings.CLONE_LLM_MAX_RETRIES = 2
    fake_anthropic.queue(error_reply(529, error_type="overloaded_error"))
    fake_anthropic.respond_with(lambda request: tool_reply(candidates_answer(("yes", 0.9, []))))

    response = client_for(user, "jwt").post(reverse("predictions:predict"), PROMPT, format="json")

    assert response.status_code == 201
    assert fake_anthropic.calls == 2
    assert Prediction.objects.filter(user=user).count() == 1


# --- Races on real Postgres --------------------------------------------------------------------


def _run_threads(count: int, target) -> list[Any]:
    """Run ``target(slot)`` in ``count`` threads released together; each closes its connection."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    failures: list[BaseException] = []

    def run(slot: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[slot] = target(slot)
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(slot,)) for slot in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    return results


def _key_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_X_CLONE_API_KEY=api_key_create(user=user, name="race").key)
    return client


def _prediction_citing(user, fake, facts) -> int:
    fake.respond_with(
        lambda request: tool_reply(candidates_answer(("yes", 0.9, [f.id for f in facts])))
    )
    response = _key_client(user).post(reverse("predictions:predict"), PROMPT, format="json")
    assert response.status_code == 201, response.content
    assert sorted(response.json()["cited_facts"]) == sorted(f.id for f in facts)
    return response.json()["id"]


@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_feedback_flips_leave_the_importance_of_the_final_outcome(
    make_user, fake_anthropic
):
    racer, control = make_user(), make_user()
    facts = [fact_create(user=racer, text=f"Fact {i}.", importance=0.5) for i in range(2)]
    control_facts = [fact_create(user=control, text=f"Fact {i}.", importance=0.5) for i in range(2)]
    prediction_id = _prediction_citing(racer, fake_anthropic, facts)
    control_id = _prediction_citing(control, fake_anthropic, control_facts)
    url = reverse("predictions:feedback", args=[prediction_id])
    # Accepted and rejected both move importance (edited does not), in opposite directions.
    verdicts = ["accepted", "rejected"] * 4
    clients = [_key_client(racer) for _ in verdicts]

    def flip(slot: int) -> int:
        body = {"outcome": verdicts[slot]}
        if verdicts[slot] != "accepted":
            body["actual_reply"] = "no, not now"
        return clients[slot].post(url, body, format="json").status_code

    statuses = _run_threads(len(verdicts), flip)

    assert statuses == [200] * len(verdicts)
    final = Prediction.objects.get(pk=prediction_id).outcome
    # What the final outcome alone gives: the same facts, one feedback, no race.
    body = {"outcome": final, "actual_reply": "" if final == "accepted" else "no, not now"}
    control_url = reverse("predictions:feedback", args=[control_id])
    assert _key_client(control).post(control_url, body, format="json").status_code == 200
    raced = [SemanticMemory.objects.get(pk=f.pk).importance for f in facts]
    alone = [SemanticMemory.objects.get(pk=f.pk).importance for f in control_facts]
    assert raced == pytest.approx(alone, abs=1e-9)
    assert raced != pytest.approx([0.5, 0.5])  # the outcome did move them


@pytest.mark.django_db(transaction=True)
def test_fit_calibration_running_during_predictions_never_fails_a_predict(
    user, settings, unthrottled
):
    # Three threads predict as fast as they can: a flood the predict throttle would cut short.
    settings.CLONE_LLM_PROVIDER = "local"
    client = _key_client(user)
    # Labelled history, so the refit really fits (and writes the profile) each time.
    for i in range(30):
        made = client.post(
            reverse("predictions:predict"), {**PROMPT, "agent_input": f"Q{i}?"}, format="json"
        )
        assert made.status_code == 201
        outcome = "accepted" if i % 3 else "rejected"
        body = {"outcome": outcome, "actual_reply": "" if outcome == "accepted" else "no"}
        feedback_url = reverse("predictions:feedback", args=[made.json()["id"]])
        assert client.post(feedback_url, body, format="json").status_code == 200

    stop = threading.Event()
    fits: list[int] = []

    def refit(slot: int) -> int:
        if slot == 0:
            while not stop.is_set():
                call_command("fit_calibration", stdout=io.StringIO())
                fits.append(1)
            return 0
        statuses = []
        predict_client = _key_client(user)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            statuses.append(
                predict_client.post(reverse("predictions:predict"), PROMPT, format="json")
            )
            statuses.append(
                predict_client.post(
                    reverse("predictions:batch"), {"items": [PROMPT, PROMPT]}, format="json"
                )
            )
        if slot == 1:
            stop.set()
        return [response.status_code for response in statuses]

    results = _run_threads(4, refit)

    stop.set()
    codes = [code for per_thread in results[1:] for code in per_thread]
    assert codes and set(codes) == {201}, codes
    assert len(fits) >= 2  # the refits really overlapped the predictions
