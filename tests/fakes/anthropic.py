"""A fake Anthropic Messages API on loopback, for tests and benchmarks.

A real HTTP server (``ThreadingHTTPServer`` on 127.0.0.1, random port) that speaks enough of
``POST /v1/messages`` for the official SDK, so tests drive the real client: its retries,
timeouts and error classes. Thread-safe; a batch may call it from many threads at once.

In tests, use the ``fake_anthropic`` fixture::

    def test_something(fake_anthropic):
        fake_anthropic.queue(error_reply(529))            # the first request gets a 529
        fake_anthropic.respond_with(lambda req: tool_reply({"title": "x"}))  # then this
        ...
        assert fake_anthropic.calls == 2
        assert fake_anthropic.requests[0]["model"] == "claude-sonnet-4-6"

The SDK retries 408/409/429/5xx and connection failures ``CLONE_LLM_MAX_RETRIES`` times, so a
failure that must outlast the retries belongs in ``respond_with``, not a single ``queue`` entry.

Standalone, for benchmarks::

    python -m tests.fakes.anthropic --port 8765 --delay-ms 300 --reply-file reply.json

answers every request with a tool call whose input is the JSON object in ``reply.json``
(``{}`` without one), after the delay; with ``--tool-replies-file``, a call of a tool named there
gets that tool's input instead. It prints the URL it listens on, then serves until
interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import itertools
import json
import socket
import sys
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

DEFAULT_USAGE = {
    "input_tokens": 100,
    "output_tokens": 20,
    "cache_creation_input_tokens": 0,
    "cache_read_input_tokens": 0,
}

_ids = itertools.count(1)


@dataclass(frozen=True)
class Reply:
    """What the fake does with one request.

    ``body`` is a dict or a function of the request JSON returning one (tool names and the model
    are echoed from the request). ``delay_s`` waits before answering; ``drop`` closes the
    connection without any response.
    """

    status: int = 200
    body: dict | Callable[[dict], dict] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    drop: bool = False


class ReceivedRequest(dict):
    """A request's JSON body (a dict), plus ``.headers`` (lower-case names) and ``.path``."""

    def __init__(self, body: dict, *, headers: dict[str, str], path: str) -> None:
        super().__init__(body)
        self.headers = headers
        self.path = path


# --- Reply builders -----------------------------------------------------------------------------


def _tool_name(request: dict) -> str:
    choice = request.get("tool_choice") or {}
    if choice.get("name"):
        return choice["name"]
    tools = request.get("tools") or []
    return tools[0].get("name", "answer") if tools else "answer"


def _message(request: dict, content: list[dict], stop_reason: str, usage: dict | None) -> dict:
    return {
        "id": f"msg_fake_{next(_ids)}",
        "type": "message",
        "role": "assistant",
        "model": request.get("model", "claude-fake"),
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {**DEFAULT_USAGE, **(usage or {})},
    }


def tool_reply(input: dict, *, usage: dict | None = None, stop_reason: str = "tool_use") -> Reply:
    """A 200 whose content is one call of the requested tool with ``input``."""

    def body(request: dict) -> dict:
        block = {
            "type": "tool_use",
            "id": f"toolu_fake_{next(_ids)}",
            "name": _tool_name(request),
            "input": input,
        }
        return _message(request, [block], stop_reason, usage)

    return Reply(body=body)


def text_reply(text: str, *, usage: dict | None = None) -> Reply:
    """A 200 with a text answer and no tool call."""
    return Reply(
        body=lambda request: _message(request, [{"type": "text", "text": text}], "end_turn", usage)
    )


def refusal_reply(*, usage: dict | None = None) -> Reply:
    """A 200 whose stop reason is ``refusal``."""
    content = [{"type": "text", "text": "I can't help with that."}]
    return Reply(body=lambda request: _message(request, content, "refusal", usage))


def error_reply(
    status: int,
    *,
    error_type: str = "api_error",
    message: str = "Something went wrong (fake).",
    headers: dict[str, str] | None = None,
) -> Reply:
    """An error in the Messages API's shape, e.g. ``error_reply(429, headers={"retry-after": "30"})``."""
    body = {"type": "error", "error": {"type": error_type, "message": message}}
    return Reply(status=status, body=body, headers=dict(headers or {}))


def slow_reply(seconds: float, then: Reply | None = None) -> Reply:
    """``then`` (default: a tool call answering ``{}``) after ``seconds``."""
    return dataclasses.replace(then or tool_reply({}), delay_s=seconds)


def drop_connection() -> Reply:
    """Close the connection without answering."""
    return Reply(drop=True)


def _default_responder(request: dict) -> Reply:
    """What the fake answers when nothing was queued and no responder set: a tool call of ``{}``."""
    return tool_reply({})


