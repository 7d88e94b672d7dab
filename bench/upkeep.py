"""Memory upkeep on Celery (issue 16): how soon an ingested event is visible, and how fast one
worker promotes with a model taking 300 ms per call.

- Fresh: gunicorn (2 workers) and one Celery worker on Redis; while the worker promotes another
  person's backlog (model calls of 300 ms), a person sends ingests of 10 events, each followed at
  once by a read of their newest raw rows. Measured: from sending the ingest to the read that
  shows its events (p50, p99). Floor: the same client's health-check round trip.
- Throughput: a backlog of ``SESSIONS`` sessions of 10 events (one episode each) for a fresh
  person, ingested at once; the time until one worker has put every row in an episode and
  distilled them. Ceiling: one model call per 300 ms (``SESSIONS`` episode calls and one
  distilling call per ``CLONE_MEMORY_DISTILL_EPISODES_PER_CALL`` episodes).

    python bench/upkeep.py [--quick] [--json OUT] [--database NAME]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, Client, Server, django_setup, server_env, user_create
from bench.support import (
    DEFAULT_DATABASE,
    connect,
    fake_model,
    percentile,
    prepare,
    redis_available,
    row,
    service_env,
    write_json,
)

BROKER_URL = "redis://127.0.0.1:6379/13"
MODEL_DELAY_MS = 300.0
EVENTS_PER_INGEST = 10
DISTILL_PER_CALL = 10


@contextlib.contextmanager
def celery_worker(database_url: str, env: dict[str, str]):
    """One Celery worker (one process, ``--pool solo``), stopped with its process group."""
    log = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the worker
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "-A", "clone_server", "worker", "--pool", "solo"),
            *("--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "WARNING"),
        ],
        cwd=ROOT,
        env=server_env(database_url, **env),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def _events(session: str, count: int, start: datetime) -> list[dict]:
    return [
        {
            "id": str(uuid.uuid4()),
            "session_id": session,
            "kind": "terminal_turn",
            "occurred_at": (start + timedelta(seconds=i)).isoformat(),
            "source": "bench",
            "payload": {"command": f"make step-{i}", "exit_code": 0, "cwd": "~/app"},
        }
        for i in range(count)
    ]


def measure_fresh(server: Server, api_key: str, ingests: int) -> tuple[list[float], list[float]]:
    """(ingest-to-visible ms per ingest, health round trips ms)."""
    client = Client(server.host, server.port, {"X-Clone-API-Key": api_key})
    visible, floor = [], []
    start = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    try:
        for i in range(ingests + 10):
            events = _events(f"fresh-{i}", EVENTS_PER_INGEST, start + timedelta(minutes=i))
            began = time.perf_counter()
            status, raw = client.request(
                "POST", "/api/recording/events/", json.dumps(events).encode()
            )
            if status != 201:
                raise RuntimeError(f"ingest answered {status}: {raw[:300]!r}")
            status, raw = client.request("GET", "/api/memory/raw/?kind=terminal_turn")
            elapsed = (time.perf_counter() - began) * 1000
            shown = {r["event_id"] for r in json.loads(raw)["results"]} if status == 200 else set()
            if events[-1]["id"] not in shown:
                raise RuntimeError("an ingested event was not in memory when the ingest returned")
            began = time.perf_counter()
            client.request("GET", "/api/health/")
            if i >= 10:
                visible.append(elapsed)
                floor.append((time.perf_counter() - began) * 1000)
    finally:
        client.close()
    return visible, floor


def backlog(server: Server, api_key: str, sessions: int, *, day: int) -> None:
    client = Client(server.host, server.port, {"X-Clone-API-Key": api_key})
    start = datetime(2026, 10, day, 8, 0, tzinfo=UTC)
    events = [
        event
        for s in range(sessions)
        for event in _events(f"backlog-{s}", 10, start + timedelta(hours=s))
    ]
    try:
        for chunk in range(0, len(events), 1000):
            body = json.dumps(events[chunk : chunk + 1000]).encode()
            status, raw = client.request("POST", "/api/recording/events/", body)
            if status != 201:
                raise RuntimeError(f"ingest answered {status}: {raw[:300]!r}")
    finally:
        client.close()


def promoted(database_url: str, user_id: int) -> bool:
    with connect(database_url) as conn:
        pending = conn.execute(
            "SELECT (SELECT count(*) FROM memories_rawmemory WHERE user_id = %s AND episode_id IS NULL)"
            " + (SELECT count(*) FROM memories_episodicmemory WHERE user_id = %s"
            " AND distilled_at IS NULL)",
            [user_id, user_id],
        ).fetchone()[0]
    return pending == 0


def wait_promoted(database_url: str, user_id: int, timeout: float) -> float:
    began = time.perf_counter()
    while time.perf_counter() - began < timeout:
        if promoted(database_url, user_id):
            return time.perf_counter() - began
        time.sleep(0.1)
    raise RuntimeError(f"the worker did not promote the backlog within {timeout:.0f} s")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer ingests, a smaller backlog")
    parser.add_argument("--json", metavar="OUT")
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    args = parser.parse_args(argv)
    if not redis_available():
        raise SystemExit("bench/upkeep.py needs Redis on 127.0.0.1:6379 (the broker)")
    ingests, sessions = (60, 20) if args.quick else (300, 60)

    database_url = prepare(args.database)
    django_setup(database_url)
    busy = user_create("bench_upkeep_busy")
    fresh = user_create("bench_upkeep_fresh")
    bulk = user_create("bench_upkeep_bulk")

    import redis

    redis.Redis.from_url(BROKER_URL).flushdb()
    with fake_model(delay_ms=MODEL_DELAY_MS) as fake_url:
        env = service_env(
            fake_url,
            CLONE_BROKER_URL=BROKER_URL,
            CLONE_PROMOTE_AFTER_EVENTS="50",
            CLONE_PROMOTE_IDLE_SECONDS="1",
            CLONE_MEMORY_DISTILL_EPISODES_PER_CALL=str(DISTILL_PER_CALL),
        )
        with Server(database_url, workers=2, **env) as server, celery_worker(database_url, env):
            # The worker is busy with another person's backlog while the person ingests.
            backlog(server, busy.api_key, sessions * 2, day=1)
            visible, floor = measure_fresh(server, fresh.api_key, ingests)
            wait_promoted(database_url, busy.id, timeout=600)
            wait_promoted(database_url, fresh.id, timeout=600)
            began = time.perf_counter()
            backlog(server, bulk.api_key, sessions, day=2)
            wait_promoted(database_url, bulk.id, timeout=600)
            seconds = time.perf_counter() - began
    calls = sessions + -(-sessions // DISTILL_PER_CALL)
    ceiling_s = calls * MODEL_DELAY_MS / 1000
    p50, p99, floor_p99 = percentile(visible, 50), percentile(visible, 99), percentile(floor, 99)
    episodes_per_s = sessions / seconds
    rows = [
        row("ingest of 10 events -> visible raw row, p50", p50, "ms", target="-", ok=None),
        row(
            "ingest of 10 events -> visible raw row, p99 (worker busy)",
            p99,
            "ms",
            floor=floor_p99,
            floor_label="health round trip p99",
            ratio=p99 / floor_p99 if floor_p99 else None,
            target="visible when the ingest returns",
            ok=True,
        ),
        row(
            f"promotion, one worker, model 300 ms/call ({sessions} episodes)",
            episodes_per_s,
            "episodes/s",
            floor=sessions / ceiling_s,
            floor_label="model-bound ceiling",
            ratio=ceiling_s / seconds,
            target=">= 50% of the model-bound ceiling",
            ok=ceiling_s / seconds >= 0.5,
        ),
    ]
    result = {"module": "upkeep", "ingests": len(visible), "sessions": sessions, "rows": rows}
    for r in rows:
        print(f"{r['figure']}: {r['value']:.2f} {r['unit']} (target {r['target']})")
    write_json(args.json, result)
    return result


if __name__ == "__main__":
    main()
