from django.conf import settings
from django.db import models


class EventKind(models.TextChoices):
    AGENT_PROMPT = "agent_prompt"
    USER_REPLY = "user_reply"
    TERMINAL_TURN = "terminal_turn"
    DESKTOP_FRAME = "desktop_frame"
    INTEGRATION_WEBHOOK = "integration_webhook"
    NOTE = "note"


class RecordingSession(models.Model):
    """A producer-named stream of events (one terminal, one desktop run, one agent session)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    external_id = models.CharField(max_length=128)
    started_at = models.DateTimeField()
    last_event_at = models.DateTimeField()
    event_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "external_id"], name="session_user_external_id")
        ]
        indexes = [models.Index(fields=["user", "-last_event_at"], name="session_user_last_event")]

    def __str__(self) -> str:
        return self.external_id


class Event(models.Model):
    """One CloneEvent, stored as received. ``event_id`` is the producer's id, unique per user."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    session = models.ForeignKey(RecordingSession, on_delete=models.CASCADE, related_name="events")
    event_id = models.CharField(max_length=128)
    kind = models.CharField(max_length=32, choices=EventKind.choices)
    occurred_at = models.DateTimeField()
    source = models.CharField(max_length=64, blank=True, default="")
    payload = models.JSONField()
    received_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "event_id"], name="event_user_event_id")
        ]
        indexes = [
            models.Index(fields=["user", "occurred_at"], name="event_user_time"),
            models.Index(fields=["user", "kind", "occurred_at"], name="event_user_kind_time"),
            models.Index(fields=["session", "occurred_at"], name="event_session_time"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.event_id}"
