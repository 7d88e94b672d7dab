from django.urls import path

from memories import views

app_name = "memories"

urlpatterns = [
    path("sync/", views.SyncView.as_view(), name="sync"),
    path("status/", views.MemoryStatusView.as_view(), name="status"),
    path("context/", views.ContextView.as_view(), name="context"),
    path("promote/episodes/", views.PromoteEpisodesView.as_view(), name="promote-episodes"),
    path("promote/facts/", views.PromoteFactsView.as_view(), name="promote-facts"),
    path("profile/", views.ProfileView.as_view(), name="profile"),
    path("facts/", views.FactListView.as_view(), name="facts"),
    path("facts/<int:fact_id>/", views.FactDetailView.as_view(), name="fact"),
    path("episodes/", views.EpisodeListView.as_view(), name="episodes"),
    path("raw/", views.RawListView.as_view(), name="raw"),
]
