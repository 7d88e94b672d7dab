"""record note / events, local validation with line numbers, batches, retries, the spool."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import Cli, free_port


def _events(prefix: str, n: int, session: str = "cli-tests") -> list[dict]:
    return [
        {
            "id": f"{prefix}-{i}",
            "session_id": session,
            "kind": "note",
            "occurred_at": "2026-11-20T18:00:00Z",
            "payload": {"text": f"note {i}"},
        }
        for i in range(n)
    ]


def _session_ids(server, key, session) -> set[str]:
    with server.api(key) as api:
        ids, page = set(), 1
        while True:
            r = api.get(
                f"/api/recording/sessions/{session}/events/",
                params={"page": page, "page_size": 500},
            )
            if r.status_code == 404:
                return ids
            body = r.json()
            ids |= {e["id"] for e in body["results"]}
            if not body["next"]:
                return ids
            page += 1


def test_record_note_is_stored_as_a_note_event(cli):
    result = cli("--json", "record", "note", "Never push on Fridays.")
    assert result.returncode == 0, result.stderr
    assert result.json == {"created": 1, "duplicates": 0, "spooled": 0}


def test_record_events_sends_a_big_file_in_batches_and_again_is_all_duplicates(
    cli, tmp_path, server, alice_key
):
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in _events("big", 1200, "big")) + "\n")
    first = cli("--json", "record", "events", str(path))
    assert first.returncode == 0, first.stderr
    assert first.json == {"created": 1200, "duplicates": 0, "spooled": 0}
    again = cli("--json", "record", "events", str(path))
    assert again.json == {"created": 0, "duplicates": 1200, "spooled": 0}
    assert len(_session_ids(server, alice_key, "big")) == 1200


def test_a_json_array_from_stdin_is_accepted(cli):
    result = cli("--json", "record", "events", "-", input=json.dumps(_events("arr", 3)))
    assert result.returncode == 0, result.stderr
    assert result.json["created"] == 3


@pytest.mark.parametrize(
    ("text", "line", "path"),
    [
        pytest.param('{"id": "a"}\nnot json\n', 2, "$", id="jsonl-not-json"),
        pytest.param(
            json.dumps(_events("x", 1)[0])
            + "\n\n"
            + json.dumps({**_events("y", 1)[0], "kind": "nope"})
            + "\n",
            3,
            "$.kind",
            id="jsonl-bad-kind",
        ),
        pytest.param(
            "[\n"
            + json.dumps(_events("z", 1)[0])
            + ",\n"
            + json.dumps({**_events("w", 1)[0], "payload": {}})
            + "\n]",
            3,
            "$.payload",
            id="array-missing-payload-text",
        ),
    ],
)
def test_a_bad_event_is_reported_with_its_line_number_and_nothing_is_sent(
    cli, text, line, path, server, alice_key
):
    result = cli("--json", "record", "events", "-", input=text)
    assert result.returncode == 2
    error = result.json["error"]
    assert error["code"] == "invalid_event"
    assert any(d["line"] == line and d["path"].startswith(path) for d in error["details"]), error
    human = cli("record", "events", "-", input=text)
    assert f"line {line}" in human.stderr and "Traceback" not in human.stderr
    assert not _session_ids(server, alice_key, "cli-tests") & {"x-0", "z-0"}


class _Flaky(BaseHTTPRequestHandler):
    """429 with Retry-After: 1 on the first POST, then 201."""

    calls: list[float] = []

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length))
        self.calls.append(time.monotonic())
        if len(self.calls) == 1:
            payload, status, headers = (
                {"error": {"code": "throttled", "message": "slow down"}},
                429,
                {"Retry-After": "1"},
            )
        else:
            payload, status, headers = (
                {"created": [e["id"] for e in body], "duplicates": []},
                201,
                {},
            )
        data = json.dumps(payload).encode()
        self.send_response(status)
        for k, v in {
            "Content-Type": "application/json",
            "Content-Length": str(len(data)),
            **headers,
        }.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_429_is_retried_after_the_servers_retry_after(tmp_path):
    _Flaky.calls = []
    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), _Flaky)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        cli = Cli(tmp_path, f"http://127.0.0.1:{httpd.server_port}", "clone_x_y")
        result = cli("--json", "record", "note", "hello")
    finally:
        httpd.shutdown()
    assert result.returncode == 0, result.stderr
    assert result.json["created"] == 1
    assert len(_Flaky.calls) == 2 and _Flaky.calls[1] - _Flaky.calls[0] >= 0.95


def test_offline_events_are_spooled_and_sent_once_by_the_next_command(
    tmp_path, dead_url, server, alice_key
):
    offline = Cli(tmp_path, dead_url, alice_key)
    result = offline(
        "--json", "record", "events", "-", input=json.dumps(_events("off", 5, "spool-a"))
    )
    assert result.returncode == 0
    assert result.json == {"created": 0, "duplicates": 0, "spooled": 5}
    assert offline("--json", "status").returncode == 4

    online = Cli(tmp_path, server.url, alice_key)
    status = online("--json", "status")
    assert status.returncode == 0 and status.json["spooled"] == 0
    assert "Sent 5 spooled" in status.stderr
    assert _session_ids(server, alice_key, "spool-a") == {f"off-{i}" for i in range(5)}
    assert online("--json", "sync").json["sent"] == 0


def test_two_writers_offline_then_two_syncs_at_once_lose_nothing_and_send_nothing_twice(
    tmp_path, dead_url, server, alice_key
):
    offline = Cli(tmp_path, dead_url, alice_key)
    writers = []
    for w in range(2):
        text = "\n".join(json.dumps(e) for e in _events(f"w{w}", 300, "spool-b"))
        p = offline.popen("--json", "record", "events", "-")
        writers.append((p, text))
    outs = [p.communicate(text, timeout=60) for p, text in writers]
    assert [p.returncode for p, _ in writers] == [0, 0], outs
    spool = (offline.data_dir / "spool.jsonl").read_text().splitlines()
    assert len(spool) == 600 and len({json.loads(line)["id"] for line in spool}) == 600

    online = Cli(tmp_path, server.url, alice_key)
    syncs = [online.popen("--json", "sync") for _ in range(2)]
    results = [json.loads(p.communicate(timeout=60)[0]) for p in syncs]
    assert sum(r["sent"] for r in results) == 600
    assert sum(r["duplicates"] for r in results) == 0
    assert _session_ids(server, alice_key, "spool-b") == (
        {f"w0-{i}" for i in range(300)} | {f"w1-{i}" for i in range(300)}
    )
    assert (online.data_dir / "spool.jsonl").read_text() == ""
