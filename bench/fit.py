"""Calibration fleet benchmark (issue 7 target 5), end to end with the database.

1,000 users (``--quick``: 100) each hold 5,000 labelled predictions (plus 20 unlabelled), made
in Postgres with ``INSERT ... SELECT``. Then ``python manage.py fit_calibration --jobs 2`` runs
as cron would (startup included): read each user's 5,000 most recent labels, fit, write the
profile. Target: under 60 s
for 1,000 users (the quick run is scaled up). The per-user read is checked with ``EXPLAIN``:
an index scan on the partial index ``prediction_user_labelled``.

The pure fit (one 5,000-point fit under 50 ms, within 1e-4 of scipy's optimum) is measured by
``bench/calibration.py``, which ``bench/run.py`` runs beside this.

    python bench/fit.py [--users 1000] [--quick] [--json OUT]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import seed
from bench.common import ROOT, django_setup, server_env
from bench.support import DEFAULT_DATABASE, connect, prepare, row, write_json

PREFIX = "bench_fit_"
LABELS = 5_000
TARGET_S = 60.0
FLEET = 1_000
JOBS = 2  # one process per core of the 2-core target machine


def seed_users(database_url: str, users: int) -> tuple[list[int], float]:
    with connect(database_url) as conn:
        ids = seed.users_create(conn, prefix=PREFIX, count=users)
        have = conn.execute(
            "SELECT count(*) FROM predictions_prediction WHERE user_id = ANY(%s) "
            "AND outcome IS NOT NULL",
            [ids],
        ).fetchone()[0]
        if have == users * LABELS:
            return ids, 0.0
        conn.execute("DELETE FROM predictions_prediction WHERE user_id = ANY(%s)", [ids])
        seconds = seed.labels_seed(conn, user_ids=ids, labels=LABELS)
        seed.analyze(conn)
    return ids, seconds


def training_plan(user_id: int) -> list[str]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from predictions.selectors import calibration_training_set

    user = get_user_model().objects.get(pk=user_id)
    with CaptureQueriesContext(connection) as captured:
        scores, _ = calibration_training_set(user=user)
    assert len(scores) == LABELS, len(scores)
    (query,) = captured.captured_queries
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
        return [r[0] for r in cursor.fetchall()]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=FLEET)
    parser.add_argument("--quick", action="store_true", help="100 users, scaled to 1,000")
    parser.add_argument("--json", metavar="OUT")
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    args = parser.parse_args(argv)
    users = 100 if args.quick else args.users

    database_url = prepare(args.database)
    ids, seed_s = seed_users(database_url, users)
    django_setup(database_url)
    plan = training_plan(ids[0])

    # Django's start-up, paid once per cron run; the quick run scales only the per-user part.
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", "help", "fit_calibration"],
        cwd=ROOT,
        env=server_env(database_url),
        capture_output=True,
        check=True,
    )
    startup_s = time.perf_counter() - started
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "manage.py", "fit_calibration", "--jobs", str(JOBS)],
        cwd=ROOT,
        env=server_env(database_url),
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.perf_counter() - started
    summary = done.stdout.strip().splitlines()[-1]
    refitted = int(re.search(r"Refitted (\d+)", summary).group(1))
    if refitted < users:
        raise RuntimeError(f"fit_calibration refitted {refitted} users, expected {users}")
    per_user_ms = max(seconds - startup_s, 0.0) / refitted * 1000
    fleet_s = seconds if refitted >= FLEET else startup_s + per_user_ms * FLEET / 1000
    index_scan = any("prediction_user_labelled" in line for line in plan)
    seq = [line.strip() for line in plan if "Seq Scan" in line]
    label = "measured" if refitted >= FLEET else f"{refitted} users scaled to {FLEET:,}"
    rows = [
        row(
            f"fit_calibration, {FLEET:,} users x {LABELS:,} labels ({label})",
            fleet_s,
            "s",
            floor=per_user_ms,
            floor_label="ms per user (read + fit + write), 2 jobs",
            floor_unit="ms",
            target=f"< {TARGET_S:g} s",
            ok=fleet_s < TARGET_S,
        ),
        row(
            "label read: index scan on prediction_user_labelled",
            1.0 if index_scan and not seq else 0.0,
            "yes",
            target="index, no seq scan",
            ok=index_scan and not seq,
        ),
    ]
    print(f"fit: fit_calibration --jobs {JOBS} over {refitted} users x {LABELS:,} labels")
    print(
        f"  {seconds:.1f} s wall (start-up {startup_s:.1f} s), {per_user_ms:.1f} ms per user "
        f"-> {fleet_s:.1f} s for {FLEET:,}"
    )
    print("  EXPLAIN (ANALYZE) of one user's label read:")
    for line in plan:
        if re.search(r"Scan|Sort|Limit|Execution", line):
            print(f"    {line.strip()[:150]}")
    result = {
        "name": "fit",
        "rows": rows,
        "users": refitted,
        "labels": LABELS,
        "seconds": seconds,
        "per_user_ms": per_user_ms,
        "startup_s": startup_s,
        "fleet_s": fleet_s,
        "seed_s": round(seed_s, 1),
        "plan": plan,
    }
    write_json(args.json, result)
    return result


if __name__ == "__main__":
    main()
