"""The browser app (``web/``): its built index for every client-side route.

Its assets are served by whitenoise from ``CLONE_WEB_DIST`` (``WHITENOISE_ROOT``); this view
answers the app's own routes (``/``, ``/inbox``, ``/predictions/12``) with ``index.html``. The
URL pattern never matches ``api/``, ``admin/`` or ``static/``, so those keep their own 404s.
"""

from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpResponse
from django.urls import re_path
from django.views.decorators.http import require_safe

NOT_BUILT = "The web app is not built: run `make web` (or `make run`), then reload.\n"


@require_safe
def web_index(request, route: str = "") -> HttpResponse:
    # A path that names a file (favicon.ico, app.js.map) and is not in the build is a 404.
    if "." in route.rsplit("/", 1)[-1]:
        raise Http404("No such file.")
    index = Path(settings.CLONE_WEB_DIST) / "index.html"
    if not index.is_file():
        return HttpResponse(NOT_BUILT, status=503, content_type="text/plain; charset=utf-8")
    response = HttpResponse(index.read_bytes(), content_type="text/html; charset=utf-8")
    # The index names hashed assets: it must be revalidated so a new build is picked up.
    response["Cache-Control"] = "no-cache"
    return response


app_name = "web"

# Included last by the root URL conf, under the namespace ``web``.
urlpatterns = [
    re_path(r"^(?!(?:api|admin|static)(?:/|$))(?P<route>.*)$", web_index, name="index"),
]
