from django.conf import settings
from django.db import models


class PredictionStatus(models.TextChoices):
    AUTO = "auto"
    ESCALATED = "escalated"


class EscalationReason(models.TextChoices):
    """Why a prediction was not answered automatically (docs/confidence.md)."""

    BELOW_THRESHOLD = "below_threshold"
    THIN_EVIDENCE = "thin_evidence"
    NEVER_AUTO = "never_auto"
    AUDIT = "audit"


class AnsweredBy(models.TextChoices):
    CLONE = "clone"
    PERSON = "person"


class Outcome(models.TextChoices):
    ACCEPTED = "accepted"
    EDITED = "edited"
    REJECTED = "rejected"


class Prediction(models.Model):
    """One answer Clone predicted for an agent's prompt, kept with its raw confidence so the
    calibration fitter can learn from the feedback it later receives."""

    # Every index below leads with the user, so the FK needs none of its own (it also lured the
    # fitter's read away from the ordered partial index into a sort).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    agent = models.CharField(max_length=200)
    agent_input = models.TextField()
    # The request's structure, as the agent sent it (all optional; see the event schema).
    tool = models.JSONField(null=True, blank=True)
    options = models.JSONField(null=True, blank=True)
    cwd = models.TextField(blank=True, default="")
    context = models.TextField(blank=True, default="")
    # The agent_prompt event this prediction answers, when it came from one.
    prompt_event = models.ForeignKey(
        "recording.Event",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    threshold = models.FloatField()
    k = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=16, choices=PredictionStatus.choices)
    # Empty when automatic; otherwise why the person is asked.
    escalation_reason = models.CharField(
        max_length=32, choices=EscalationReason.choices, blank=True, default=""
    )
    # Top candidate's calibrated and raw confidence; the full list is in ``candidates``.
    confidence = models.FloatField()
    raw_confidence = models.FloatField()
    candidates = models.JSONField(default=list)
    cited_facts = models.JSONField(default=list)
    model = models.CharField(max_length=100)
    usage = models.JSONField(default=dict)
    latency_ms = models.PositiveIntegerField(default=0)
    # NULL means "no feedback yet", which the partial index and the fitter rely on.
    outcome = models.CharField(  # noqa: DJ001
        max_length=16, choices=Outcome.choices, null=True, blank=True
    )
    actual_reply = models.TextField(blank=True, default="")
    feedback_at = models.DateTimeField(null=True, blank=True)
    # Who gave the agent its answer: Clone at once (auto), or the person later; blank while the
    # question waits. A waiting agent polls the prediction for these.
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.CharField(
        max_length=16, choices=AnsweredBy.choices, blank=True, default=""
    )
    # The importance change actually applied to each cited fact by the current outcome, so a
    # later flip takes back exactly that (see memories.decay).
    decay_applied = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="prediction_user_recent"),
            models.Index(fields=["user", "status", "-created_at"], name="prediction_user_status"),
            # The inbox: escalated, unlabelled, oldest first.
            models.Index(
                fields=["user", "created_at", "id"],
                name="prediction_user_inbox",
                condition=models.Q(status="escalated", outcome__isnull=True),
            ),
            # The fitter's read: the newest labels in index order (the id breaks created_at ties
            # without a sort).
            models.Index(
                fields=["user", "-created_at", "-id"],
                name="prediction_user_labelled",
                condition=models.Q(outcome__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(threshold__gte=0, threshold__lte=1),
                name="prediction_threshold_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agent}: {self.agent_input[:40]}"
