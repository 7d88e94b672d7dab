from rest_framework import serializers

from clone_server.fields import StrictFloatField
from memories.models import EpisodicMemory, RawMemory, SemanticMemory
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


class ProfileInput(serializers.Serializer):
    body = StrictCharField(allow_blank=True, max_length=MAX_PROFILE_CHARS, trim_whitespace=False)


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
