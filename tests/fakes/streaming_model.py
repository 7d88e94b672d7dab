"""A loopback Messages API that streams, scripted to drive the real Claude Code CLI.

Claude Code calls ``POST /v1/messages?beta=true`` with ``"stream": true`` and reads Server-Sent
Events. This fake answers a conversation whose last user message asks ``run: <command>`` with a
``Bash`` tool call of that command (streamed as ``input_json_delta``), and the next request (which
carries the ``tool_result``) with a short text, so one prompt is one full agent turn:

    message_start, content_block_start (tool_use), content_block_delta (input_json_delta),
    content_block_stop, message_delta (stop_reason tool_use), message_stop

Any other request (Claude Code's own side requests: titles, topic checks, a non-streaming
probe) gets a short text answer. Every request body is kept in ``requests`` for assertions.

Standalone: ``python -m tests.fakes.streaming_model --port 8501`` prints its URL and serves.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_ids = itertools.count(1)
_RUN = re.compile(r"run:\s*(.+)", re.IGNORECASE)
_USAGE = {
    "input_tokens": 50,
    "output_tokens": 10,
    "cache_creation_input_tokens": 0,
    "cache_read_input_tokens": 0,
}


def _texts(message: dict) -> list[str]:
    content = message.get("content")
    if isinstance(content, str):
        return [content]
    return [
        b.get("text", "") for b in content or [] if isinstance(b, dict) and b.get("type") == "text"
    ]


def _has_tool_result(message: dict) -> bool:
    content = message.get("content")
    return isinstance(content, list) and any(
        isinstance(b, dict) and b.get("type") == "tool_result" for b in content
    )


def plan(request: dict) -> tuple[str, Any]:
    """What to answer: ``("tool", command)`` or ``("text", text)``."""
    # Claude Code may append a ``system``-role message after the person's turn: skip it.
    messages = [
        m
        for m in request.get("messages") or []
        if isinstance(m, dict) and m.get("role") in ("user", "assistant")
    ]
    if not messages or messages[-1].get("role") != "user":
        return "text", "OK."
    last = messages[-1]
    if _has_tool_result(last):
        return "text", "Done."
    if not any(t.get("name") == "Bash" for t in request.get("tools") or []):
        return "text", "OK."
    for text in reversed(_texts(last)):
        # The person's prompt is the last text block; system reminders come before it.
        match = _RUN.search(text.strip().splitlines()[-1] if text.strip() else "")
        if match:
            return "tool", match.group(1).strip()
    return "text", "OK."


def _events(request: dict) -> list[tuple[str, dict]]:
    kind, value = plan(request)
    model = request.get("model", "claude-fake")
    message = {
        "id": f"msg_fake_{next(_ids)}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**_USAGE, "output_tokens": 1},
    }
    events: list[tuple[str, dict]] = [
        ("message_start", {"type": "message_start", "message": message})
    ]
    if kind == "tool":
        block = {
            "type": "tool_use",
            "id": f"toolu_fake{next(_ids):06d}",
            "name": "Bash",
            "input": {},
        }
        arguments = json.dumps({"command": value, "description": f"Run {value}"})
        half = len(arguments) // 2
        events += [
            (
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": block},
            ),
            *[
                (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "input_json_delta", "partial_json": part},
                    },
                )
                for part in (arguments[:half], arguments[half:])
            ],
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ]
        stop_reason = "tool_use"
    else:
        events += [
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            ),
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": value},
                },
            ),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ]
        stop_reason = "end_turn"
    events += [
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": _USAGE["output_tokens"]},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return events


def _whole_message(request: dict) -> dict:
    """The same answer, not streamed (for a request without ``"stream": true``)."""
    kind, value = plan(request)
    if kind == "tool":
        content = [
            {
                "type": "tool_use",
                "id": f"toolu_fake{next(_ids):06d}",
                "name": "Bash",
                "input": {"command": value, "description": f"Run {value}"},
            }
        ]
        stop_reason = "tool_use"
    else:
        content = [{"type": "text", "text": value}]
        stop_reason = "end_turn"
    return {
        "id": f"msg_fake_{next(_ids)}",
        "type": "message",
        "role": "assistant",
        "model": request.get("model", "claude-fake"),
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": dict(_USAGE),
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: StreamingModel


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_HEAD(self) -> None:
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        self._json(
            404, {"type": "error", "error": {"type": "not_found_error", "message": "Not found."}}
        )

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        path = self.path.split("?")[0]
        self.server.fake._record(path, body if isinstance(body, dict) else {})
        if path == "/v1/messages/count_tokens":
            self._json(200, {"input_tokens": 100})
            return
        if path != "/v1/messages" or not isinstance(body, dict):
            self._json(
                404,
                {"type": "error", "error": {"type": "not_found_error", "message": "Not found."}},
            )
            return
        if not body.get("stream"):
            self._json(200, _whole_message(body))
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("request-id", f"req_fake_{next(_ids)}")
        self.send_header("connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            for name, data in _events(body):
                self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _json(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class StreamingModel:
    """The running fake: ``base_url``, ``requests`` (path, body), ``start()``, ``stop()``."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._lock = threading.Lock()
        self._requests: list[tuple[str, dict]] = []
        self._server = _Server((host, port), _Handler)
        self._server.fake = self
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def requests(self) -> list[tuple[str, dict]]:
        with self._lock:
            return list(self._requests)

    log_path: str | None = None

    def _record(self, path: str, body: dict) -> None:
        with self._lock:
            self._requests.append((path, body))
            if self.log_path:
                with open(self.log_path, "a", encoding="utf-8") as handle:
                    handle.write(json.dumps({"path": path, "body": body}) + "\n")

    def start(self) -> StreamingModel:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A streaming fake Messages API for Claude Code.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log", help="append each request (path and body) to this JSONL file")
    args = parser.parse_args(argv)
    fake = StreamingModel(host=args.host, port=args.port)
    fake.log_path = args.log
    print(f"streaming fake model listening on {fake.base_url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        fake._server.serve_forever()


if __name__ == "__main__":
    main()
