import threading

import pytest
from django.db import connection
from django.urls import reverse

from memories.models import SemanticMemory
from predictions.models import Prediction
from predictions.services import prediction_create, prediction_feedback
from tests.fakes.anthropic import tool_reply
from tests.helpers import assert_api_error
from tests.predictions.helpers import a_fact, candidates_answer

pytestmark = pytest.mark.django_db


def _cited_prediction(user, fake_anthropic, *facts, confidence=0.7):
    fake_anthropic.queue(tool_reply(candidates_answer(("yes", confidence, [f.id for f in facts]))))
    return prediction_create(user=user, agent="claude-code", agent_input="Run the tests?")


def _feedback(api, prediction_id, outcome, reply=""):
    body = {"outcome": outcome}
    if reply:
        body["actual_reply"] = reply
    return api.post(
        reverse("predictions:feedback", kwargs={"prediction_id": prediction_id}),
        body,
        format="json",
    )


def _importance(fact) -> float:
    return SemanticMemory.objects.get(pk=fact.pk).importance


@pytest.mark.parametrize(
    ("outcome", "reply", "expected"),
    [("accepted", "", 0.54), ("edited", "yes, but only unit tests", 0.5), ("rejected", "no", 0.42)],
    ids=["accepted", "edited", "rejected"],
)
def test_feedback_records_outcome_and_moves_cited_facts(
    api, user, fake_anthropic, outcome, reply, expected
):
    fact = a_fact(user)
    prediction = _cited_prediction(user, fake_anthropic, fact)
    response = _feedback(api, prediction.id, outcome, reply)
    assert response.status_code == 200, response.content
    assert response.json()["outcome"] == outcome
    assert response.json()["actual_reply"] == reply
    assert _importance(fact) == pytest.approx(expected)


def test_flip_accepted_to_rejected_reverses_the_confirmation(api, user, fake_anthropic):
    fact = a_fact(user)
    prediction = _cited_prediction(user, fake_anthropic, fact)
    _feedback(api, prediction.id, "accepted")
    assert _importance(fact) == pytest.approx(0.54)
    _feedback(api, prediction.id, "rejected", "no")
    assert _importance(fact) == pytest.approx(0.42)
    _feedback(api, prediction.id, "edited", "maybe later")
    assert _importance(fact) == pytest.approx(0.5)


def test_same_outcome_twice_changes_nothing(api, user, fake_anthropic):
    fact = a_fact(user)
    prediction = _cited_prediction(user, fake_anthropic, fact)
    _feedback(api, prediction.id, "rejected", "no")
    _feedback(api, prediction.id, "rejected", "no")
    assert _importance(fact) == pytest.approx(0.42)


def test_clamped_flip_leaves_no_drift(api, user, fake_anthropic):
    fact = a_fact(user, importance=0.03)
    prediction = _cited_prediction(user, fake_anthropic, fact)
    _feedback(api, prediction.id, "rejected", "no")
    assert _importance(fact) == 0.0
    _feedback(api, prediction.id, "accepted")
    assert _importance(fact) == pytest.approx(0.07)  # 0.03 back, then +0.04


def test_a_fact_deleted_after_the_prediction_is_skipped(api, user, fake_anthropic):
    kept, deleted = a_fact(user, "kept"), a_fact(user, "deleted")
    prediction = _cited_prediction(user, fake_anthropic, kept, deleted)
    deleted.delete()
    assert _feedback(api, prediction.id, "accepted").status_code == 200
    assert _importance(kept) == pytest.approx(0.54)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"outcome": "maybe"},
        {"outcome": "edited"},
        {"outcome": "rejected", "actual_reply": "   "},
        {"outcome": "accepted", "actual_reply": "x" * 20001},
        {"outcome": "rejected", "actual_reply": "no\x00"},
    ],
    ids=["empty", "unknown-outcome", "edited-no-reply", "rejected-blank", "too-long", "nul"],
)
def test_bad_feedback_is_400_and_changes_nothing(api, user, fake_anthropic, body):
    fact = a_fact(user)
    prediction = _cited_prediction(user, fake_anthropic, fact)
    response = api.post(
        reverse("predictions:feedback", kwargs={"prediction_id": prediction.id}),
        body,
        format="json",
    )
    assert_api_error(response, 400, "invalid_request")
    assert Prediction.objects.get(pk=prediction.pk).outcome is None
    assert _importance(fact) == 0.5


