"""The MCP server: in memory with the SDK's client against the live server, and once as a real
stdio subprocess."""

import json
import threading
import time

import anyio
import httpx
import pytest
from conftest import CLONE
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

from clone_cli.config import Config
from clone_cli.mcp_server import build_server

TOOLS = {"ask_person", "predict_reply", "recall", "remember", "record_answer"}


def _run(coro_fn):
    return anyio.run(coro_fn)


def _data(result):
    assert not result.is_error, result.content
    if result.structured_content is not None:
        sc = result.structured_content
        return sc.get("result", sc) if isinstance(sc, dict) and set(sc) == {"result"} else sc
    return json.loads(result.content[0].text)


def _error_text(result) -> str:
    """The tool error's text, without the SDK's "Error executing tool NAME: " prefix."""
    assert result.is_error
    text = result.content[0].text
    return text.split(": ", 1)[1] if text.startswith("Error executing tool") else text


def _endpoint_exists(server, key, path) -> bool:
    with server.api(key) as api:
        r = api.get(path)
    return not (
        r.status_code == 404
        and r.json()["error"]["code"] == "not_found"
        and "No such" not in r.json()["error"]["message"]
    )


def test_tools_and_resources_are_listed_with_docstrings(server, alice_key):
    async def main():
        async with Client(build_server(Config(url=server.url, api_key=alice_key))) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            resources = {str(r.uri) for r in (await client.list_resources()).resources}
            return tools, resources

    tools, resources = _run(main)
    assert set(tools) == TOOLS
    assert "answered_by" in tools["ask_person"].description
    assert {"clone://profile", "clone://facts"} <= resources


def test_remember_recall_predict_and_resources_round_trip(server, alice_key):
    timings = {}

    async def main():
        async with Client(build_server(Config(url=server.url, api_key=alice_key))) as client:
            t = time.perf_counter()
            stored = _data(await client.call_tool("remember", {"text": "I deploy on Tuesdays."}))
            timings["remember"] = time.perf_counter() - t
            t = time.perf_counter()
            recalled = _data(await client.call_tool("recall", {"query": "When do I deploy?"}))
            timings["recall"] = time.perf_counter() - t
            t = time.perf_counter()
            predicted = _data(
                await client.call_tool(
                    "predict_reply", {"question": "Run the tests?", "agent": "mcp-test"}
                )
            )
            timings["predict_reply"] = time.perf_counter() - t
            profile = await client.read_resource("clone://profile")
            facts = await client.read_resource("clone://facts")
            return stored, recalled, predicted, profile, facts

    stored, recalled, predicted, profile, facts = _run(main)
    assert stored["stored"] is True
    assert {"profile", "facts", "relevant"} <= recalled.keys()
    assert predicted["status"] in ("auto", "escalated") and predicted["prediction_id"]
    assert isinstance(json.loads(facts.contents[0].text), list)
    assert isinstance(profile.contents[0].text, str)
    print("MCP round trips (s):", {k: round(v, 3) for k, v in timings.items()})


def test_a_server_error_is_a_tool_error_with_the_code(server, alice_key):
    async def main():
        async with Client(build_server(Config(url=server.url, api_key=alice_key))) as client:
            return await client.call_tool("record_answer", {"prediction_id": 999999, "reply": "x"})

    assert _error_text(_run(main)).startswith("not_found")


def test_no_key_and_a_refused_key_are_clear_tool_errors(server):
    async def call(key):
        async with Client(build_server(Config(url=server.url, api_key=key))) as client:
            return await client.call_tool("recall", {"query": "x"})

    assert _error_text(anyio.run(call, "")).startswith("not_logged_in")
    assert _error_text(anyio.run(call, "clone_deadbeef_nope")).startswith("authentication_failed")


def test_the_server_down_is_reported_not_hung_on(dead_url):
    async def main():
        async with Client(build_server(Config(url=dead_url, api_key="clone_x_y"))) as client:
            return await client.call_tool("ask_person", {"question": "Deploy?"})

    start = time.monotonic()
    assert _error_text(_run(main)).startswith("server_unreachable")
    assert time.monotonic() - start < 10


