"""GET /api/predictions/stats/trust/: reliability raw and calibrated, coverage vs threshold."""

import pytest
from django.urls import reverse

from predictions.models import Prediction
from predictions.selectors import TRUST_THRESHOLDS
from predictions.services import prediction_create, prediction_feedback
from tests.fakes.anthropic import tool_reply
from tests.helpers import assert_api_error
from tests.predictions.helpers import candidates_answer

pytestmark = pytest.mark.django_db


def _labelled(user, fake_anthropic, rows):
    for confidence, outcome in rows:
        fake_anthropic.queue(tool_reply(candidates_answer(("yes", confidence, []))))
        prediction = prediction_create(user=user, agent="a", agent_input="Ship it?")
        if outcome:
            prediction_feedback(
                user=user,
                prediction_id=prediction.id,
                outcome=outcome,
                actual_reply="" if outcome == "accepted" else "no",
            )


def test_no_labels_gives_empty_bins_and_no_coverage(api):
    body = api.get(reverse("predictions:trust")).json()
    assert body["labelled"] == 0
    assert body["threshold"] == 0.8
    assert body["agent_thresholds"] == {}
    assert [b["count"] for b in body["reliability"]["raw"]] == [0] * 10
    assert [b["count"] for b in body["reliability"]["calibrated"]] == [0] * 10
    assert [p["threshold"] for p in body["coverage"]] == list(TRUST_THRESHOLDS)
    assert all(p["coverage"] is None and p["n_auto"] == 0 for p in body["coverage"])


def test_bins_and_coverage_over_labelled_predictions(api, user, fake_anthropic):
    _labelled(
        user,
        fake_anthropic,
        [(0.92, "accepted"), (0.82, "edited"), (0.31, "rejected"), (0.36, "accepted"), (0.6, None)],
    )
    body = api.get(reverse("predictions:trust")).json()
    assert body["labelled"] == 4
    raw = {b["bin"]: b for b in body["reliability"]["raw"]}
    assert (raw[9]["count"], raw[8]["count"], raw[3]["count"]) == (1, 1, 2)
    assert raw[3]["mean_label"] == pytest.approx(0.5)
    # The calibrated diagram and the coverage use the confidence the person was shown.
    shown = list(
        Prediction.objects.filter(user=user, outcome__isnull=False).values_list(
            "confidence", "outcome"
        )
    )
    assert sum(b["count"] for b in body["reliability"]["calibrated"]) == 4
    for point in body["coverage"]:
        through = [o for c, o in shown if c >= point["threshold"]]
        assert point["n_auto"] == len(through)
        assert point["coverage"] == pytest.approx(len(through) / 4)
        if not through:
            assert point["precision"] is None
    assert body["coverage"][-1] == {
        "threshold": 0.99,
        "coverage": 0.0,
        "precision": None,
        "n_auto": 0,
    }


def test_another_users_predictions_are_not_counted(client_for, other_user, user, fake_anthropic):
    _labelled(user, fake_anthropic, [(0.9, "accepted")])
    body = client_for(other_user, "jwt").get(reverse("predictions:trust")).json()
    assert body["labelled"] == 0


def test_the_persons_agent_thresholds_are_drawn(api, user):
    profile = api.patch(
        reverse("memories:profile"), {"agent_thresholds": {"claude-code": 0.93}}, format="json"
    )
    assert profile.status_code == 200, profile.content
    body = api.get(reverse("predictions:trust")).json()
    assert body["agent_thresholds"] == {"claude-code": 0.93}
    assert 0.93 in [p["threshold"] for p in body["coverage"]]


def test_few_queries_for_the_figures(api, user, fake_anthropic, django_assert_max_num_queries):
    _labelled(user, fake_anthropic, [(0.9, "accepted"), (0.7, "rejected")])
    # A constant: auth (key lookup, last-used stamp), the profile (created on first use, in a
    # savepoint), the labelled rows; none per prediction.
    with django_assert_max_num_queries(8):
        assert api.get(reverse("predictions:trust")).status_code == 200


def test_anonymous_is_401(anon_client):
    response = anon_client.get(reverse("predictions:trust"))
    assert_api_error(response, 401, "not_authenticated")
