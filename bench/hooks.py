"""Claude Code hook latency (issue 12): how long ``POST /api/integrations/claude-code/hooks/``
takes to answer a ``PermissionRequest``.

A user holding 100,000 raw rows (5,000 facts, 2,000 episodes) sends
PermissionRequest hooks, each a new Bash command in a new turn of one session, through gunicorn
(2 workers) with the local provider; measured at the client on loopback, so the figure is an
upper bound of the server's time. Target: p99 <= 300 ms. Then, with the Anthropic provider
pointed at a fake model that takes 3 s, a few hooks: each must answer ``{}`` once
``CLONE_HOOK_DEADLINE_MS`` (1500) has passed, not wait for the model.

    python bench/hooks.py [--requests 200] [--quick] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import seed
from bench.common import Client, Server, django_setup
from bench.support import (
    DEFAULT_DATABASE,
    connect,
    fake_model,
    percentile,
    prepare,
    row,
    service_env,
    write_json,
)

USERNAME = "bench_hooks"
RAW, FACTS, EPISODES = 100_000, 5_000, 2_000
P99_TARGET_MS = 300.0
DEADLINE_MS = 1500
COMMANDS = ("npm test", "git status", "make build", "pytest -x", "ls -la src", "cargo check")


def api_key_for(user_id: int) -> str:
    from django.contrib.auth import get_user_model

    from clone_server.accounts.services import api_key_create

    return api_key_create(user=get_user_model().objects.get(pk=user_id), name="bench").key


def _hook(session: str, i: int) -> bytes:
    command = f"{COMMANDS[i % len(COMMANDS)]} --run {i}"
    return json.dumps(
        {
            "session_id": session,
            "transcript_path": f"/home/bench/.claude/projects/-app/{session}.jsonl",
            "cwd": "/home/bench/app",
            "prompt_id": f"turn-{i}",
            "permission_mode": "default",
            "hook_event_name": "PermissionRequest",
            "tool_name": "Bash",
            "tool_input": {"command": command, "description": f"Run {command}"},
            "permission_suggestions": [],
        }
    ).encode()


def measure(server: Server, api_key: str, requests: int, warm: int = 10) -> list[float]:
    client = Client(server.host, server.port, {"X-Clone-API-Key": api_key})
    session = str(uuid.uuid4())
    times = []
    try:
        for i in range(requests + warm):
            started = time.perf_counter()
            status, raw = client.request(
                "POST", "/api/integrations/claude-code/hooks/", _hook(session, i)
            )
            elapsed = (time.perf_counter() - started) * 1000
            if status != 200:
                raise RuntimeError(f"hook answered {status}: {raw[:300]!r}")
            if i >= warm:
                times.append(elapsed)
    finally:
        client.close()
    return times


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="measured hooks (200)")
    parser.add_argument("--quick", action="store_true", help="60 hooks, 3 slow-model hooks")
    parser.add_argument("--json", metavar="OUT")
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    args = parser.parse_args(argv)
    requests = 60 if args.quick else args.requests

    database_url = prepare(args.database)
    with connect(database_url) as conn:
        user_id, seeded = seed.memory_user_ensure(
            conn, username=USERNAME, raw=RAW, facts=FACTS, episodes=EPISODES
        )
        if seeded:
            seed.analyze(conn)
    django_setup(database_url)
    api_key = api_key_for(user_id)

    with Server(database_url, workers=2, **service_env(None, CLONE_LLM_PROVIDER="local")) as server:
        local = measure(server, api_key, requests)
    slow = []
    with fake_model(delay_ms=3000) as fake_url:
        env = service_env(fake_url, CLONE_HOOK_DEADLINE_MS=str(DEADLINE_MS))
        with Server(database_url, workers=2, **env) as server:
            slow = measure(server, api_key, 3 if args.quick else 5, warm=1)

    p50, p99 = percentile(local, 50), percentile(local, 99)
    slowest = max(slow)
    rows = [
        row("PermissionRequest p50 (local provider)", p50, "ms", target="-", ok=None),
        row(
            "PermissionRequest p99 (local provider)",
            p99,
            "ms",
            target=f"<= {P99_TARGET_MS:g} ms",
            ok=p99 <= P99_TARGET_MS,
        ),
        row(
            "PermissionRequest, model taking 3 s (slowest)",
            slowest,
            "ms",
            floor=DEADLINE_MS,
            floor_label="CLONE_HOOK_DEADLINE_MS",
            target="deadline + < 500 ms",
            ok=slowest <= DEADLINE_MS + 500,
        ),
    ]
    result = {"module": "hooks", "requests": len(local), "rows": rows, "slow_model_ms": slow}
    for r in rows:
        print(f"{r['figure']}: {r['value']:.1f} {r['unit']} (target {r['target']})")
    write_json(args.json, result)
    return result


if __name__ == "__main__":
    main()
