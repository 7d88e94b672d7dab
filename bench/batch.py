"""Batch predict benchmark (issue 7 target 3).

``POST /api/predictions/predict/batch/`` with 100 items for the predict user (100,000 raw rows,
5,000 facts, 2,000 episodes) through gunicorn, the Anthropic provider pointed at the loopback
fake model that takes 300 ms per call. Target: the whole batch answers in under 3 s (the calls
run concurrently, ``CLONE_BATCH_CONCURRENCY`` at a time; the bundle is built once). Beside it: one
single predict against the same fake (the floor a batch item cannot beat) and the ideal for the
configured concurrency, ceil(100 / concurrency) x 300 ms.

    python bench/batch.py [--runs 3] [--quick] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
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

ITEMS = 100
DELAY_MS = 300
TARGET_S = 3.0


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed batches (3)")
    parser.add_argument("--quick", action="store_true", help="two timed batches")
    parser.add_argument("--json", metavar="OUT")
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    args = parser.parse_args(argv)
    runs = 2 if args.quick else max(1, args.runs)

    database_url = prepare(args.database)
    with connect(database_url) as conn:
        user_id, seeded = seed.memory_user_ensure(
            conn, username=USERNAME, raw=RAW, facts=FACTS, episodes=EPISODES
        )
        if seeded:
            seed.analyze(conn)
    django_setup(database_url)
    from django.conf import settings

    concurrency = settings.CLONE_BATCH_CONCURRENCY
    api_key = api_key_for(user_id)
    items = [
        {"agent": "claude-code", "agent_input": f"{QUESTIONS[i % len(QUESTIONS)]} (#{i})", "k": 3}
        for i in range(ITEMS)
    ]
    body = json.dumps({"items": items}).encode()
    single = json.dumps(items[0]).encode()

    with (
        fake_model(delay_ms=DELAY_MS) as fake_url,
        Server(database_url, workers=2, **service_env(fake_url)) as server,
    ):
        client = Client(server.host, server.port, {"X-Clone-API-Key": api_key})
        try:
            # Warm both workers off the clock (a cold worker pays ~2 s of SDK imports and
            # model-class building on its first call): gunicorn spreads the connections.
            warm = json.dumps({"items": items[:5]}).encode()
            for _ in range(4):
                status, raw = client.request("POST", "/api/predictions/predict/batch/", warm)
                if status != 201:
                    raise RuntimeError(f"batch answered {status}: {raw[:300]!r}")
            singles = []
            for _ in range(4):  # the first warms the worker
                started = time.perf_counter()
                status, raw = client.request("POST", "/api/predictions/predict/", single)
                singles.append(time.perf_counter() - started)
                if status != 201:
                    raise RuntimeError(f"predict answered {status}: {raw[:300]!r}")
            seconds = []
            for _ in range(runs):
                started = time.perf_counter()
                status, raw = client.request("POST", "/api/predictions/predict/batch/", body)
                seconds.append(time.perf_counter() - started)
                results = json.loads(raw).get("results", []) if status == 201 else []
                failed = [r for r in results if "error" in r]
                if status != 201 or len(results) != ITEMS or failed:
                    raise RuntimeError(
                        f"batch answered {status}, {len(failed)} failed: {raw[:300]!r}"
                    )
        finally:
            client.close()

    single_s = statistics.median(singles[1:])
    batch_s = statistics.median(seconds)
    ideal_s = math.ceil(ITEMS / concurrency) * DELAY_MS / 1000
    rows = [
        row(
            f"batch of {ITEMS}, fake model 300 ms/call",
            batch_s,
            "s",
            floor=single_s,
            floor_label="one predict, same fake",
            ratio=batch_s / single_s,
            target=f"< {TARGET_S:g} s",
            ok=batch_s < TARGET_S,
        )
    ]
    result = {
        "name": "batch",
        "rows": rows,
        "items": ITEMS,
        "delay_ms": DELAY_MS,
        "concurrency": concurrency,
        "batch_s": seconds,
        "single_predict_s": single_s,
        "ideal_s": ideal_s,
    }
    print(f"batch: {ITEMS} items, fake model {DELAY_MS} ms per call, concurrency {concurrency}")
    print(f"  batch wall time   {', '.join(f'{s:.2f}' for s in seconds)} s (median {batch_s:.2f})")
    print(f"  one predict       {single_s:.2f} s; ideal for the concurrency {ideal_s:.2f} s")
    write_json(args.json, result)
    return result


if __name__ == "__main__":
    main()
