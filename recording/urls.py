from django.urls import path

from recording import views

app_name = "recording"

urlpatterns = [
    path("events/", views.EventIngestView.as_view(), name="events"),
    path("schema/", views.EventSchemaView.as_view(), name="schema"),
    path("sessions/", views.SessionListView.as_view(), name="sessions"),
    path(
        "sessions/<str:session_id>/events/",
        views.SessionEventListView.as_view(),
        name="session-events",
    ),
]
