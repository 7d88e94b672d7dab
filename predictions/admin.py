from django.contrib import admin

from predictions.models import Prediction


@admin.register(Prediction)
class PredictionAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "user",
        "agent",
        "status",
        "escalation_reason",
        "confidence",
        "outcome",
        "answered_by",
        "model",
        "created_at",
    ]
    list_filter = ["status", "escalation_reason", "outcome", "answered_by", "model"]
    search_fields = ["agent", "agent_input", "user__username"]
    list_select_related = ["user"]
    raw_id_fields = ["user", "prompt_event"]
    readonly_fields = [
        "created_at",
        "usage",
        "candidates",
        "decay_applied",
        "tool",
        "options",
        "answered_at",
    ]
