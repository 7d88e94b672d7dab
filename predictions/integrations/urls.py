from django.urls import path

from predictions.integrations import views

app_name = "integrations"

urlpatterns = [
    path("claude-code/hooks/", views.ClaudeCodeHookView.as_view(), name="claude-code-hooks"),
    path(
        "claude-code/transcripts/",
        views.TranscriptImportView.as_view(),
        name="claude-code-transcripts",
    ),
    path(
        "claude-code/suggested-rules/",
        views.SuggestedRulesView.as_view(),
        name="claude-code-suggested-rules",
    ),
    path("aider/history/", views.AiderImportView.as_view(), name="aider-history"),
    path("codex/hooks/", views.CodexHookView.as_view(), name="codex-hooks"),
    path("gemini/hooks/", views.GeminiHookView.as_view(), name="gemini-hooks"),
    path("cursor/hooks/", views.CursorHookView.as_view(), name="cursor-hooks"),
    path("history/learn/", views.HistoryLearnView.as_view(), name="history-learn"),
    path("<slug:agent>/setup/", views.AgentSetupView.as_view(), name="setup"),
]
