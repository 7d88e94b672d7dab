"""Reads of the Prediction layer. Every selector takes the user and filters on it."""

from functools import cache
from typing import Any

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Count, Q, QuerySet
from rest_framework.exceptions import NotFound

from memories.models import UserProfile
from memories.person_settings import PersonSettings, default_min_labels_for_auto, settings_of
from memories.selectors import person_settings_get, profile_get
from predictions import metrics
from predictions.calibration import IDENTITY, MAX_LABELS, Calibration, label_for
from predictions.confidence import wilson
from predictions.models import (
    AnsweredBy,
    EscalationReason,
    Outcome,
    Prediction,
    PredictionStatus,
)


def prediction_list(
    *,
    user: User,
    status: str | None = None,
    outcome: str | None = None,
    agent: str | None = None,
) -> QuerySet[Prediction]:
    """The user's predictions, newest first; ``outcome="none"`` selects unlabelled ones."""
    queryset = Prediction.objects.filter(user=user)
    if status:
        queryset = queryset.filter(status=status)
    if outcome == "none":
        queryset = queryset.filter(outcome__isnull=True)
    elif outcome:
        queryset = queryset.filter(outcome=outcome)
    if agent:
        queryset = queryset.filter(agent=agent)
    return queryset.select_related("prompt_event").order_by("-created_at", "-id")


def prediction_inbox(*, user: User, agent: str | None = None) -> QuerySet[Prediction]:
    """The questions waiting for the person: escalated, no outcome yet, oldest first (the
    order to answer them in). The same rows as ``prediction_list(status="escalated",
    outcome="none")``."""
    queryset = Prediction.objects.filter(
        user=user, status=PredictionStatus.ESCALATED, outcome__isnull=True
    )
    if agent:
        queryset = queryset.filter(agent=agent)
    return queryset.select_related("prompt_event").order_by("created_at", "id")


def prediction_answer_text(prediction: Prediction) -> str | None:
    """The answer the agent should act on: the person's reply once they answered (their
    acceptance of the top candidate is that candidate), Clone's top candidate when Clone
    answered, None while the question waits."""
    top = str(prediction.candidates[0]["text"]) if prediction.candidates else None
    if prediction.answered_by == AnsweredBy.PERSON:
        return prediction.actual_reply or top
    if prediction.answered_by == AnsweredBy.CLONE:
        return top
    return None


def prediction_get(*, user: User, prediction_id: int) -> Prediction:
    prediction = (
        Prediction.objects.filter(user=user, pk=prediction_id)
        .select_related("prompt_event")
        .first()
    )
    if prediction is None:
        raise NotFound("No such prediction.")
    return prediction


def calibration_user_ids() -> list[int]:
    """The people with labelled predictions: those a calibration refit concerns, by id."""
    return list(
        Prediction.objects.filter(outcome__isnull=False)
        .order_by("user_id")
        .values_list("user_id", flat=True)
        .distinct()
    )


def calibration_training_set(
    *, user: User, limit: int = MAX_LABELS
) -> tuple[list[float], list[float]]:
    """(raw confidence, label) of the user's ``limit`` most recently created labelled predictions."""
    rows = (
        Prediction.objects.filter(user=user, outcome__isnull=False)
        .order_by("-created_at", "-id")
        .values_list("raw_confidence", "outcome")[:limit]
    )
    pairs = list(rows)
    # Column-wise, not row by row: this runs for 5,000 rows per user in the daily fit.
    scores = [raw for raw, _ in pairs]
    labels = list(map(label_for, [outcome for _, outcome in pairs]))
    return scores, labels


