"""A server worker killed mid-request leaves either the whole batch or none of it.

A real gunicorn (one sync worker) serves the test database. A 1,000-event batch with large
payloads is sent; as soon as the worker's database session is inside the ingest transaction,
the worker gets SIGKILL. Postgres rolls the open transaction back, so the batch is stored
completely or not at all; the client's retry then stores it exactly once.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from clone_server.accounts.services import api_key_create
from recording.models import Event, RecordingSession
from tests.factories import event

EVENTS = 1000
PAYLOAD_CHARS = 3000  # ~3 MB per batch, under the 5 MB body limit


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _get(url: str, timeout: float = 2.0) -> int:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback
        return response.status


def _wait_healthy(base: str, deadline_s: float = 30.0) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            if _get(f"{base}/api/health/") == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError("gunicorn did not become healthy")


def _worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


def _one_worker(master: int, deadline_s: float = 30.0) -> int:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        pids = _worker_pids(master)
        if len(pids) == 1:
            return pids[0]
        time.sleep(0.05)
    raise AssertionError("gunicorn has no worker")


@pytest.fixture
def gunicorn():
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DJANGO_SECRET_KEY": "test-only-not-a-secret",
        "DJANGO_DEBUG": "0",
        "DJANGO_CONN_MAX_AGE": "0",
        "CLONE_LLM_PROVIDER": "local",
        "CLONE_THROTTLE_INGEST": "100000/min",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "clone_server.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--timeout",
            "60",
            "--log-level",
            "warning",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base)
        yield server, base, port
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _raw_request(port: int, key: str, body: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    head = (
        "POST /api/recording/events/ HTTP/1.1\r\n"
        "Host: 127.0.0.1\r\n"
        "Content-Type: application/json\r\n"
        f"X-Clone-API-Key: {key}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    sock.sendall(head.encode() + body)
    return sock


def _worker_in_ingest_transaction() -> bool:
    """Whether another session on this database (the worker's) has written inside a transaction
    that is still open: an xid is assigned at the first write."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid()
              AND backend_xid IS NOT NULL
            """
        )
        return cursor.fetchone()[0] > 0


def _no_other_session_in_a_transaction(deadline_s: float = 10.0) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT count(*) FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid()
                  AND xact_start IS NOT NULL
                """
            )
            if cursor.fetchone()[0] == 0:
                return
        time.sleep(0.05)
    raise AssertionError("the killed worker's transaction is still open")


def _post(base: str, key: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{base}/api/recording/events/",
        data=body,
        headers={"Content-Type": "application/json", "X-Clone-API-Key": key},
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        return response.status, json.loads(response.read())


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_ingest_stores_all_or_nothing_and_the_retry_stores_it_once(
    user, gunicorn
):
    server, base, port = gunicorn
    key = api_key_create(user=user, name="crash").key
    batch = [
        event("terminal_turn", session_id=f"s{i % 7}", payload={"command": "x" * PAYLOAD_CHARS})
        for i in range(EVENTS)
    ]
    body = json.dumps(batch).encode()
    worker = _one_worker(server.pid)

    sock = _raw_request(port, key, body)
    deadline = time.monotonic() + 30
    caught = False
    while time.monotonic() < deadline:
        if _worker_in_ingest_transaction():
            caught = True
            break
        time.sleep(0.002)
    os.kill(worker, signal.SIGKILL)
    try:
        answer = sock.recv(65536)
    except ConnectionResetError:
        answer = b""
    finally:
        sock.close()

    assert caught, "the ingest finished before its transaction was seen"
    assert not answer.startswith(b"HTTP/1.1 2"), answer[:200]  # the client got no success
    _no_other_session_in_a_transaction()
    stored = Event.objects.filter(user=user).count()
    assert stored in (0, EVENTS)  # all or nothing
    sessions_before = sum(
        RecordingSession.objects.filter(user=user).values_list("event_count", flat=True)
    )
    assert sessions_before == stored  # the session counters agree with what is stored

    # The master replaces the worker; the client retries the same batch.
    assert _one_worker(server.pid) != worker
    _wait_healthy(base)
    status, result = _post(base, key, body)

    assert status == (201 if stored == 0 else 200)
    assert len(result["created"]) + len(result["duplicates"]) == EVENTS
    assert Event.objects.filter(user=user).count() == EVENTS
    counts = RecordingSession.objects.filter(user=user).values_list("event_count", flat=True)
    assert sum(counts) == EVENTS