# --- The server ---------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # a 16-thread batch must not see refused connections
    fake: FakeAnthropic


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's connection pool expects
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms stall
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = None
        headers = {name.lower(): value for name, value in self.headers.items()}
        received = ReceivedRequest(
            body if isinstance(body, dict) else {}, headers=headers, path=self.path
        )
        reply = self.server.fake._reply_for(received, valid_json=isinstance(body, dict))
        if reply.delay_s and self.server.fake._stopping.wait(reply.delay_s):
            reply = drop_connection()  # the fake is shutting down
        if reply.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        payload_body = reply.body(dict(received)) if callable(reply.body) else reply.body
        payload = json.dumps(payload_body or {}).encode()
        try:
            self.send_response(reply.status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.send_header("request-id", f"req_fake_{next(_ids)}")
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up first (a timeout test)


class FakeAnthropic:
    """The fake's state: queued replies, the responder, and every request received."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, keep_requests: bool = True):
        self._lock = threading.Lock()
        self._keep_requests = keep_requests  # off for long benchmark runs: count only
        self._calls = 0
        self._queue: deque[Reply] = deque()
        self._responder: Callable[[dict], Reply | dict] = _default_responder
        self._requests: list[ReceivedRequest] = []
        self._stopping = threading.Event()
        self._server = _Server((host, port), _Handler)
        self._server.fake = self
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeAnthropic:
        # A short poll interval: shutdown() waits for it, once per test.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="fake-anthropic",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def respond_with(self, fn: Callable[[dict], Reply | dict]) -> None:
        """Answer requests (once the queue is empty) with ``fn(request_json)``.

        ``fn`` returns a ``Reply``, or a dict that is used as the tool call's input.
        """
        with self._lock:
            self._responder = fn

    def queue(self, *replies: Reply | dict) -> None:
        """Use these replies, in order, before falling back to the responder."""
        with self._lock:
            self._queue.extend(replies)

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def calls(self) -> int:
        with self._lock:
            return self._calls

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self._requests.clear()
            self._calls = 0
            self._responder = _default_responder

    def _reply_for(self, request: ReceivedRequest, *, valid_json: bool) -> Reply:
        with self._lock:
            self._calls += 1
            if self._keep_requests:
                self._requests.append(request)
            problem = self._invalid(request, valid_json=valid_json)
            if problem is not None:
                return problem
            reply = self._queue.popleft() if self._queue else None
            responder = self._responder
        if reply is None:
            reply = responder(dict(request))  # outside the lock: it may be slow or re-enter
        return tool_reply(reply) if isinstance(reply, dict) else reply

    @staticmethod
    def _invalid(request: ReceivedRequest, *, valid_json: bool) -> Reply | None:
        if request.path.split("?")[0] != "/v1/messages":
            return error_reply(404, error_type="not_found_error", message="Not found.")
        if not (request.headers.get("x-api-key") or request.headers.get("authorization")):
            return error_reply(
                401, error_type="authentication_error", message="No API key was sent."
            )
        if not valid_json:
            return error_reply(400, error_type="invalid_request_error", message="Bad JSON.")
        missing = [k for k in ("model", "max_tokens", "messages") if k not in request]
        if missing:
            return error_reply(
                400,
                error_type="invalid_request_error",
                message=f"Missing required fields: {', '.join(missing)}.",
            )
        return None


@pytest.fixture(scope="session")
def _fake_anthropic_server():
    # One server for the session: a stable URL lets the gateway reuse its cached SDK client
    # (building one costs ~0.1 s of TLS setup) and spares a shutdown per test.
    fake = FakeAnthropic().start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def fake_anthropic(settings, _fake_anthropic_server):
    """The running fake, reset, with settings pointing the gateway at it (key ``sk-test``)."""
    fake = _fake_anthropic_server
    fake.reset()
    settings.ANTHROPIC_BASE_URL = fake.base_url
    settings.ANTHROPIC_API_KEY = "sk-test"
    settings.CLONE_LLM_PROVIDER = "anthropic"
    try:
        yield fake
    finally:
        fake.reset()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A fake Anthropic Messages API on loopback.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--delay-ms", type=float, default=0.0, help="wait before each answer")
    parser.add_argument("--reply-file", help="JSON object used as every tool call's input")
    parser.add_argument(
        "--tool-replies-file",
        help="JSON object {tool name: input}: the input for a call of that tool (else reply-file)",
    )
    parser.add_argument("--input-tokens", type=int, default=DEFAULT_USAGE["input_tokens"])
    parser.add_argument("--output-tokens", type=int, default=DEFAULT_USAGE["output_tokens"])
    args = parser.parse_args(argv)

    tool_input: dict = {}
    if args.reply_file:
        with open(args.reply_file, encoding="utf-8") as handle:
            tool_input = json.load(handle)
        if not isinstance(tool_input, dict):
            parser.error("--reply-file must hold a JSON object")
    by_tool: dict = {}
    if args.tool_replies_file:
        with open(args.tool_replies_file, encoding="utf-8") as handle:
            by_tool = json.load(handle)
    usage = {"input_tokens": args.input_tokens, "output_tokens": args.output_tokens}
    replies = {
        name: slow_reply(args.delay_ms / 1000, then=tool_reply(value, usage=usage))
        for name, value in by_tool.items()
    }
    reply = slow_reply(args.delay_ms / 1000, then=tool_reply(tool_input, usage=usage))

    fake = FakeAnthropic(host=args.host, port=args.port, keep_requests=False)
    fake.respond_with(lambda request: replies.get(_tool_name(request), reply))
    print(f"fake Anthropic listening on {fake.base_url}", flush=True)
    try:
        fake.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fake._server.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
