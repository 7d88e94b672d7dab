from rest_framework import serializers

from recording.models import Event, RecordingSession


class SessionOutput(serializers.ModelSerializer):
    id = serializers.CharField(source="external_id")

    class Meta:
        model = RecordingSession
        fields = ["id", "started_at", "last_event_at", "event_count"]


class EventOutput(serializers.ModelSerializer):
    id = serializers.CharField(source="event_id")
    session_id = serializers.SerializerMethodField()

    class Meta:
        model = Event
        fields = ["id", "session_id", "kind", "occurred_at", "source", "payload", "received_at"]

    def get_session_id(self, event: Event) -> str:
        return self.context["session_external_id"]


class IngestOutput(serializers.Serializer):
    created = serializers.ListField(child=serializers.CharField())
    duplicates = serializers.ListField(child=serializers.CharField())
