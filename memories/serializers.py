from rest_framework import serializers

from clone_server.fields import StrictFloatField
from memories.models import EpisodicMemory, RawMemory, SemanticMemory
from memories.person_settings import (
    MAX_MIN_LABELS,
    MAX_PATTERN_CHARS,
    MAX_PATTERNS,
    settings_of,
)
from memories.services import (
    KIND_PATTERN,
    MAX_FACT_CHARS,
    MAX_PROFILE_CHARS,
    MAX_TAG_CHARS,
    MAX_TAGS,
)


class StrictCharField(serializers.CharField):
    """Text only: DRF's CharField would quietly turn 5 or true into "5"/"True"."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class SyncOutput(serializers.Serializer):
    created = serializers.IntegerField()


class PromotionErrorOutput(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    at = serializers.DateTimeField()


class MemoryStatusOutput(serializers.Serializer):
    automatic = serializers.BooleanField(help_text="Promotion runs by itself after ingest.")
    runner = serializers.ChoiceField(
        choices=["worker", "in_process"],
        help_text="Celery workers, or in the server process after each request (no broker).",
    )
    last_sync_at = serializers.DateTimeField(allow_null=True)
    last_promotion_at = serializers.DateTimeField(allow_null=True)
    raw_rows_pending = serializers.IntegerField(help_text="Raw rows not yet in an episode.")
    episodes_pending = serializers.IntegerField(help_text="Episodes not yet distilled.")
    running = serializers.BooleanField()
    next_run_at = serializers.DateTimeField(allow_null=True)
    held_until = serializers.DateTimeField(
        allow_null=True, help_text="After an error retrying cannot fix, nothing runs before."
    )
    last_error = PromotionErrorOutput(allow_null=True)


class ContextInput(serializers.Serializer):
    agent_input = StrictCharField(
        required=False, allow_blank=True, max_length=20_000, trim_whitespace=False
    )
    facts_limit = serializers.IntegerField(required=False, min_value=0, max_value=200)
    episodes_limit = serializers.IntegerField(required=False, min_value=0, max_value=100)
    raw_limit = serializers.IntegerField(required=False, min_value=0, max_value=500)
    relevant_limit = serializers.IntegerField(required=False, min_value=0, max_value=50)


class ProfileOutput(serializers.Serializer):
    body = serializers.CharField()
    updated_at = serializers.DateTimeField(allow_null=True)
    calibration = serializers.JSONField()
    never_auto = serializers.ListField(
        child=serializers.CharField(),
        help_text="Patterns never answered automatically: case-insensitive globs matched "
        "anywhere in the question, the tool's name or any string of the tool's input.",
    )
    never_auto_is_default = serializers.BooleanField(
        help_text="True while never_auto is the server's default list (PATCH null to return)."
    )
    audit_rate = serializers.FloatField(
        help_text="Share of would-be automatic answers escalated anyway (default CLONE_AUDIT_RATE)."
    )
    min_labels_for_auto = serializers.IntegerField(
        help_text="Labelled answers needed before anything is answered automatically "
        "(default CLONE_MIN_LABELS_FOR_AUTO)."
    )
    audit_rate_is_default = serializers.BooleanField(
        help_text="True while audit_rate is the server's default (PATCH null to return)."
    )
    agent_thresholds = serializers.DictField(
        child=serializers.FloatField(),
        help_text='Per-agent confidence needed to answer alone, e.g. {"claude-code": 0.9}.',
    )
    headless_answering = serializers.BooleanField(
        help_text="Whether Clone may decide for agents that cannot ask the person."
    )

    def to_representation(self, profile):
        data = {
            "body": profile.body,
            "updated_at": self.fields["updated_at"].to_representation(profile.updated_at)
            if profile.updated_at
            else None,
            "calibration": profile.calibration,
        }
        effective = settings_of(profile)
        data["never_auto"] = list(effective.never_auto)
        data["never_auto_is_default"] = effective.never_auto_is_default
        data["audit_rate"] = effective.audit_rate
        data["min_labels_for_auto"] = effective.min_labels_for_auto
        data["audit_rate_is_default"] = effective.audit_rate_is_default
        data["agent_thresholds"] = effective.agent_thresholds
        data["headless_answering"] = effective.headless_answering
        return data


class ProfileInput(serializers.Serializer):
    body = StrictCharField(allow_blank=True, max_length=MAX_PROFILE_CHARS, trim_whitespace=False)


class ProfilePatchInput(serializers.Serializer):
    """Any subset of the profile's writable fields; the others stay as they are."""

    body = StrictCharField(
        required=False, allow_blank=True, max_length=MAX_PROFILE_CHARS, trim_whitespace=False
    )
    never_auto = serializers.ListField(
        child=StrictCharField(max_length=MAX_PATTERN_CHARS),
        required=False,
        allow_null=True,
        max_length=MAX_PATTERNS,
        help_text="null returns to the server's default list; [] means none.",
    )
    audit_rate = StrictFloatField(
        required=False, allow_null=True, min_value=0.0, max_value=1.0, help_text="null: default"
    )
    min_labels_for_auto = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=MAX_MIN_LABELS,
        help_text="null: default",
    )
    agent_thresholds = serializers.DictField(
        child=StrictFloatField(min_value=0.0, max_value=1.0), required=False
    )
    headless_answering = serializers.BooleanField(required=False)

    def validate_min_labels_for_auto(self, value):
        # DRF's IntegerField also takes "30" and 30.0; the schema says a JSON integer.
        sent = self.initial_data.get("min_labels_for_auto")
        if sent is not None and (isinstance(sent, bool) or not isinstance(sent, int)):
            raise serializers.ValidationError("Must be a whole number, or null for the default.")
        return value

    def validate_headless_answering(self, value):
        if not isinstance(self.initial_data.get("headless_answering"), bool):
            raise serializers.ValidationError("Must be true or false.")
        return value

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Send at least one field to change.")
        return attrs


