from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from clone_server.health import HealthView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/health/", HealthView.as_view(), name="health"),
    path("api/auth/", include("clone_server.accounts.urls")),
    path("api/account/", include("data_rights.urls")),
    path("api/recording/", include("recording.urls")),
    path("api/memory/", include("memories.urls")),
    path("api/predictions/", include("predictions.urls")),
    path("api/integrations/", include("predictions.integrations.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # GET only: the page's HTML renderer has no template for DRF's OPTIONS metadata (a 500).
    # The split view serves its start-up script as a file, so the CSP needs no inline script.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", http_method_names=["get", "head"]),
        name="docs",
    ),
    # Last: the web app's client-side routes, never api/, admin/ or static/.
    path("", include("clone_server.web")),
]

handler400 = "clone_server.errors.handler400"
handler403 = "clone_server.errors.handler403"
handler404 = "clone_server.errors.handler404"
handler500 = "clone_server.errors.handler500"
