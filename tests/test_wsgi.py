"""The WSGI entry point gunicorn imports in each worker."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_PROBE = """
import sys
import clone_server.wsgi
print(sorted(m for m in ("predictions.integrations.views", "clone_server.llm.gateway")
             if m in sys.modules))
"""


def _probe(code: str, **env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "clone_server.settings",
            "DJANGO_DEBUG": "1",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip().splitlines()[-1]


def test_importing_the_wsgi_application_loads_every_view_before_the_first_request():
    """A worker loads the URLconf (and the Anthropic SDK behind the views) while it boots, so its
    first request, often an agent's hook with a deadline, does not pay for those imports."""
    assert _probe(_PROBE) == str(["clone_server.llm.gateway", "predictions.integrations.views"])


_GC_PROBE = """
import gc
import clone_server.wsgi
print(gc.get_freeze_count(), len(gc.get_objects()))
"""


def test_what_the_boot_made_is_out_of_the_collectors_reach():
    """A worker freezes the objects of its boot (``gc.freeze``), so that a full collection walks
    only what its requests made, not the whole of Django and the SDK."""
    frozen, tracked = map(int, _probe(_GC_PROBE).split())
    assert frozen > 100_000
    assert tracked < frozen / 100


_CLIENT_PROBE = """
import clone_server.wsgi
from clone_server.llm import gateway
before = dict(gateway._clients)
gateway.client_prepare()
print(len(before), gateway._clients == before)
"""


def test_a_worker_builds_the_model_client_its_first_call_will_use():
    """With the Anthropic provider and a key, the boot builds the SDK client (no network), and the
    client a first call asks for is that one; with the local provider, none is built."""
    anthropic = {"CLONE_LLM_PROVIDER": "anthropic", "ANTHROPIC_API_KEY": "sk-test-not-a-key"}
    assert _probe(_CLIENT_PROBE, **anthropic) == "1 True"
    assert _probe(_CLIENT_PROBE, CLONE_LLM_PROVIDER="local") == "0 True"