def test_another_users_prediction_is_404_everywhere(api, other_user, fake_anthropic):
    fact = a_fact(other_user)
    theirs = _cited_prediction(other_user, fake_anthropic, fact)
    detail = api.get(reverse("predictions:detail", kwargs={"prediction_id": theirs.id}))
    feedback = _feedback(api, theirs.id, "rejected", "no")
    assert detail.status_code == 404
    assert_api_error(feedback, 404, "not_found")
    assert Prediction.objects.get(pk=theirs.pk).outcome is None
    assert _importance(fact) == 0.5
    assert theirs.id not in [
        p["id"] for p in api.get(reverse("predictions:list")).json()["results"]
    ]


@pytest.mark.django_db(transaction=True)
def test_concurrent_flips_apply_only_the_final_outcome(user, fake_anthropic):
    fact = a_fact(user)
    prediction = _cited_prediction(user, fake_anthropic, fact)
    outcomes = ["accepted", "rejected"] * 4
    start = threading.Barrier(len(outcomes))
    errors: list[Exception] = []

    def flip(outcome):
        try:
            start.wait()
            prediction_feedback(
                user=user, prediction_id=prediction.id, outcome=outcome, actual_reply="r"
            )
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=flip, args=(o,)) for o in outcomes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    final = Prediction.objects.get(pk=prediction.pk).outcome
    assert _importance(fact) == pytest.approx({"accepted": 0.54, "rejected": 0.42}[final])


def test_list_filters_and_order(api, user, fake_anthropic):
    fake_anthropic.respond_with(lambda request: tool_reply(candidates_answer(("yes", 0.9, []))))
    first = prediction_create(user=user, agent="cursor", agent_input="a?", threshold=0.5)
    second = prediction_create(user=user, agent="claude-code", agent_input="b?", threshold=0.95)
    prediction_feedback(user=user, prediction_id=first.id, outcome="accepted")

    def ids(**params):
        response = api.get(reverse("predictions:list"), params)
        assert response.status_code == 200
        return [p["id"] for p in response.json()["results"]]

    assert ids() == [second.id, first.id]
    assert ids(status="auto") == [first.id]
    assert ids(status="escalated") == [second.id]
    assert ids(outcome="accepted") == [first.id]
    assert ids(outcome="none") == [second.id]
    assert ids(agent="cursor") == [first.id]
    bad = api.get(reverse("predictions:list"), {"status": "sideways"})
    assert bad.status_code == 400


def test_list_is_a_constant_number_of_queries(
    client_for, user, fake_anthropic, django_assert_max_num_queries
):
    fake_anthropic.respond_with(lambda request: tool_reply(candidates_answer(("yes", 0.9, []))))
    for i in range(12):
        prediction_create(user=user, agent="a", agent_input=f"q{i}?")
    api = client_for(user, "jwt")
    with django_assert_max_num_queries(3):  # auth is stateless; count + page
        assert len(api.get(reverse("predictions:list")).json()["results"]) == 12


def test_hand_written_output_equals_the_declared_fields(user, fake_anthropic):
    from rest_framework import serializers

    from predictions.serializers import PredictionOutput

    fact = a_fact(user)
    prediction = _cited_prediction(user, fake_anthropic, fact)
    prediction_feedback(user=user, prediction_id=prediction.id, outcome="edited", actual_reply="ok")
    prediction.refresh_from_db()
    declared = serializers.ModelSerializer.to_representation(PredictionOutput(), prediction)
    assert PredictionOutput(prediction).data == declared
    assert PredictionOutput([prediction], many=True).data == [declared]
