from django.contrib import admin

from memories import selectors
from memories.models import EpisodicMemory, MemoryUpkeep, RawMemory, SemanticMemory, UserProfile


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


@admin.register(MemoryUpkeep)
class MemoryUpkeepAdmin(admin.ModelAdmin):
    """Per person, what ``GET /api/memory/status/`` shows them."""

    list_display = [
        "user",
        "last_synced_at",
        "last_promoted_at",
        "scheduled_for",
        "running_since",
        "last_error_code",
        "last_error_at",
        "held_until",
    ]
    list_filter = ["last_error_code"]
    search_fields = ["user__username"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    readonly_fields = ["raw_rows_pending", "episodes_pending"]

    @admin.display(description="raw rows not yet in an episode")
    def raw_rows_pending(self, upkeep: MemoryUpkeep) -> int:
        return selectors.memory_status(user=upkeep.user)["raw_rows_pending"]

    @admin.display(description="episodes not yet distilled")
    def episodes_pending(self, upkeep: MemoryUpkeep) -> int:
        return selectors.memory_status(user=upkeep.user)["episodes_pending"]
