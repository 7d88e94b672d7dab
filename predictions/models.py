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


class AgentRequestState(models.TextChoices):
    SEEN = "seen"  # the agent announced the tool call (PreToolUse); nobody was asked yet
    DECIDED = "decided"  # Clone answered allow or deny itself
    ASKED = "asked"  # Clone gave no decision: the person was asked
    ANSWERED = "answered"  # the person's reply is recorded
    CLOSED = "closed"  # settled without a reply of the person's (never asked, or unknown)


class AgentRequest(models.Model):
    """One permission request an agent put through a hook (predictions.integrations), and what
    became of it: the session state that links the agent's later events (the tool ran, the next
    prompt came) to the request, its recorded ``agent_prompt`` event and its Prediction."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    agent = models.CharField(max_length=64)
    # The agent's own session id (the recording session is "<agent>:<session_id>").
    session_key = models.CharField(max_length=128)
    # The agent's id of the tool call when it has one (Claude Code's tool_use_id), else "".
    tool_use_id = models.CharField(max_length=128, blank=True, default="")
    # The agent's turn (Claude Code's prompt_id), to tell a later turn from parallel calls.
    turn_key = models.CharField(max_length=128, blank=True, default="")
    # sha256 of the tool name and canonical input: a request without a tool_use_id finds the
    # announcement it belongs to by it.
    fingerprint = models.CharField(max_length=64)
    tool = models.JSONField(default=dict)
    prompt_event_id = models.CharField(max_length=128)
    prompt_recorded = models.BooleanField(default=False)
    # The person saw the question. An agent that asks Clone about every tool call (Gemini's
    # BeforeTool) says separately when its own dialog opened; until then an outcome is not theirs.
    shown = models.BooleanField(default=True)
    prediction = models.ForeignKey(
        Prediction, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    state = models.CharField(
        max_length=16, choices=AgentRequestState.choices, default=AgentRequestState.SEEN
    )
    decision = models.CharField(max_length=8, blank=True, default="")  # allow | deny | ""
    reply = models.CharField(max_length=8, blank=True, default="")  # yes | no | ""
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "prompt_event_id"], name="agent_request_user_prompt"
            ),
        ]
        indexes = [
            models.Index(
                fields=["user", "agent", "session_key", "state"], name="agent_request_session"
            ),
            models.Index(
                fields=["user", "agent", "session_key", "tool_use_id"],
                name="agent_request_tool_use",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agent} {self.session_key}: {self.tool.get('name', '')} ({self.state})"
