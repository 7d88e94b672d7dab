"""When Clone may answer by itself: shrinkage, evidence cap, thin evidence, never-auto, audit."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from memories.services import profile_calibration_set, raw_sync
from predictions import confidence as gate
from predictions.calibration import IDENTITY, Calibration
from predictions.models import Prediction
from predictions.services import (
    PredictItem,
    prediction_batch_create,
    prediction_create,
    prediction_feedback,
)
from recording.services import event_ingest

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_a_fit_on_few_labels_is_shrunk_toward_the_prior():
    platt = Calibration("platt", 10.0, -2.0, 5)
    trusted = Calibration("platt", 10.0, -2.0, 5000)
    assert platt.apply(0.95) > 0.99
    few = gate.calibrated(calibration=platt, raw=0.95)
    many = gate.calibrated(calibration=trusted, raw=0.95)
    assert few == pytest.approx(5 / 15 * platt.apply(0.95) + 10 / 15 * gate.PRIOR_CAP)
    assert few < 0.93 < many


def test_without_a_fit_the_raw_score_is_taken_up_to_the_prior_cap():
    assert gate.calibrated(calibration=IDENTITY, raw=0.6) == 0.6
    assert gate.calibrated(calibration=IDENTITY, raw=0.99) == gate.PRIOR_CAP < 0.9


def test_the_evidence_cap_bounds_the_calibrated_confidence():
    trusted = Calibration("platt", 10.0, -2.0, 5000)
    assert gate.calibrated(calibration=trusted, raw=0.95, cap=0.875) == 0.875
    # With a cap, the prior is the capped raw score (the cap replaces PRIOR_CAP).
    assert gate.calibrated(calibration=IDENTITY, raw=0.95, cap=0.97) == 0.95


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"confidence": 0.95, "labels": 40}, ("auto", None)),
        ({"confidence": 0.95, "labels": 29}, ("escalated", "thin_evidence")),
        ({"confidence": 0.7, "labels": 40}, ("escalated", "below_threshold")),
        ({"confidence": 0.7, "labels": 40, "uncapped": 0.95}, ("escalated", "thin_evidence")),
        ({"confidence": 0.95, "labels": 40, "never_auto": "sudo"}, ("escalated", "never_auto")),
        (
            {"confidence": 0.95, "labels": 40, "has_candidate": False},
            ("escalated", "below_threshold"),
        ),
    ],
    ids=["auto", "few-labels", "below", "capped", "never-auto", "no-candidate"],
)
def test_auto_decision_and_its_reason(kwargs, expected):
    args = {"has_candidate": True, "threshold": 0.8, "min_labels": 30} | kwargs
    decision = gate.auto_decision(**args)
    assert (decision.status, decision.reason) == expected


@pytest.mark.parametrize(
    ("text", "command", "hit"),
    [
        ("Run shell command?", "rm -rf build", True),
        ("Run shell command?", "rm -r -f build", True),
        ("Run shell command?", "rm build.log", False),
        ("Run shell command?", "git push --force origin main", True),
        ("Run shell command?", "git push -f", True),
        ("Run shell command?", "git push origin main", False),
        ("Run shell command?", "sudo apt-get install jq", True),
        ("Edit ~/.ssh/config?", "", True),
        ("Run shell command?", "cat .env", True),
        ("Run shell command?", "npm test", False),
    ],
)
def test_default_never_auto_patterns(text, command, hit):
    tool = {"name": "Bash", "input": {"command": command}} if command else None
    found = gate.never_auto_match(patterns=gate.DEFAULT_NEVER_AUTO, text=text, tool=tool)
    assert (found is not None) == hit


def test_a_pattern_that_is_not_a_regex_is_matched_as_text():
    assert (
        gate.never_auto_match(patterns=["deploy(prod"], text="npm run deploy(prod)")
        == "deploy(prod"
    )
    assert gate.never_auto_match(patterns=["", 3], text="anything") is None


def test_the_audit_sample_is_deterministic_and_near_its_rate():
    picked = [gate.audit_selected(prediction_id=i, rate=0.05) for i in range(20000)]
    assert picked == [gate.audit_selected(prediction_id=i, rate=0.05) for i in range(20000)]
    assert 0.04 < sum(picked) / len(picked) < 0.06
    assert not any(gate.audit_selected(prediction_id=i, rate=0.0) for i in range(100))


def test_wilson_interval():
    low, high = gate.wilson(successes=41, n=41)
    assert low == pytest.approx(0.9143, abs=1e-3) and high == 1.0
    low, high = gate.wilson(successes=5, n=10)
    assert low == pytest.approx(0.2366, abs=1e-3) and high == pytest.approx(0.7634, abs=1e-3)
    assert gate.wilson(successes=0, n=0) is None


# --- through the service -------------------------------------------------------------------


def _history(user, *, n, command="npm test", reply="yes", agent="claude-code", start=START):
    events = []
    for i in range(n):
        at = start + timedelta(minutes=5 * i)
        events += [
            {
                "id": f"p{command}{i}".replace(" ", "_"),
                "session_id": "s1",
                "kind": "agent_prompt",
                "occurred_at": at.isoformat(),
                "payload": {
                    "agent": agent,
                    "text": f"Bash: {command}",
                    "tool": {"name": "Bash", "input": {"command": command}},
                    "options": ["yes", "no"],
                },
            },
            {
                "id": f"r{command}{i}".replace(" ", "_"),
                "session_id": "s1",
                "kind": "user_reply",
                "occurred_at": (at + timedelta(seconds=30)).isoformat(),
                "payload": {"text": reply, "in_reply_to": f"p{command}{i}".replace(" ", "_")},
            },
        ]
    event_ingest(user=user, events=events)
    raw_sync(user=user)


def _ask(user, command="npm test", **kwargs):
    return prediction_create(
        user=user,
        agent="claude-code",
        agent_input=f"Bash: {command}",
        tool={"name": "Bash", "input": {"command": command}},
        options=["yes", "no"],
        now=START + timedelta(days=2),
        **kwargs,
    )


@pytest.fixture
def production_rules(settings):
    settings.CLONE_MIN_LABELS_FOR_AUTO = 30
    settings.CLONE_AUDIT_RATE = 0.0
    settings.CLONE_LLM_PROVIDER = "local"


@pytest.mark.django_db
def test_imported_history_answers_a_request_approved_every_time(user, production_rules):
    _history(user, n=41)
    prediction = _ask(user)
    assert prediction.status == "auto"
    assert prediction.candidates[0]["text"] == "yes"
    assert prediction.confidence > 0.9
    assert "approved `npm test` 41 of 41 times" in prediction.candidates[0]["reasoning"]


@pytest.mark.django_db
def test_below_the_minimum_of_labels_nothing_is_automatic(user, production_rules):
    _history(user, n=12)
    prediction = _ask(user)
    assert prediction.candidates[0]["text"] == "yes"
    assert prediction.status == "escalated"
    assert prediction.escalation_reason == "thin_evidence"


@pytest.mark.django_db
def test_a_novel_command_is_escalated_with_low_confidence(user, production_rules):
    _history(user, n=41)
    prediction = _ask(user, command="terraform destroy")
    assert prediction.status == "escalated"
    assert prediction.confidence <= 0.7


@pytest.mark.django_db
def test_never_auto_wins_over_any_confidence(user, production_rules):
    _history(user, n=41, command="sudo systemctl restart nginx")
    prediction = _ask(user, command="sudo systemctl restart nginx")
    assert prediction.candidates[0]["text"] == "yes"
    assert prediction.status == "escalated"
    assert prediction.escalation_reason == "never_auto"


@pytest.mark.django_db
def test_never_auto_is_checked_before_the_model_is_asked(user, settings, fake_anthropic):
    settings.ANTHROPIC_API_KEY = "sk-test"
    settings.CLONE_LLM_PROVIDER = "anthropic"
    prediction = _ask(user, command="rm -rf /tmp/x")
    assert prediction.status == "escalated"
    assert prediction.candidates == []
    assert fake_anthropic.requests == []


@pytest.mark.django_db
def test_the_audit_sample_escalates_would_be_automatic_answers(user, production_rules, settings):
    settings.CLONE_AUDIT_RATE = 1.0
    _history(user, n=41)
    prediction = _ask(user)
    assert prediction.status == "escalated"
    assert Prediction.objects.get(pk=prediction.pk).status == "escalated"
    assert prediction.escalation_reason == "audit"


@pytest.mark.django_db
def test_a_batch_applies_the_same_rules(user, production_rules):
    _history(user, n=41)
    items = [
        PredictItem(
            agent="claude-code",
            agent_input="Bash: npm test",
            tool={"name": "Bash", "input": {"command": "npm test"}},
            options=["yes", "no"],
        ),
        PredictItem(
            agent="claude-code",
            agent_input="Bash: rm -rf build",
            tool={"name": "Bash", "input": {"command": "rm -rf build"}},
        ),
    ]
    first, second = prediction_batch_create(user=user, items=items)
    assert first.status == "auto"
    assert second.status == "escalated"


@pytest.mark.django_db
def test_the_calibration_on_few_labels_cannot_make_a_thin_neighbourhood_automatic(
    user, production_rules
):
    profile_calibration_set(
        user=user, calibration={"method": "platt", "a": 12.0, "b": -3.0, "n": 25, "fitted_at": None}
    )
    _history(user, n=35, command="npm run lint")
    _history(user, n=3, command="make deploy", start=START + timedelta(days=1))
    prediction = _ask(user, command="make deploy")
    assert prediction.candidates[0]["text"] == "yes"
    assert prediction.confidence < 0.9


@pytest.mark.django_db
def test_stats_report_the_audited_precision_with_its_interval(api, user, other_user, settings):
    settings.CLONE_LLM_PROVIDER = "local"
    settings.CLONE_AUDIT_RATE = 1.0
    _history(user, n=10)
    _history(other_user, n=10)
    outcomes = ["accepted", "accepted", "accepted", "rejected"]
    for outcome in outcomes:
        prediction = _ask(user)
        assert prediction.escalation_reason == "audit"
        prediction_feedback(user=user, prediction_id=prediction.pk, outcome=outcome)
    _ask(other_user)  # invisible to user
    _ask(user, command="sudo reboot")

    body = api.get(reverse("predictions:stats")).json()
    audited = body["audited_precision"]
    assert audited["n"] == 4
    assert audited["precision"] == pytest.approx(0.75)
    low, high = gate.wilson(successes=3, n=4)
    assert audited["interval"] == [pytest.approx(low), pytest.approx(high)]
    assert body["escalation_reasons"] == {
        "audit": 4,
        "never_auto": 1,
        "below_threshold": 0,
        "thin_evidence": 0,
    }


@pytest.mark.django_db
def test_stats_without_an_audit_sample_have_no_interval(api):
    body = api.get(reverse("predictions:stats")).json()
    assert body["audited_precision"] == {"n": 0, "precision": None, "interval": None}


@pytest.mark.django_db
def test_predict_answers_with_the_escalation_reason(api, settings):
    settings.CLONE_LLM_PROVIDER = "local"
    settings.CLONE_MIN_LABELS_FOR_AUTO = 30
    body = api.post(
        reverse("predictions:predict"),
        {"agent": "claude-code", "agent_input": "Bash: rm -rf build"},
        format="json",
    ).json()
    assert body["status"] == "escalated"
    assert body["escalation_reason"] == "never_auto"
