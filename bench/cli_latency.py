"""The `clone` command's latencies that a person feels: what the shell recorder adds to each
prompt, what its detached sender costs per command, and `clone hook`'s wall time from process
start (docs/cli.md has the figures).

    CLONE_URL=http://127.0.0.1:8000 CLONE_API_KEY=clone_... .venv/bin/python bench/cli_latency.py

Prompt: an interactive bash runs N commands (each `sleep PACE`) with the recorder loaded. Per
prompt it adds the precmd (which forks the detached sender) and the DEBUG trap's runs since the
previous prompt, both timed inside the shell with EPOCHREALTIME.
Sender: `clone record turn` (what the precmd starts after every command) run N times, its wall
time and CPU (user + system, from the kernel's accounting of the child).
Hook: `clone hook claude-code` with a PermissionRequest body, started N times (after 2 warm-up
runs), timed from outside: from just before the process starts to just after it is reaped.
The config and spool go to a temporary directory; the server must be up (nothing is spooled).
"""

from __future__ import annotations

import argparse
import json
import os
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


def summary(values: list[float], **extra: object) -> dict:
    return {
        "runs": len(values),
        "p50_ms": round(statistics.median(values), 2),
        "p99_ms": round(percentile(values, 0.99), 2),
        "max_ms": round(max(values), 2),
        **extra,
    }


def prompt_latency(n: int, env: dict, pace: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        times = Path(tmp) / "times"
        lines = [
            f'eval "$({CLONE} shell-init bash)"',
            # Time exactly what the recorder adds: every run of its DEBUG trap (summed until the
            # next prompt) and its precmd, in microseconds.
            "__clone_trap_us=0",
            "trap '__clone_t0=${EPOCHREALTIME/[.,]/}; __clone_debug;"
            " __clone_trap_us=$((__clone_trap_us + ${EPOCHREALTIME/[.,]/} - __clone_t0))' DEBUG",
            "__clone_bench() { local t0=${EPOCHREALTIME/[.,]/}; __clone_precmd;"
            " local t1=${EPOCHREALTIME/[.,]/};"
            f' echo "$((t1 - t0)) $__clone_trap_us" >> {times}; __clone_trap_us=0; }}',
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
            timeout=600 + n * pace,
        )
        # The first prompts follow the set-up lines, not a recorded command.
        rows = [line.split() for line in times.read_text().splitlines()[5:]]
    precmd = [int(p) / 1000 for p, _ in rows]
    trap = [int(t) / 1000 for _, t in rows]
    added = [p + t for p, t in zip(precmd, trap, strict=True)]
    return summary(
        added,
        precmd_p50_ms=round(statistics.median(precmd), 2),
        trap_p50_ms=round(statistics.median(trap), 3),
    )


def timed(argv: list[str], env: dict, stdin: bytes) -> tuple[float, float, int]:
    """(wall ms, cpu ms, exit code) of one run, timed from outside."""
    with tempfile.TemporaryFile() as fh:
        fh.write(stdin)
        fh.seek(0)
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv, stdin=fh, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = (time.perf_counter() - start) * 1000
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, (usage.ru_utime + usage.ru_stime) * 1000, proc.returncode


def sender_cost(n: int, env: dict) -> dict:
    walls, cpus = [], []
    session = f"bench-sender-{int(time.time())}"
    for i in range(n):
        argv = [CLONE, "record", "turn", "--session", session, "--seq", str(i + 1)]
        argv += ["--exit-code", "0", "--cwd", "/home/me/shop", "--duration-ms", "12"]
        wall, cpu, code = timed(argv, env, f"make test # bench {i}".encode())
        if code != 0:
            sys.exit(f"clone record turn exited {code}: is the server up and the key valid?")
        walls.append(wall)
        cpus.append(cpu)
    return summary(walls, cpu_p50_ms=round(statistics.median(cpus), 1))


def hook_latency(n: int, env: dict, warmup: int = 2) -> dict:
    body = json.dumps(HOOK).encode()
    runs = [timed([CLONE, "hook", "claude-code"], env, body) for _ in range(warmup + n)][warmup:]
    return summary(
        [wall for wall, _, _ in runs],
        min_ms=round(min(wall for wall, _, _ in runs), 2),
        cpu_p50_ms=round(statistics.median(cpu for _, cpu, _ in runs), 1),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=300)
    parser.add_argument("--senders", type=int, default=20)
    parser.add_argument("--hooks", type=int, default=20)
    parser.add_argument("--pace", type=float, default=0.5, help="seconds each command takes")
    args = parser.parse_args()
    if not os.environ.get("CLONE_API_KEY"):
        sys.exit("Set CLONE_URL and CLONE_API_KEY (a local server and a key for it).")
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "CLONE_CONFIG_DIR": f"{home}/config", "CLONE_DATA_DIR": f"{home}/data"}
        result = {
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "prompt": prompt_latency(args.prompts, env, args.pace),
            "sender": sender_cost(args.senders, env),
            "hook": hook_latency(args.hooks, env),
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        }
        if Path(home, "data", "spool.jsonl").exists():
            result["warning"] = "events were spooled: the server did not take them all"
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
