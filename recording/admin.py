from django.contrib import admin

from recording.models import Event, RecordingSession


@admin.register(RecordingSession)
class RecordingSessionAdmin(admin.ModelAdmin):
    list_display = ["external_id", "user", "started_at", "last_event_at", "event_count"]
    search_fields = ["external_id", "user__username"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["event_id", "user", "kind", "occurred_at", "source"]
    list_filter = ["kind"]
    search_fields = ["event_id", "user__username"]
    list_select_related = ["user"]
    raw_id_fields = ["user", "session"]
    date_hierarchy = "occurred_at"
