"""The four memory tiers: profile, semantic facts, episodes and raw rows. All per user."""

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q


class PostgresGinIndex(GinIndex):
    """A GIN index on Postgres; a plain index on other databases (the SQLite first-run default),
    so the same migrations apply everywhere."""

    def create_sql(self, model, schema_editor, using="", **kwargs):
        if schema_editor.connection.vendor == "postgresql":
            return super().create_sql(model, schema_editor, using=using, **kwargs)
        plain = models.Index(fields=self.fields, name=self.name, condition=self.condition)
        return plain.create_sql(model, schema_editor, using=using, **kwargs)


class UserProfile(models.Model):
    """The singleton "who is this person" body, plus the calibration the fitter writes."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memory_profile"
    )
    body = models.TextField(blank=True, default="")
    calibration = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When ``body`` last changed; null until the person (or promotion) writes one.
    updated_at = models.DateTimeField(null=True, blank=True)
    calibration_updated_at = models.DateTimeField(null=True, blank=True)
    # How much Clone may answer alone (see memories.person_settings). NULL means "the server's
    # default", so a better default reaches everyone who never chose their own.
    never_auto = models.JSONField(null=True, blank=True)
    audit_rate = models.FloatField(null=True, blank=True)
    min_labels_for_auto = models.PositiveIntegerField(null=True, blank=True)
    agent_thresholds = models.JSONField(default=dict, blank=True)
    headless_answering = models.BooleanField(default=False)

    class Meta:
        verbose_name = "user profile"
        constraints = [
            models.CheckConstraint(
                condition=Q(audit_rate__isnull=True) | Q(audit_rate__gte=0, audit_rate__lte=1),
                name="profile_audit_rate_range",
            )
        ]

    def __str__(self) -> str:
        return f"profile of user {self.user_id}"


class EpisodicMemory(models.Model):
    """A time-bounded summary of related raw rows (one session, no long gaps)."""

    # Every index below leads with the user, so the FK needs none of its own.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    session = models.ForeignKey(
        "recording.RecordingSession",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    title = models.CharField(max_length=200)
    summary = models.TextField()
    # Null until facts were distilled from this episode.
    distilled_at = models.DateTimeField(null=True, blank=True)
    model = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "episode"
        indexes = [
            models.Index(fields=["user", "-ended_at", "-id"], name="episode_user_ended"),
            models.Index(
                fields=["user", "started_at", "id"],
                name="episode_user_undistilled",
                condition=Q(distilled_at__isnull=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_at__gte=models.F("started_at")), name="episode_time_order"
            )
        ]

    def __str__(self) -> str:
        return self.title


class SemanticMemory(models.Model):
    """One atomic, reusable fact about the person. Never deleted by promotion or decay: a refined
    fact keeps its earlier texts in ``revisions`` and collects its source episodes."""

    # Every index below leads with the user, so the FK needs none of its own.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    kind = models.CharField(max_length=32, default="stated")
    text = models.TextField()
    importance = models.FloatField(default=0.5)
    tags = models.JSONField(default=list, blank=True)
    source_episodes = models.ManyToManyField(EpisodicMemory, blank=True, related_name="facts")
    # Earlier texts: [{"text", "at", "by": "promotion"|"user", "episode_ids": [...]}], oldest first.
    revisions = models.JSONField(default=list, blank=True)
    reinforced_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "fact"
        indexes = [
            models.Index(
                fields=["user", "-importance", "-updated_at", "-id"], name="fact_user_importance"
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(importance__gte=0.0) & Q(importance__lte=1.0),
                name="fact_importance_0_1",
            )
        ]

    def __str__(self) -> str:
        return self.text[:80]


class RawMemory(models.Model):
    """One row per Recording event, rendered as a single readable sentence.

    Rows of kind ``agent_prompt`` also carry the agent, the prompt, its ``tool`` and ``options``
    and (once synced) the person's reply, plus a full-text vector of the prompt: relevance is one
    indexed query.
    """

    # Every index below leads with the user, so the FK needs none of its own.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    event = models.OneToOneField(
        "recording.Event", on_delete=models.CASCADE, related_name="raw_memory"
    )
    session = models.ForeignKey(
        "recording.RecordingSession", on_delete=models.CASCADE, related_name="+"
    )
    # The producer's event id, copied so replies can find their prompt without a join.
    event_key = models.CharField(max_length=128)
    kind = models.CharField(max_length=32)
    text = models.TextField()
    occurred_at = models.DateTimeField()
    episode = models.ForeignKey(
        EpisodicMemory, on_delete=models.SET_NULL, null=True, blank=True, related_name="raw"
    )
    agent = models.CharField(max_length=200, blank=True, default="")
    # NULL, not "": "no reply yet" differs from an empty reply.
    prompt_text = models.TextField(null=True, blank=True)  # noqa: DJ001
    reply_text = models.TextField(null=True, blank=True)  # noqa: DJ001
    # On user_reply rows: the producer id of the prompt answered.
    in_reply_to = models.CharField(max_length=128, blank=True, default="")
    # On agent_prompt rows: the request's structure as the event carried it (NULL when absent),
    # copied so a predict reads the person's decisions without a lookup per event.
    tool = models.JSONField(null=True, blank=True)
    options = models.JSONField(null=True, blank=True)
    search = SearchVectorField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "raw memory"
        verbose_name_plural = "raw memories"
        indexes = [
            models.Index(fields=["user", "-occurred_at", "-id"], name="raw_user_time"),
            models.Index(fields=["user", "event_key"], name="raw_user_event_key"),
            models.Index(
                fields=["user", "occurred_at", "id"],
                name="raw_user_unassigned",
                condition=Q(episode__isnull=True),
            ),
            models.Index(
                fields=["user", "in_reply_to"],
                name="raw_user_in_reply_to",
                condition=Q(kind="user_reply"),
            ),
            # Relevance reads the user's newest answered prompts from here (a bounded window);
            # a GIN index over all matches was dropped: its cost grew with the history.
            models.Index(
                fields=["user", "id"],
                name="raw_user_answered",
                condition=Q(kind="agent_prompt", reply_text__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.text[:80]


class MemoryUpkeep(models.Model):
    """Per person: the background promotion's schedule and outcome, shown by
    ``GET /api/memory/status/`` and the admin. One row per person, created at their first ingest."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memory_upkeep"
    )
    # Set while a promotion task is queued or running; a task carrying another token was
    # superseded and does nothing (at most one effective task per person).
    task_token = models.UUIDField(null=True, blank=True)
    scheduled_for = models.DateTimeField(null=True, blank=True)
    running_since = models.DateTimeField(null=True, blank=True)
    # After a failure that retrying cannot fix, nothing is scheduled before this time.
    held_until = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_promoted_at = models.DateTimeField(null=True, blank=True)
    last_error_code = models.CharField(max_length=64, blank=True, default="")
    last_error_message = models.TextField(blank=True, default="")
    last_error_at = models.DateTimeField(null=True, blank=True)
    # Failures in a row of the current task (reset by a successful step).
    failures = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "memory upkeep"
        verbose_name_plural = "memory upkeep"

    def __str__(self) -> str:
        return f"memory upkeep of user {self.user_id}"