def prediction_stats(*, user: User) -> dict[str, Any]:
    """Totals, acceptance, and how honest the confidence has been, over labelled predictions.

    ``calibrated`` figures use the confidence the user was shown at prediction time.
    """
    by_status = {s: 0 for s in PredictionStatus.values}
    by_outcome = {o: 0 for o in Outcome.values} | {"none": 0}
    for status, outcome, count in (
        Prediction.objects.filter(user=user)
        .values_list("status", "outcome")
        .annotate(n=Count("id"))
        .order_by()
    ):
        by_status[status] += count
        by_outcome[outcome or "none"] += count

    reasons = dict.fromkeys(EscalationReason.values, 0)
    for reason, count in (
        Prediction.objects.filter(user=user, status=PredictionStatus.ESCALATED)
        .exclude(escalation_reason="")
        .values_list("escalation_reason")
        .annotate(n=Count("id"))
        .order_by()
    ):
        reasons[reason] = reasons.get(reason, 0) + count
    labelled = list(
        Prediction.objects.filter(user=user, outcome__isnull=False).values_list(
            "raw_confidence", "confidence", "outcome", "status", "escalation_reason"
        )
    )
    raw = [r for r, _, _, _, _ in labelled]
    calibrated = [c for _, c, _, _, _ in labelled]
    labels = [label_for(o) for _, _, o, _, _ in labelled]
    auto_labels = [label_for(o) for _, _, o, s, _ in labelled if s == PredictionStatus.AUTO]
    audited = [label_for(o) for _, _, o, _, r in labelled if r == EscalationReason.AUDIT]
    interval = wilson(successes=sum(audited), n=len(audited))
    stored = profile_get(user=user).calibration
    return {
        "totals": {"all": sum(by_status.values()), "status": by_status, "outcome": by_outcome},
        "labelled": len(labelled),
        "acceptance_rate": metrics.mean(labels),
        "auto_precision": metrics.mean(auto_labels),
        # The audit sample: would-be automatic answers asked instead, so the person's own answer
        # measures what automatic answers are worth (95% Wilson interval).
        "audited_precision": {
            "n": len(audited),
            "precision": metrics.mean(audited),
            "interval": list(interval) if interval else None,
        },
        "escalation_reasons": reasons,
        "calibration": stored or IDENTITY.as_dict(),
        "brier": {
            "raw": metrics.brier(probs=raw, labels=labels),
            "calibrated": metrics.brier(probs=calibrated, labels=labels),
        },
        "ece": {
            "raw": metrics.ece(probs=raw, labels=labels),
            "calibrated": metrics.ece(probs=calibrated, labels=labels),
        },
        "reliability": metrics.reliability(probs=calibrated, labels=labels),
    }


def prediction_counts(*, user: User) -> dict[str, int]:
    """The user's predictions: all, those waiting for the person's answer (the inbox's rows)
    and those with feedback. One aggregate query."""
    return Prediction.objects.filter(user=user).aggregate(
        predictions=Count("id"),
        awaiting_answer=Count(
            "id", filter=Q(status=PredictionStatus.ESCALATED, outcome__isnull=True)
        ),
        labelled=Count("id", filter=Q(outcome__isnull=False)),
    )


def calibration_state(*, user: User, labelled: int) -> dict[str, Any]:
    """The calibration in force (``method``, ``n`` labels it was fitted on, ``fitted_at``;
    the identity when none was fitted) and the labelled answers automatic answering needs
    (the person's ``min_labels_for_auto``, else ``CLONE_MIN_LABELS_FOR_AUTO``) against the
    ``labelled`` predictions the user has. One query."""
    profile = profile_get(user=user)
    stored = profile.calibration
    calibration = Calibration.from_dict(stored)
    fitted_at = stored.get("fitted_at") if isinstance(stored, dict) else None
    return {
        "method": calibration.method,
        "n": calibration.n,
        "fitted_at": fitted_at if isinstance(fitted_at, str) else None,
        "labelled": labelled,
        "min_labels_for_auto": settings_of(profile).min_labels_for_auto,
    }


