import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clone_server.settings")

application = get_wsgi_application()

# Load the URLconf (every view, and the Anthropic SDK behind them) while the worker boots. Left
# to the first request, those imports made each new worker's first answer slow, past an agent
# hook's deadline (CLONE_HOOK_DEADLINE_MS) and with nothing counting it.
get_resolver().url_patterns  # noqa: B018
