"""The `clone` command's latencies that a person feels: what the shell recorder adds to each
prompt, and `clone hook`'s wall time from process start (docs/cli.md has the figures).

    CLONE_URL=http://127.0.0.1:8000 CLONE_API_KEY=clone_... .venv/bin/python bench/cli_latency.py

Prompt: an interactive bash runs N commands (each `sleep PACE`) with the recorder loaded, timing the recorder's two
functions (the DEBUG trap and the precmd, which forks the detached sender) with EPOCHREALTIME.
Hook: `clone hook claude-code` with a PermissionRequest body, started N times, timed from
outside (by farm-bench when it is installed, else here).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLONE = str(Path(sys.executable).parent / "clone")
HOOK = {
    "session_id": "bench",
    "hook_event_name": "PermissionRequest",
    "tool_name": "Bash",
    "tool_input": {"command": "make test"},
    "cwd": "/home/me/shop",
    "transcript_path": "/home/me/.claude/projects/shop/bench.jsonl",
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def prompt_latency(n: int, env: dict, pace: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        times = Path(tmp) / "times"
        lines = [
            f'eval "$({CLONE} shell-init bash)"',
            # Time exactly what the recorder adds: its DEBUG trap and its precmd.
            "__clone_bench() { local t0=$EPOCHREALTIME; __clone_precmd; local t1=$EPOCHREALTIME;"
            f' echo "$t0 $t1" >> {times}; }}',
            'PROMPT_COMMAND="__clone_bench"',
        ]
        # Paced like a person (a command that takes a moment, then the next): back-to-back
        # commands would measure a pile-up of senders that never happens at a real prompt.
        lines += [f"sleep {pace} # bench {i}" for i in range(n)] + ["exit"]
        subprocess.run(
            ["bash", "--norc", "--noprofile", "-i"],
            input="\n".join(lines) + "\n",
            text=True,
            capture_output=True,
            env={**env, "HISTFILE": f"{tmp}/h"},
            cwd=tmp,
            timeout=600,
        )
        ms = [
            (float(b) - float(a)) * 1000
            for a, b in (line.split() for line in times.read_text().splitlines()[2:])
        ]
    return {
        "runs": len(ms),
        "p50_ms": round(statistics.median(ms), 2),
        "p99_ms": round(percentile(ms, 0.99), 2),
        "max_ms": round(max(ms), 2),
    }


def hook_latency(n: int, env: dict) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(HOOK, fh)
    command = f"exec {CLONE} hook claude-code < {fh.name}"
    try:
        if shutil.which("farm-bench"):
            out = subprocess.run(
                ["farm-bench", "-n", str(n), "--warmup", "2", "--", "sh", "-c", command],
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            ).stdout
            wall = next(line for line in out.splitlines() if line.startswith("A wall s"))
            low, median, high = (float(x) for x in wall.split()[3:6])
            return {
                "runs": n,
                "p50_ms": round(median * 1000),
                "min_ms": round(low * 1000),
                "max_ms": round(high * 1000),
                "timed_by": "farm-bench",
            }
        walls = []
        for _ in range(n):
            start = time.perf_counter()
            subprocess.run(["sh", "-c", command], env=env, capture_output=True, timeout=30)
            walls.append((time.perf_counter() - start) * 1000)
        return {
            "runs": n,
            "p50_ms": round(statistics.median(walls)),
            "min_ms": round(min(walls)),
            "max_ms": round(max(walls)),
            "timed_by": "bench",
        }
    finally:
        os.unlink(fh.name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=300)
    parser.add_argument("--hooks", type=int, default=20)
    parser.add_argument("--pace", type=float, default=0.5, help="seconds each command takes")
    args = parser.parse_args()
    if not os.environ.get("CLONE_API_KEY"):
        sys.exit("Set CLONE_URL and CLONE_API_KEY (a local server and a key for it).")
    env = dict(os.environ)
    result = {
        "prompt": prompt_latency(args.prompts, env, args.pace),
        "hook": hook_latency(args.hooks, env),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
