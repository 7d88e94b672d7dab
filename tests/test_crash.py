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
import time
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from clone_server.accounts.services import api_key_create
from recording.models import Event, RecordingSession
from tests.factories import event
from tests.servers import gunicorn_serving, wait_healthy

EVENTS = 1000
PAYLOAD_CHARS = 3000  # ~3 MB per batch, under the 5 MB body limit


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
    """One sync worker (the process to kill); no persistent connections."""
    with gunicorn_serving(workers=1, env={"DJANGO_CONN_MAX_AGE": "0"}) as server:
        yield server


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
    server = gunicorn
    key = api_key_create(user=user, name="crash").key
    batch = [
        event("terminal_turn", session_id=f"s{i % 7}", payload={"command": "x" * PAYLOAD_CHARS})
        for i in range(EVENTS)
    ]
    body = json.dumps(batch).encode()
    worker = _one_worker(server.process.pid)

    sock = _raw_request(server.port, key, body)
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
    assert _one_worker(server.process.pid) != worker
    wait_healthy(server.base)
    status, result = _post(server.base, key, body)

    assert status == (201 if stored == 0 else 200)
    assert len(result["created"]) + len(result["duplicates"]) == EVENTS
    assert Event.objects.filter(user=user).count() == EVENTS
    counts = RecordingSession.objects.filter(user=user).values_list("event_count", flat=True)
    assert sum(counts) == EVENTS
