"""A real gunicorn serving the test database, for the tests that need a server process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import connection


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    """The test database (the one this test's connection uses), as a URL for another process."""
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def health_status(base: str, timeout: float = 2.0) -> int:
    with urllib.request.urlopen(f"{base}/api/health/", timeout=timeout) as response:  # noqa: S310 - loopback
        return response.status


def wait_healthy(base: str, deadline_s: float = 30.0) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            if health_status(base) == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError("gunicorn did not become healthy")


@dataclass(frozen=True)
class Server:
    process: subprocess.Popen
    base: str  # http://127.0.0.1:<port>
    port: int


@contextmanager
def gunicorn_serving(
    *,
    workers: int = 1,
    threads: int = 0,
    timeout_s: int = 60,
    env: dict[str, str] | None = None,
    healthy_within_s: float = 30.0,
) -> Iterator[Server]:
    """gunicorn (``workers`` sync workers, or gthread workers when ``threads``) on the test
    database with the local provider, healthy when entered; stopped (SIGTERM, then SIGKILL)
    on exit. ``env`` adds to or overrides the server's environment."""
    port = free_port()
    server_env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SECRET_KEY": "test-only-not-a-secret",
        "DJANGO_DEBUG": "0",
        "CLONE_LLM_PROVIDER": "local",
        "CLONE_THROTTLE_INGEST": "100000/min",
        **(env or {}),
    }
    worker_class = ["--worker-class", "gthread", "--threads", str(threads)] if threads else []
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "clone_server.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            *worker_class,
            "--timeout",
            str(timeout_s),
            "--log-level",
            "warning",
        ],
        cwd=settings.BASE_DIR,
        env=server_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = Server(process=process, base=f"http://127.0.0.1:{port}", port=port)
    try:
        wait_healthy(server.base, healthy_within_s)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
