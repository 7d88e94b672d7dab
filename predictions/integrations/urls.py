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
    path("aider/history/", views.AiderImportView.as_view(), name="aider-history"),
    path("history/learn/", views.HistoryLearnView.as_view(), name="history-learn"),
]
