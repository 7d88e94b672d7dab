"""Clone's performance suite: one entry point for every benchmark of issue 7.

Creates a dedicated database (``clone_bench_perf`` on the server in $DATABASE_URL, dropped first
if a previous run left it), migrates it once, runs each benchmark as its own process (gunicorn
and the fake model are started and stopped by them, on loopback only), prints one table
(figure, value, floor measured in the same run, ratio, target, pass/fail) and drops the
database at the end. Exit status 1 when a target is missed.

    python bench/run.py [--quick] [--json OUT] [--only predict,batch] [--keep]

Full run: ~10 minutes on 2 idle cores; ``--quick``: smaller data and fewer requests, ~2-3.
Modules: ingest, calibration, predict, batch, bundle, fit, memory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, bench_database_url, ensure_database, migrate
from bench.support import DEFAULT_DATABASE, drop_database

MODULES = ("ingest", "calibration", "predict", "batch", "bundle", "fit", "memory")
TIMEOUT_S = {"bundle": 1200, "memory": 1200}


def _run(module: str, args: argparse.Namespace, out: Path, env: dict) -> dict:
    cmd = [sys.executable, str(ROOT / "bench" / f"{module}.py"), "--json", str(out)]
    if module != "calibration":
        cmd += ["--database", args.database]
    if args.quick:
        cmd.append("--quick")
    print(f"\n=== {module}: {' '.join(cmd[1:])}", flush=True)
    started = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, timeout=TIMEOUT_S.get(module, 900))
    data = json.loads(out.read_text())
    data["_seconds"] = time.perf_counter() - started
    return data


def _fmt(value, unit: str) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and 0 < abs(value) < 0.01:
        return f"{value:.1e} {unit}".strip()
    if isinstance(value, float) and abs(value) >= 1000:
        return f"{value:,.0f} {unit}".strip()
    if isinstance(value, float):
        return f"{value:.2f} {unit}".strip() if abs(value) < 10 else f"{value:.1f} {unit}".strip()
    return f"{value:,} {unit}".strip()


def table(results: dict[str, dict]) -> str:
    """A Markdown table of every row, in module order."""
    lines = [
        "| # | figure | value | floor (same run) | ratio | target | result |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, data in results.items():
        for r in data["rows"]:
            floor = ""
            if r["floor"] is not None:
                floor = f"{_fmt(r['floor'], r['floor_unit'])} ({r['floor_label']})"
            ratio = "" if r["ratio"] is None else f"{r['ratio']:.2f}x"
            if r["ratio"] is not None and r["target"].startswith(">="):
                ratio = f"{r['ratio']:.0%}"
            verdict = "" if r["pass"] is None else ("PASS" if r["pass"] else "FAIL")
            value = _fmt(r["value"], r["unit"])
            if r["unit"] == "yes":
                value = "yes" if r["value"] else "no"
            lines.append(
                f"| {name} | {r['figure']} | {value} | {floor} | {ratio} | {r['target']} "
                f"| {verdict} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller data, fewer requests")
    parser.add_argument("--json", metavar="OUT", help="also write every figure as JSON")
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(MODULES)}")
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args(argv)
    modules = [m.strip() for m in args.only.split(",")] if args.only else list(MODULES)
    unknown = set(modules) - set(MODULES)
    if unknown:
        parser.error(f"unknown modules: {', '.join(sorted(unknown))}")

    database_url = bench_database_url(args.database)
    started = time.perf_counter()
    load_before = os.getloadavg()
    results: dict[str, dict] = {}
    drop_database(database_url)
    try:
        ensure_database(database_url)
        migrate(database_url)
        env = {**os.environ, "BENCH_MIGRATED": args.database}
        with tempfile.TemporaryDirectory(prefix="clone-bench-") as tmp:
            for module in modules:
                results[module] = _run(module, args, Path(tmp) / f"{module}.json", env)
    finally:
        if not args.keep:
            drop_database(database_url)
    seconds = time.perf_counter() - started
    load_after = os.getloadavg()

    rendered = table(results)
    mode = "quick" if args.quick else "full"
    print(
        f"\nClone performance suite ({mode} run, {seconds / 60:.1f} min, {os.cpu_count()} CPUs, "
        f"load average {load_before[0]:.1f} before / {load_after[0]:.1f} after)\n"
    )
    print(rendered)
    failed = [r["figure"] for d in results.values() for r in d["rows"] if r["pass"] is False]
    print(f"\n{'all targets met' if not failed else f'{len(failed)} target(s) missed'}")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "mode": mode,
                    "seconds": seconds,
                    "cpus": os.cpu_count(),
                    "load_average": {"before": load_before, "after": load_after},
                    "table": rendered,
                    "results": results,
                },
                indent=2,
                default=str,
            )
            + "\n"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
