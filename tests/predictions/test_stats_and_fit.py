import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from memories.selectors import profile_get
from predictions import confidence as gate
from predictions.calibration import platt_fit
from predictions.services import prediction_create, prediction_feedback
from tests.fakes.anthropic import tool_reply
from tests.predictions.helpers import candidates_answer

pytestmark = pytest.mark.django_db


def _labelled(user, fake_anthropic, rows, threshold=0.5):
    """Create one prediction per (raw confidence, outcome) row, with feedback."""
    made = []
    for confidence, outcome in rows:
        fake_anthropic.queue(tool_reply(candidates_answer(("yes", confidence, []))))
        prediction = prediction_create(
            user=user, agent="a", agent_input="Ship it?", threshold=threshold
        )
        if outcome:
            prediction_feedback(
                user=user,
                prediction_id=prediction.id,
                outcome=outcome,
                actual_reply="" if outcome == "accepted" else "no",
            )
        made.append(prediction)
    return made


def test_stats_arithmetic(api, user, fake_anthropic):
    _labelled(
        user,
        fake_anthropic,
        [(0.9, "accepted"), (0.8, "edited"), (0.3, "rejected"), (0.35, "accepted"), (0.6, None)],
    )
    body = api.get(reverse("predictions:stats")).json()
    assert body["totals"]["all"] == 5
    assert body["totals"]["status"] == {"auto": 3, "escalated": 2}
    assert body["totals"]["outcome"] == {"accepted": 2, "edited": 1, "rejected": 1, "none": 1}
    assert body["labelled"] == 4
    # labels 1, 0.5, 0, 1 -> mean 2.5 / 4
    assert body["acceptance_rate"] == pytest.approx(0.625)
    # auto (>= 0.5): 0.9 accepted, 0.8 edited -> (1 + 0.5) / 2
    assert body["auto_precision"] == pytest.approx(0.75)
    # brier: (0.1^2 + 0.3^2 + 0.3^2 + 0.65^2) / 4 = (0.01 + 0.09 + 0.09 + 0.4225) / 4
    assert body["brier"]["raw"] == pytest.approx(0.153125)
    # No fit below 5 labels: calibrated == raw up to the prior's cap (0.9 -> PRIOR_CAP).
    assert body["brier"]["calibrated"] == pytest.approx(
        ((1 - min(0.9, gate.PRIOR_CAP)) ** 2 + 0.09 + 0.09 + 0.4225) / 4
    )
    # ECE bins: 9 -> {0.9: 1}, 8 -> {0.8: 0.5}, 3 -> {0.3: 0, 0.35: 1}
    # = (1 * 0.1 + 1 * 0.3 + 2 * |0.325 - 0.5|) / 4 = (0.1 + 0.3 + 0.35) / 4
    assert body["ece"]["raw"] == pytest.approx(0.1875)
    bins = {b["bin"]: b for b in body["reliability"]}
    assert len(bins) == 10
    assert bins[3]["count"] == 2
    assert bins[3]["mean_confidence"] == pytest.approx(0.325)
    assert bins[3]["mean_label"] == pytest.approx(0.5)
    assert bins[0]["count"] == 0
    assert body["calibration"]["method"] == "identity"


def test_stats_for_a_new_user_are_empty_not_errors(api):
    body = api.get(reverse("predictions:stats")).json()
    assert body["totals"]["all"] == 0
    assert body["acceptance_rate"] is None
    assert body["brier"] == {"raw": None, "calibrated": None}


def test_stats_are_per_user(api, other_user, fake_anthropic):
    _labelled(other_user, fake_anthropic, [(0.9, "accepted")])
    assert api.get(reverse("predictions:stats")).json()["totals"]["all"] == 0


def test_fit_calibration_fits_and_predict_applies_it(api, user, make_user, fake_anthropic):
    # Overconfident: high raw confidence is right only half the time.
    rows = [(0.9, "accepted"), (0.9, "rejected")] * 5 + [(0.2, "rejected")] * 4
    _labelled(user, fake_anthropic, rows)
    bystander = make_user()
    out = io.StringIO()
    call_command("fit_calibration", stdout=out)
    stored = profile_get(user=user).calibration
    expected = platt_fit(
        scores=[r for r, _ in rows], labels=[1.0 if o == "accepted" else 0.0 for _, o in rows]
    )
    assert stored["method"] == "platt"
    assert stored["n"] == len(rows)
    assert stored["a"] == pytest.approx(expected.a)
    assert stored["b"] == pytest.approx(expected.b)
    assert stored["fitted_at"]
    assert f"{user.username}: platt" in out.getvalue()
    assert "Refitted 1 user(s)" in out.getvalue()
    assert profile_get(user=bystander).calibration == {}

    fake_anthropic.queue(tool_reply(candidates_answer(("yes", 0.9, []))))
    body = api.post(
        reverse("predictions:predict"),
        {"agent": "a", "agent_input": "Ship it?", "threshold": 0.8},
        format="json",
    ).json()
    assert body["raw_confidence"] == pytest.approx(0.9)
    assert body["confidence"] == pytest.approx(gate.calibrated(calibration=expected, raw=0.9))
    assert body["confidence"] < 0.8
    assert body["status"] == "escalated"


def test_fit_calibration_below_five_labels_is_identity(user, fake_anthropic):
    _labelled(user, fake_anthropic, [(0.9, "accepted")] * 4)
    call_command("fit_calibration", "--user", user.username, stdout=io.StringIO())
    assert profile_get(user=user).calibration["method"] == "identity"


def test_fit_calibration_for_an_unknown_user_fails_clearly():
    with pytest.raises(CommandError, match="No user named"):
        call_command("fit_calibration", "--user", "nobody", stdout=io.StringIO())
