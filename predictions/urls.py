from django.urls import path

from predictions import views

app_name = "predictions"

urlpatterns = [
    path("", views.PredictionListView.as_view(), name="list"),
    path("predict/", views.PredictView.as_view(), name="predict"),
    path("predict/batch/", views.PredictBatchView.as_view(), name="batch"),
    path("stats/", views.StatsView.as_view(), name="stats"),
    path("inbox/", views.InboxView.as_view(), name="inbox"),
    path("stats/trust/", views.TrustView.as_view(), name="trust"),
    path("<int:prediction_id>/", views.PredictionDetailView.as_view(), name="detail"),
    path("<int:prediction_id>/feedback/", views.FeedbackView.as_view(), name="feedback"),
    path("<int:prediction_id>/answer/", views.AnswerView.as_view(), name="answer"),
]
