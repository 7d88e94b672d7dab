import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clone_server.settings")

application = get_wsgi_application()

from clone_server import llm  # noqa: E402  (after the settings are configured)

# Load the URLconf (every view, and the Anthropic SDK behind them) while the worker boots. Left
# to the first request, those imports made each new worker's first answer slow, past an agent
# hook's deadline (CLONE_HOOK_DEADLINE_MS) and with nothing counting it.
get_resolver().url_patterns  # noqa: B018
# The model's client too (no network): built by the first call, it cost that call ~100 ms.
llm.client_prepare()

# What the boot made (Django, DRF, the Anthropic SDK: ~250,000 objects) lives as long as the
# worker: moved out of the collector's reach, a full collection walks only what requests made.
# It walked all of it, a ~100 ms pause in one request in every few hundred.
gc.freeze()