class FactOutput(serializers.ModelSerializer):
    source_episode_ids = serializers.SerializerMethodField()

    class Meta:
        model = SemanticMemory
        fields = [
            "id",
            "kind",
            "text",
            "importance",
            "tags",
            "source_episode_ids",
            "reinforced_count",
            "revisions",
            "created_at",
            "updated_at",
        ]

    def get_source_episode_ids(self, fact: SemanticMemory) -> list[int]:
        # Reads the prefetch cache: no query per fact.
        return sorted(e.id for e in fact.source_episodes.all())


class FactInput(serializers.Serializer):
    text = StrictCharField(max_length=MAX_FACT_CHARS)
    kind = serializers.RegexField(KIND_PATTERN, required=False, default="stated")
    importance = StrictFloatField(required=False, default=0.5, min_value=0, max_value=1)
    tags = serializers.ListField(
        child=StrictCharField(max_length=MAX_TAG_CHARS),
        required=False,
        default=list,
        max_length=MAX_TAGS,
    )


class FactPatchInput(serializers.Serializer):
    text = StrictCharField(required=False, max_length=MAX_FACT_CHARS)
    kind = serializers.RegexField(KIND_PATTERN, required=False)
    importance = StrictFloatField(required=False, min_value=0, max_value=1)
    tags = serializers.ListField(
        child=StrictCharField(max_length=MAX_TAG_CHARS), required=False, max_length=MAX_TAGS
    )

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Give at least one of text, kind, importance, tags.")
        return attrs


class EpisodeOutput(serializers.ModelSerializer):
    session_id = serializers.CharField(source="session.external_id", default=None)

    class Meta:
        model = EpisodicMemory
        fields = [
            "id",
            "session_id",
            "title",
            "summary",
            "started_at",
            "ended_at",
            "distilled_at",
            "created_at",
        ]


class RawOutput(serializers.ModelSerializer):
    event_id = serializers.CharField(source="event_key")

    class Meta:
        model = RawMemory
        fields = ["id", "event_id", "kind", "text", "occurred_at", "episode_id"]


class PromoteEpisodesInput(serializers.Serializer):
    max_rows = serializers.IntegerField(required=False, min_value=1)


class PromoteFactsInput(serializers.Serializer):
    max_episodes = serializers.IntegerField(required=False, min_value=1)