def test_ask_person_waits_for_the_persons_answer_given_through_the_rest_api(server):
    key = server.key("bob", "mcp wait")
    if not _endpoint_exists(server, key, "/api/predictions/inbox/"):
        pytest.skip("the inbox/answer endpoints are not on main yet")
    answered = {}

    def person():
        with server.api(key) as api:
            for _ in range(100):
                items = api.get("/api/predictions/inbox/").json()["results"]
                if items:
                    r = api.post(
                        f"/api/predictions/{items[0]['id']}/answer/",
                        json={"reply": "yes, but back up first"},
                    )
                    answered["status"] = r.status_code
                    return
                time.sleep(0.2)

    async def main():
        async with Client(
            build_server(Config(url=server.url, api_key=key), poll_initial_s=0.2)
        ) as client:
            thread = threading.Thread(target=person)
            thread.start()
            result = await client.call_tool(
                "ask_person",
                {
                    "question": "Drop the staging database?",
                    "agent": "mcp-test",
                    "options": ["yes", "no"],
                    "wait_seconds": 30,
                },
            )
            thread.join()
            return _data(result)

    start = time.perf_counter()
    result = _run(main)
    assert answered["status"] == 200
    assert result["answered_by"] == "person"
    assert result["answer"] == "yes, but back up first"
    print(f"MCP ask_person answered by the person in {time.perf_counter() - start:.2f} s")


def test_ask_person_without_an_answer_returns_nobody_and_the_id(server):
    key = server.key("bob", "mcp nobody")

    async def main():
        async with Client(
            build_server(Config(url=server.url, api_key=key), poll_initial_s=0.2)
        ) as client:
            return _data(
                await client.call_tool(
                    "ask_person",
                    {
                        "question": "Rename the production bucket?",
                        "agent": "mcp-test",
                        "wait_seconds": 1,
                    },
                )
            )

    result = _run(main)
    if result["answered_by"] == "clone":
        pytest.skip("Clone answered on its own (history); nothing to wait for")
    assert result["answered_by"] == "nobody" and result["prediction_id"]


def test_a_real_stdio_subprocess_lists_tools_and_answers_ask_person(server, tmp_path):
    key = server.key("bob", "mcp stdio")
    answer_exists = _endpoint_exists(server, key, "/api/predictions/inbox/")
    env = {
        "CLONE_URL": server.url,
        "CLONE_API_KEY": key,
        "HOME": str(tmp_path),
        "CLONE_CONFIG_DIR": str(tmp_path / "c"),
        "CLONE_DATA_DIR": str(tmp_path / "d"),
        "PATH": "/usr/bin:/bin",
    }

    def person():
        with httpx.Client(base_url=server.url, headers={"X-Clone-API-Key": key}) as api:
            for _ in range(150):
                items = api.get("/api/predictions/inbox/").json()["results"]
                mine = [p for p in items if p["agent_input"] == "Push to main now?"]
                if mine:
                    api.post(f"/api/predictions/{mine[0]['id']}/answer/", json={"reply": "no"})
                    return
                time.sleep(0.2)

    async def main():
        params = StdioServerParameters(command=CLONE, args=["mcp"], env=env)
        async with Client(params, read_timeout_seconds=60) as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            thread = None
            if answer_exists:
                thread = threading.Thread(target=person)
                thread.start()
            start = time.perf_counter()
            result = await client.call_tool(
                "ask_person",
                {
                    "question": "Push to main now?",
                    "agent": "stdio-test",
                    "wait_seconds": 30 if answer_exists else 1,
                },
            )
            elapsed = time.perf_counter() - start
            if thread:
                thread.join()
            return tools, _data(result), elapsed

    tools, result, elapsed = _run(main)
    assert tools == TOOLS
    if answer_exists:
        assert result["answered_by"] == "person" and result["answer"] == "no"
    else:
        assert result["answered_by"] in ("nobody", "clone")
    print(f"MCP stdio ask_person: {elapsed:.2f} s")
