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
import socket
import sys
from urllib.parse import urlsplit

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
    headers = {
        "Content-Type": "application/json",
        "X-Clone-API-Key": cfg.api_key,
        "User-Agent": "clone-cli-hook",
    }
    status, text = post(cfg.url, f"/api/integrations/{agent}/hooks/", headers, body, deadline)
    if status != 200:
        return None
    answer = json.loads(text)
    if not isinstance(answer, dict):
        return None
    return json.dumps(answer)


def post(base_url: str, path: str, headers: dict, body: bytes, timeout: float) -> tuple[int, str]:
    """POST ``body`` to ``path`` on the server at ``base_url``: the status and the text of the
    answer, or status 0 when the server could not be reached or answered nothing usable."""
    parts = urlsplit(base_url)
    if parts.scheme != "http":
        return _post_tls(base_url.rstrip("/") + path, headers, body, timeout)
    try:
        return _post_plain(
            parts.hostname or "127.0.0.1",
            parts.port or 80,
            parts.path.rstrip("/") + path,
            parts.netloc,
            headers,
            body,
            timeout,
        )
    except (OSError, ValueError, IndexError):
        return 0, ""


def _post_plain(
    host: str, port: int, path: str, netloc: str, headers: dict, body: bytes, deadline: float
) -> tuple[int, str]:
    """One HTTP/1.1 POST over a plain socket: http.client would pull in ssl and email, whose
    import alone costs more than the rest of the hook's start-up."""
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {netloc}",
        "Connection: close",
        f"Content-Length: {len(body)}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    with socket.create_connection((host, port), timeout=deadline) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
            if sum(map(len, chunks)) > 2 * 1024 * 1024:
                return 0, ""
    raw = b"".join(chunks)
    head, _, payload = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    fields = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    if "chunked" in fields.get("transfer-encoding", "").lower():
        payload = _dechunk(payload)
    elif "content-length" in fields:
        payload = payload[: int(fields["content-length"])]
    return status, payload.decode("utf-8")


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2 :]
    return bytes(out)


def _post_tls(url: str, headers: dict, body: bytes, deadline: float) -> tuple[int, str]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=deadline) as response:  # noqa: S310
            return response.status, response.read(1024 * 1024).decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, ""
    except OSError:
        return 0, ""