def labelled_count(*, user: User, at_most: int) -> int:
    """How many of the user's predictions have feedback, counted up to ``at_most``: bounded
    whatever the table's size or statistics."""
    if at_most <= 0:
        return 0
    # No ORDER BY: any plan stops after ``at_most`` rows; none needs a sort of all the labels.
    return len(
        Prediction.objects.filter(user=user, outcome__isnull=False)
        .order_by()
        .values_list("id", flat=True)[:at_most]
    )


# The person's settings and their labels counted up to their own minimum, in one statement: the
# profile by its unique user index (no profile reads as a row of NULLs: the defaults) and at most
# that many labelled predictions, a scan that stops at the limit whatever the table's size.
_RULES_SQL = """
    SELECT p.id, p.never_auto, p.audit_rate, p.min_labels_for_auto, p.agent_thresholds,
           p.headless_answering,
           (SELECT count(*) FROM (
                SELECT 1 FROM {prediction} l
                WHERE l.user_id = %(user)s AND l.outcome IS NOT NULL
                LIMIT COALESCE(p.min_labels_for_auto, %(min_labels)s)) labelled) AS labelled
    FROM (SELECT 1) AS one LEFT JOIN {profile} p ON p.user_id = %(user)s
"""


@cache
def _rules_sql() -> str:
    return _RULES_SQL.format(
        prediction=connection.ops.quote_name(Prediction._meta.db_table),
        profile=connection.ops.quote_name(UserProfile._meta.db_table),
    )


def answering_rules(*, user: User) -> tuple[PersonSettings, int]:
    """The person's rules for answering alone (``memories.person_settings``, defaults where
    they set none) and how many labelled predictions they have, counted up to the label minimum
    those rules ask for. One query on Postgres; reads only (a missing profile reads as the
    defaults and is not created)."""
    if connection.vendor != "postgresql":
        profile = UserProfile.objects.filter(user=user).first() or UserProfile(user=user)
        rules = settings_of(profile)
        return rules, labelled_count(user=user, at_most=rules.min_labels_for_auto)
    # A raw queryset maps the columns to the profile's fields, with their converters; the count
    # comes as the annotation `labelled`.
    (profile,) = UserProfile.objects.raw(
        _rules_sql(), {"user": user.pk, "min_labels": default_min_labels_for_auto()}
    )
    return settings_of(profile), int(profile.labelled)  # type: ignore[attr-defined]


# The thresholds the Trust screen's coverage curve is drawn at (the person's own is added).
TRUST_THRESHOLDS = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.99)


def prediction_trust(*, user: User, threshold: float) -> dict[str, Any]:
    """What the Trust screen draws, over the user's labelled predictions (one query).

    ``reliability``: the diagram for the raw and the calibrated confidence (10 equal-width bins,
    each with its count). ``coverage``: for each threshold (ascending, ``threshold`` included),
    the share of labelled predictions whose calibrated confidence reaches it and their mean label
    (``metrics.selective``). ``threshold`` is the one a request without a threshold of its own
    gets; ``agent_thresholds`` the person's per-agent ones (their values are drawn too).
    """
    agent_thresholds = person_settings_get(user=user).agent_thresholds
    labelled = list(
        Prediction.objects.filter(user=user, outcome__isnull=False).values_list(
            "raw_confidence", "confidence", "outcome"
        )
    )
    raw = [r for r, _, _ in labelled]
    calibrated = [c for _, c, _ in labelled]
    labels = [label_for(o) for _, _, o in labelled]
    thresholds = sorted({*TRUST_THRESHOLDS, threshold, *agent_thresholds.values()})
    return {
        "labelled": len(labelled),
        "threshold": threshold,
        "agent_thresholds": agent_thresholds,
        "reliability": {
            "raw": metrics.reliability(probs=raw, labels=labels),
            "calibrated": metrics.reliability(probs=calibrated, labels=labels),
        },
        "coverage": [
            {
                "threshold": t,
                **metrics.selective(confidences=calibrated, correct=labels, threshold=t),
            }
            for t in thresholds
        ],
    }
