from django.contrib import admin

from memories.models import EpisodicMemory, RawMemory, SemanticMemory, UserProfile


@admin.register(UserProfile)
class UserProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "updated_at", "calibration_updated_at"]
    search_fields = ["user__username"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]


@admin.register(SemanticMemory)
class SemanticMemoryAdmin(admin.ModelAdmin):
    list_display = ["__str__", "user", "kind", "importance", "reinforced_count", "updated_at"]
    list_filter = ["kind"]
    search_fields = ["text", "user__username"]
    list_select_related = ["user"]
    raw_id_fields = ["user", "source_episodes"]
    ordering = ["-importance", "-updated_at"]


@admin.register(EpisodicMemory)
class EpisodicMemoryAdmin(admin.ModelAdmin):
    list_display = ["title", "user", "started_at", "ended_at", "distilled_at", "model"]
    search_fields = ["title", "summary", "user__username"]
    list_select_related = ["user"]
    raw_id_fields = ["user", "session"]
    date_hierarchy = "started_at"


@admin.register(RawMemory)
class RawMemoryAdmin(admin.ModelAdmin):
    list_display = ["__str__", "user", "kind", "occurred_at", "episode"]
    list_filter = ["kind"]
    search_fields = ["text", "event_key", "user__username"]
    list_select_related = ["user", "episode"]
    raw_id_fields = ["user", "event", "session", "episode"]
    readonly_fields = ["search"]
    date_hierarchy = "occurred_at"
