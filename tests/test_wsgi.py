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


def test_importing_the_wsgi_application_loads_every_view_before_the_first_request():
    """A worker loads the URLconf (and the Anthropic SDK behind the views) while it boots, so its
    first request, often an agent's hook with a deadline, does not pay for those imports."""
    result = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "clone_server.settings",
            "DJANGO_DEBUG": "1",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == str(
        ["clone_server.llm.gateway", "predictions.integrations.views"]
    )


_GC_PROBE = """
import gc
import clone_server.wsgi
print(gc.get_freeze_count(), len(gc.get_objects()))
"""


def test_what_the_boot_made_is_out_of_the_collectors_reach():
    """A worker freezes the objects of its boot (``gc.freeze``), so that a full collection walks
    only what its requests made, not the whole of Django and the SDK."""
    result = subprocess.run(
        [sys.executable, "-c", _GC_PROBE],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "clone_server.settings",
            "DJANGO_DEBUG": "1",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    frozen, tracked = map(int, result.stdout.split()[-2:])
    assert frozen > 100_000
    assert tracked < frozen / 100
