"""``clone hook <agent>``: the command-hook form, for agents that run a command per hook event.

It reads the hook JSON on stdin, forwards it to ``POST /api/integrations/<agent>/hooks/`` and
prints the server's answer. On any failure (no configuration, server down or slow, a refusal,
a bad answer, the deadline) it prints nothing and exits 0, so the agent falls back to asking the
person. Standard library only, imported before anything else, so it starts fast; a SIGALRM
timer enforces the deadline end to end, whatever is blocking.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import urllib.error
import urllib.request

DEFAULT_DEADLINE_S = 1.5
_AGENT = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_USAGE = "usage: clone hook AGENT [--timeout SECONDS]  (reads the hook JSON on stdin)\n"


def _give_up(*_: object) -> None:
    os._exit(0)


def _parse(argv: list[str]) -> tuple[str, float] | None:
    agent, deadline = None, DEFAULT_DEADLINE_S
    args = iter(argv)
    for arg in args:
        if arg in ("-h", "--help"):
            return None
        if arg == "--timeout" or arg.startswith("--timeout="):
            value = arg.split("=", 1)[1] if "=" in arg else next(args, "")
            try:
                deadline = float(value)
            except ValueError:
                return None
            if not 0 < deadline <= 60:
                return None
        elif agent is None:
            agent = arg
        else:
            return None
    if agent is None or not _AGENT.match(agent):
        return None
    return agent, deadline


def run(argv: list[str]) -> int:
    parsed = _parse(argv)
    if parsed is None:
        # A person typed it wrong: say so (an agent never passes --help or a bad name).
        sys.stderr.write(_USAGE)
        return 2
    agent, deadline = parsed
    signal.signal(signal.SIGALRM, _give_up)
    signal.setitimer(signal.ITIMER_REAL, deadline)
    try:
        answer = _forward(agent, deadline)
    except BaseException:
        answer = None
    signal.setitimer(signal.ITIMER_REAL, 0)
    if answer:
        sys.stdout.write(answer)
        sys.stdout.flush()
    return 0


def _forward(agent: str, deadline: float) -> str | None:
    from clone_cli.config import load

    body = sys.stdin.buffer.read(5 * 1024 * 1024 + 1)
    if not body.strip() or len(body) > 5 * 1024 * 1024:
        return None
    json.loads(body)  # not JSON: nothing to forward
    cfg = load()
    if not cfg.api_key:
        return None
    request = urllib.request.Request(  # noqa: S310 - the URL is the user's own configured server
        f"{cfg.url}/api/integrations/{agent}/hooks/",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Clone-API-Key": cfg.api_key,
            "User-Agent": "clone-cli-hook",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=deadline) as response:  # noqa: S310
            if response.status != 200:
                return None
            text = response.read(1024 * 1024).decode("utf-8")
    except (urllib.error.URLError, OSError, ValueError):
        return None
    answer = json.loads(text)
    if not isinstance(answer, dict):
        return None
    return json.dumps(answer)
