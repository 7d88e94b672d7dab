"""Worker memory benchmark (issue 7 target 6).

gunicorn (2 workers) serves 20,000 mixed requests (``--quick``: 2,000) from 2 client threads on
loopback, for the predict user (100,000 raw rows, 5,000 facts, 2,000 episodes), the Anthropic
provider pointed at the fake model answering at once. Every 20 requests: 8 GET api-keys, 3 GET
sessions, 2 POST events (10 new events each), 2 POST memory context (with relevance),
1 POST predict, 1 GET predictions, 1 GET facts, 1 GET stats, 1 GET health. Each worker's
resident memory (``VmRSS`` in ``/proc/<pid>/status``) is sampled every 500 requests.
Targets: every sample under 200 MB, and no growth: the end within 10 MB of the level after the
first 10% of the requests (warm-up: imports, caches, connection), and within 5 MB of the level
at half-way (a leak keeps growing; warm-up flattens out).

    python bench/memory.py [--requests 20000] [--quick] [--json OUT]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import seed
from bench.common import Client, Server, django_setup
from bench.predict import EPISODES, FACTS, QUESTIONS, RAW, USERNAME, api_key_for
from bench.support import (
    DEFAULT_DATABASE,
    connect,
    fake_model,
    prepare,
    row,
    service_env,
    write_json,
)

RSS_LIMIT_MB = 200.0
GROWTH_LIMIT_MB = 10.0
LATE_GROWTH_LIMIT_MB = 5.0  # a leak keeps growing; warm-up growth flattens out
SAMPLE_EVERY = 500
THREADS = 2
_event_ids = itertools.count()


def _events_body(thread: int) -> bytes:
    start = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    events = []
    for _ in range(10):
        n = next(_event_ids)
        events.append(
            {
                "id": f"mem-{thread}-{n}",
                "session_id": f"mem-session-{thread}",
                "kind": "terminal_turn",
                "occurred_at": (start + timedelta(seconds=n)).isoformat(),
                "source": "bench",
                "payload": {"command": "pytest -x", "output": "3 passed", "exit_code": 0},
            }
        )
    return json.dumps(events).encode()


def _cycle(thread: int, i: int) -> list[tuple[str, str, bytes | None, int]]:
    question = QUESTIONS[i % len(QUESTIONS)]
    context = json.dumps({"agent_input": question}).encode()
    predict = json.dumps({"agent": "claude-code", "agent_input": question}).encode()
    get = [("GET", "/api/auth/api-keys/", None, 200)]
    return (
        get * 4
        + [("GET", "/api/recording/sessions/?page_size=20", None, 200)]
        + [("POST", "/api/recording/events/", _events_body(thread), 201)]
        + [("POST", "/api/memory/context/", context, 200)]
        + [("GET", "/api/predictions/?page_size=20", None, 200)]
        + get * 2
        + [("GET", "/api/recording/sessions/?page_size=20", None, 200)]
        + [("POST", "/api/predictions/predict/", predict, 201)]
        + [("GET", "/api/memory/facts/?page_size=20", None, 200)]
        + [("POST", "/api/memory/context/", context, 200)]
        + get * 2
        + [("GET", "/api/recording/sessions/?page_size=20", None, 200)]
        + [("POST", "/api/recording/events/", _events_body(thread), 201)]
        + [("GET", "/api/predictions/stats/", None, 200)]
        + [("GET", "/api/health/", None, 200)]
    )


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return sorted(int(pid) for pid in children)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--quick", action="store_true", help="2,000 requests")
    parser.add_argument("--json", metavar="OUT")
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    args = parser.parse_args(argv)
    total = 2_000 if args.quick else args.requests
    per_thread = total // THREADS

    database_url = prepare(args.database)
    with connect(database_url) as conn:
        user_id, seeded = seed.memory_user_ensure(
            conn, username=USERNAME, raw=RAW, facts=FACTS, episodes=EPISODES
        )
        if seeded:
            seed.analyze(conn)
    django_setup(database_url)
    api_key = api_key_for(user_id)

    done = [0]
    lock = threading.Lock()
    errors: list[BaseException] = []
    samples: list[dict] = []

    with (
        fake_model(delay_ms=0) as fake_url,
        Server(database_url, workers=2, **service_env(fake_url)) as server,
    ):
        pids = worker_pids(server.process.pid)

        def sample() -> None:
            samples.append({"requests": done[0], **{str(p): rss_mb(p) for p in pids}})

        def load(thread: int) -> None:
            client = Client(server.host, server.port, {"X-Clone-API-Key": api_key})
            try:
                sent = 0
                for i in itertools.count():
                    for method, path, body, expected in _cycle(thread, i):
                        if sent >= per_thread:
                            return
                        status, raw = client.request(method, path, body)
                        if status != expected:
                            raise RuntimeError(f"{method} {path} -> {status}: {raw[:200]!r}")
                        sent += 1
                        with lock:
                            done[0] += 1
                            if done[0] % SAMPLE_EVERY == 0:
                                sample()
            except BaseException as exc:
                errors.append(exc)
            finally:
                client.close()

        sample()
        started = time.perf_counter()
        threads = [threading.Thread(target=load, args=(t,)) for t in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
        sample()
        if errors:
            raise errors[0]
        if worker_pids(server.process.pid) != pids:
            raise RuntimeError("a gunicorn worker was restarted during the run")

    warm_at = total // 10
    warm = next(s for s in samples if s["requests"] >= warm_at)
    half = next(s for s in samples if s["requests"] >= total // 2)
    per_worker = {}
    for pid in map(str, pids):
        series = [s[pid] for s in samples]
        per_worker[pid] = {
            "start_mb": series[0],
            "warm_mb": warm[pid],
            "end_mb": series[-1],
            "max_mb": max(series),
            "growth_after_warmup_mb": series[-1] - warm[pid],
            "growth_last_half_mb": series[-1] - half[pid],
        }
    max_mb = max(w["max_mb"] for w in per_worker.values())
    growth = max(w["growth_after_warmup_mb"] for w in per_worker.values())
    late = max(w["growth_last_half_mb"] for w in per_worker.values())
    rows = [
        row(
            f"gunicorn worker RSS, max over {total:,} mixed requests",
            max_mb,
            "MB",
            target=f"< {RSS_LIMIT_MB:g} MB",
            ok=max_mb < RSS_LIMIT_MB,
        ),
        row(
            "worker RSS growth after warm-up (end - at 10%)",
            growth,
            "MB",
            target=f"< {GROWTH_LIMIT_MB:g} MB",
            ok=growth < GROWTH_LIMIT_MB,
        ),
        row(
            "worker RSS growth over the last half of the requests",
            late,
            "MB",
            target=f"< {LATE_GROWTH_LIMIT_MB:g} MB",
            ok=late < LATE_GROWTH_LIMIT_MB,
        ),
    ]
    print(f"memory: {total:,} mixed requests in {seconds:.0f} s ({total / seconds:.0f}/s)")
    for pid, w in per_worker.items():
        print(
            f"  worker {pid}: start {w['start_mb']:.1f} MB, after warm-up {w['warm_mb']:.1f}, "
            f"end {w['end_mb']:.1f}, max {w['max_mb']:.1f} "
            f"(growth {w['growth_after_warmup_mb']:+.1f}, last half {w['growth_last_half_mb']:+.1f})"
        )
    result = {
        "name": "memory",
        "rows": rows,
        "requests": total,
        "seconds": seconds,
        "workers": per_worker,
        "samples": samples,
    }
    write_json(args.json, result)
    return result


if __name__ == "__main__":
    main()
