"""Context bundle scaling benchmark (issue 7 target 4).

100 users share the memory tables: one holds 1,000,000 raw rows (``--quick``: 200,000), one
10,000, and 98 others 2,000 each; the two measured users hold the same 1,000 facts and 500
episodes. The context bundle (``memories.selectors.context_bundle``: profile, 20 facts,
10 episodes, 50 raw rows, and with an agent input the relevant earlier answers) is timed
in-process for both users, interleaved; target: the big user's median within 2x of the small
user's. Each query of the big user's bundle is then run under ``EXPLAIN (ANALYZE, BUFFERS)`` and
its key nodes printed: index scans expected, no sequential scan on the big tables.

    python bench/bundle.py [--quick] [--json OUT]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import seed
from bench.common import django_setup
from bench.support import DEFAULT_DATABASE, connect, prepare, row, write_json

BIG, SMALL, OTHERS = "bench_bundle_big", "bench_bundle_small", "bench_bundle_other"
SMALL_RAW, OTHER_RAW, OTHER_USERS = 10_000, 2_000, 98
FACTS, EPISODES = 1_000, 500
TARGET = 2.0
BIG_TABLES = (
    "memories_rawmemory",
    "memories_semanticmemory",
    "memories_episodicmemory",
    "recording_event",
)
QUESTION = "Run the database migrations on staging now?"
_NODE = re.compile(r"(Seq Scan|Index Only Scan|Index Scan|Bitmap Index Scan|Bitmap Heap Scan)")


def seed_all(database_url: str, big_raw: int) -> dict:
    times: dict = {}
    with connect(database_url) as conn:
        fresh = False
        for i in range(1, OTHER_USERS + 1):
            _, seeded = seed.memory_user_ensure(
                conn, username=f"{OTHERS}{i}", raw=OTHER_RAW, facts=20, episodes=10
            )
            fresh = fresh or bool(seeded)
        _, times["small"] = seed.memory_user_ensure(
            conn, username=SMALL, raw=SMALL_RAW, facts=FACTS, episodes=EPISODES
        )
        _, times["big"] = seed.memory_user_ensure(
            conn, username=BIG, raw=big_raw, facts=FACTS, episodes=EPISODES
        )
        if fresh or times["small"] or times["big"]:
            seed.analyze(conn)
    return times


def timings(users: dict, question: str | None, runs: int) -> dict[str, list[float]]:
    from memories.selectors import context_bundle

    out: dict[str, list[float]] = {name: [] for name in users}
    for _ in range(3):  # warm caches and connections
        for user in users.values():
            context_bundle(user=user, agent_input=question)
    for _ in range(runs):
        for name, user in users.items():
            started = time.perf_counter()
            context_bundle(user=user, agent_input=question)
            out[name].append((time.perf_counter() - started) * 1000)
    return out


def plans(user) -> list[dict]:
    """EXPLAIN (ANALYZE, BUFFERS) of every query of the user's bundle: key nodes."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from memories.selectors import context_bundle

    with CaptureQueriesContext(connection) as captured:
        context_bundle(user=user, agent_input=QUESTION)
    out = []
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
            lines = [r[0] for r in cursor.fetchall()]
            table = re.search(r'FROM "?(\w+)"?', query["sql"])
            nodes = [line.strip() for line in lines if _NODE.search(line)]
            total = next((line for line in lines if line.startswith("Execution Time")), "")
            out.append(
                {
                    "table": table.group(1) if table else "?",
                    "nodes": nodes,
                    "execution": total,
                    "seq_scans_on_big_tables": [
                        n for n in nodes if "Seq Scan" in n and any(t in n for t in BIG_TABLES)
                    ],
                }
            )
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200,000 rows for the big user")
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--json", metavar="OUT")
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    args = parser.parse_args(argv)
    big_raw = 200_000 if args.quick else 1_000_000
    runs = 15 if args.quick else args.runs

    database_url = prepare(args.database)
    started = time.perf_counter()
    seeded = seed_all(database_url, big_raw)
    seed_s = time.perf_counter() - started
    django_setup(database_url)
    from django.contrib.auth import get_user_model

    users = {
        "big": get_user_model().objects.get(username=BIG),
        "small": get_user_model().objects.get(username=SMALL),
    }
    tiers = timings(users, None, runs)
    relevant = timings(users, QUESTION, runs)
    explained = plans(users["big"])

    med = {
        "tiers": {k: statistics.median(v) for k, v in tiers.items()},
        "relevant": {k: statistics.median(v) for k, v in relevant.items()},
    }
    seq = [n for p in explained for n in p["seq_scans_on_big_tables"]]
    rows = []
    for key, label in (("tiers", "bundle"), ("relevant", "bundle + relevance")):
        big, small = med[key]["big"], med[key]["small"]
        rows.append(
            row(
                f"{label} at {big_raw:,} raw rows (1 of 100 users)",
                big,
                "ms",
                floor=small,
                floor_label=f"same at {SMALL_RAW:,} rows",
                ratio=big / small,
                target=f"<= {TARGET:g}x",
                ok=big / small <= TARGET,
            )
        )
    rows.append(
        row(
            "bundle plans: seq scans on big tables",
            len(seq),
            "nodes",
            target="0",
            ok=not seq,
        )
    )
    print(f"bundle: {big_raw:,} raw rows vs {SMALL_RAW:,}, among 100 users ({runs} runs each)")
    for key in ("tiers", "relevant"):
        print(
            f"  {key:<9} big {med[key]['big']:7.2f} ms   small {med[key]['small']:7.2f} ms   "
            f"ratio {med[key]['big'] / med[key]['small']:.2f}"
        )
    print("  EXPLAIN (ANALYZE) of the big user's bundle, key nodes:")
    for p in explained:
        print(f"    {p['table']}: {p['execution']}")
        for node in p["nodes"]:
            print(f"      {node[:150]}")
    result = {
        "name": "bundle",
        "rows": rows,
        "big_raw": big_raw,
        "small_raw": SMALL_RAW,
        "median_ms": med,
        "p90_ms": {
            key: {k: sorted(v)[int(len(v) * 0.9)] for k, v in d.items()}
            for key, d in (("tiers", tiers), ("relevant", relevant))
        },
        "plans": explained,
        "seed_s": round(seed_s, 1),
        "seed_steps_s": seeded,
    }
    write_json(args.json, result)
    return result


if __name__ == "__main__":
    main()
