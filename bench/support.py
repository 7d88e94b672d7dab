"""Helpers shared by the performance suite (bench/run.py and the modules it runs): the database
set-up, the fake model server as a separate process, the service's environment for a run,
percentiles and the result rows every module returns."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

from bench.common import (
    ROOT,
    admin_url,
    bench_database_url,
    ensure_database,
    migrate,
    psycopg_url,
)

DEFAULT_DATABASE = "clone_bench_perf"
FAKE_KEY = "sk-ant-bench-fake-key"
HIGH_RATE = "1000000/min"

# Every candidate the fake model returns: valid for ANSWER_SCHEMA, cites no fact.
FAKE_ANSWER = {
    "candidates": [
        {
            "text": "yes go ahead",
            "reasoning": "Usual answer.",
            "confidence": 0.9,
            "cited_facts": [],
        },
        {
            "text": "run the tests first",
            "reasoning": "Cautious.",
            "confidence": 0.4,
            "cited_facts": [],
        },
        {"text": "no", "reasoning": "Rare.", "confidence": 0.1, "cited_facts": []},
    ]
}


def prepare(database: str) -> str:
    """The bench database's URL, created and migrated (the migration is skipped when run.py
    already did it in this run: ``BENCH_MIGRATED`` names the database)."""
    database_url = bench_database_url(database)
    if os.environ.get("BENCH_MIGRATED") != database:
        ensure_database(database_url)
        migrate(database_url)
    return database_url


def connect(database_url: str) -> psycopg.Connection:
    return psycopg.connect(psycopg_url(database_url))


def drop_database(database_url: str) -> None:
    name = urlsplit(database_url).path.lstrip("/")
    with psycopg.connect(admin_url(database_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def service_env(fake_url: str | None = None, **extra: str) -> dict[str, str]:
    """gunicorn's environment for a run: throttles out of the way (still evaluated, on Redis
    when it answers), the Anthropic provider pointed at the fake."""
    env = {
        "CLONE_THROTTLE_INGEST": HIGH_RATE,
        "CLONE_THROTTLE_PREDICT": HIGH_RATE,
        "CLONE_THROTTLE_PROMOTE": HIGH_RATE,
    }
    if redis_available():
        # The Redis database the test suite may use here (one per worktree), else 15.
        env["CLONE_THROTTLE_CACHE_URL"] = os.environ.get(
            "CLONE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"
        )
    if fake_url:
        env.update(
            {
                "CLONE_LLM_PROVIDER": "anthropic",
                "ANTHROPIC_API_KEY": FAKE_KEY,
                "ANTHROPIC_BASE_URL": fake_url,
                "CLONE_LLM_MAX_RETRIES": "0",
            }
        )
    env.update(extra)
    return env


def redis_available() -> bool:
    import socket

    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", 6379), 0.5) as s:
        s.sendall(b"PING\r\n")
        return s.recv(16).startswith(b"+PONG")
    return False


# Promotion's answers: an episode for each group of raw rows, no new fact from a batch.
PROMOTION_ANSWERS = {
    "record_episode": {"title": "A working session", "summary": "The person worked."},
    "record_facts": {"new": [], "reinforce": []},
}


@contextlib.contextmanager
def fake_model(delay_ms: float = 0.0) -> Iterator[str]:
    """The fake Messages API (tests/fakes/anthropic.py) in its own process; yields its URL and
    stops it (by its pid) on exit. It answers predictions and promotion alike."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(FAKE_ANSWER, handle)
        reply_file = handle.name
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(PROMOTION_ANSWERS, handle)
        tool_replies_file = handle.name
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes.anthropic",
            "--port",
            "0",
            "--delay-ms",
            str(delay_ms),
            "--reply-file",
            reply_file,
            "--tool-replies-file",
            tool_replies_file,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        if "http://" not in line:
            raise RuntimeError(f"the fake model did not start: {line!r}")
        yield line.strip().rsplit(" ", 1)[-1]
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        Path(reply_file).unlink(missing_ok=True)
        Path(tool_replies_file).unlink(missing_ok=True)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def row(
    figure: str,
    value: float,
    unit: str,
    *,
    floor: float | None = None,
    floor_label: str = "",
    floor_unit: str | None = None,
    ratio: float | None = None,
    target: str,
    ok: bool | None,
) -> dict:
    """One line of the results table; the floor is shown in ``floor_unit`` (default ``unit``)."""
    return {
        "figure": figure,
        "value": value,
        "unit": unit,
        "floor": floor,
        "floor_label": floor_label,
        "floor_unit": unit if floor_unit is None else floor_unit,
        "ratio": ratio,
        "target": target,
        "pass": ok,
    }


def write_json(path: str | None, result: dict) -> None:
    if path:
        Path(path).write_text(json.dumps(result, indent=2, default=str) + "\n")
