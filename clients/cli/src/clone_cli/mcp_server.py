"""`clone mcp`: Clone as an MCP server, so any MCP agent can ask the person through Clone.

Every tool is one or two REST calls with the CLI's configuration; the server decides
everything. Server errors become tool errors carrying the server's code and message; every
call has a timeout, so a server that is down is reported, never hung on.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx
from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from clone_cli import __version__, config, events
from clone_cli.config import Config

CALL_TIMEOUT_S = 15.0
MAX_WAIT_S = 3600

INSTRUCTIONS = """Clone knows how this person answers questions like yours. Before you stop to
ask them something (a permission, a choice, a preference), call ask_person: Clone answers at once
when it is confident, otherwise it puts the question in the person's inbox and waits for their
reply. Use recall for what they told Clone before and remember to keep something they just told
you."""


class _Rest:
    def __init__(self, cfg: Config, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.cfg = cfg
        self.transport = transport

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        if not self.cfg.api_key:
            raise ToolError(
                "not_logged_in: Clone has no API key on this machine; the person "
                "must run `clone login` (or set CLONE_API_KEY)."
            )
        headers = {"X-Clone-API-Key": self.cfg.api_key, "User-Agent": f"clone-mcp/{__version__}"}
        try:
            async with httpx.AsyncClient(
                base_url=self.cfg.url,
                headers=headers,
                timeout=CALL_TIMEOUT_S,
                transport=self.transport,
            ) as http:
                response = await http.request(method, path, json=body)
        except httpx.TimeoutException:
            raise ToolError(
                f"server_timeout: The Clone server at {self.cfg.url} did not answer "
                f"within {CALL_TIMEOUT_S:.0f} s."
            ) from None
        except httpx.TransportError as exc:
            raise ToolError(
                f"server_unreachable: Cannot reach the Clone server at "
                f"{self.cfg.url} ({type(exc).__name__})."
            ) from None
        if response.status_code >= 400:
            code, message = f"http_{response.status_code}", response.reason_phrase
            try:
                err = response.json().get("error") or {}
                code, message = err.get("code", code), err.get("message", message)
            except (ValueError, AttributeError):
                pass
            if response.status_code in (401, 403):
                message += " (the person must run `clone login` again)"
            raise ToolError(f"{code}: {message}")
        return response.json() if response.content else None


def _top(prediction: dict) -> dict:
    candidates = prediction.get("candidates") or []
    return candidates[0] if candidates else {}


def _person_answer(prediction: dict) -> str | None:
    """The person's reply once they gave it (the answer endpoint sets answered_by)."""
    answered_by = prediction.get("answered_by")
    if answered_by == "person":
        return prediction.get("answer") or prediction.get("actual_reply") or ""
    if "answered_by" not in prediction and prediction.get("outcome"):
        # A server without answered_by: any label with a reply is the person's answer.
        reply = prediction.get("actual_reply") or ""
        if not reply and prediction.get("outcome") == "accepted":
            reply = _top(prediction).get("text", "")
        return reply
    return None


def build_server(
    cfg: Config | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    poll_initial_s: float = 0.5,
    poll_max_s: float = 5.0,
) -> MCPServer:
    rest = _Rest(cfg or config.load(), transport)
    server = MCPServer(name="clone", version=__version__, instructions=INSTRUCTIONS)

    @server.tool()
    async def ask_person(
        question: str,
        agent: str = "mcp",
        options: list[str] | None = None,
        tool: dict[str, Any] | None = None,
        context: str | None = None,
        wait_seconds: int = 120,
    ) -> dict[str, Any]:
        """Ask the person a question and get their answer.

        Clone answers at once, as the person would, when it is confident
        (answered_by "clone"). Otherwise the question goes to the person's inbox and this call
        waits up to wait_seconds for their reply (answered_by "person"). If nobody answered in
        time you get answered_by "nobody" and a prediction_id: do not guess, ask again later or
        ask the person directly and report their reply with record_answer.

        question: what you want to ask, as you would ask the person.
        agent: your name (claude-code, cursor, ...).
        options: the choices you offer, if any (e.g. ["yes", "no"]).
        tool: the tool call you want permission for, e.g. {"name": "Bash", "input": {...}}.
        context: a short description of the situation (the task, the file).
        """
        body: dict[str, Any] = {"agent": agent, "agent_input": question}
        if options:
            body["options"] = options
        if tool:
            body["tool"] = tool
        if context:
            body["context"] = context
        prediction = await rest.call("POST", "/api/predictions/predict/", body)
        pid = prediction.get("id")
        if prediction.get("status") == "auto":
            return {
                "answer": _top(prediction).get("text"),
                "answered_by": "clone",
                "confidence": prediction.get("confidence"),
                "prediction_id": pid,
            }
        deadline = anyio.current_time() + max(0, min(wait_seconds, MAX_WAIT_S))
        delay = poll_initial_s
        while anyio.current_time() < deadline:
            await anyio.sleep(min(delay, max(0.0, deadline - anyio.current_time())))
            delay = min(delay * 1.5, poll_max_s)
            current = await rest.call("GET", f"/api/predictions/{pid}/")
            reply = _person_answer(current)
            if reply is not None:
                return {
                    "answer": reply,
                    "answered_by": "person",
                    "prediction_id": pid,
                    "answered_at": current.get("answered_at"),
                }
        return {
            "answer": None,
            "answered_by": "nobody",
            "prediction_id": pid,
            "message": "The person has not answered yet; the question stays in their inbox.",
        }

    @server.tool()
    async def predict_reply(
        question: str,
        agent: str = "mcp",
        k: int = 3,
        options: list[str] | None = None,
    ) -> dict[str, Any]:
        """How would the person answer? Returns Clone's candidate replies with calibrated
        confidences and whether Clone would answer on its own (status "auto") or ask the person
        ("escalated"). Nothing waits and nobody is asked: use ask_person to actually ask."""
        body: dict[str, Any] = {"agent": agent, "agent_input": question, "k": k}
        if options:
            body["options"] = options
        prediction = await rest.call("POST", "/api/predictions/predict/", body)
        return {
            "prediction_id": prediction.get("id"),
            "status": prediction.get("status"),
            "confidence": prediction.get("confidence"),
            "candidates": [
                {
                    "text": c.get("text"),
                    "confidence": c.get("confidence"),
                    "reasoning": c.get("reasoning"),
                }
                for c in prediction.get("candidates") or []
            ],
        }

    @server.tool()
    async def recall(query: str) -> dict[str, Any]:
        """What Clone knows that bears on a question: the person's profile, their most
        important facts, and their replies to the most similar earlier questions."""
        bundle = await rest.call("POST", "/api/memory/context/", {"agent_input": query})
        return {
            "profile": bundle.get("profile"),
            "facts": [
                {"id": f.get("id"), "text": f.get("text"), "kind": f.get("kind")}
                for f in bundle.get("facts") or []
            ],
            "relevant": bundle.get("relevant") or [],
        }

    @server.tool()
    async def remember(text: str) -> dict[str, Any]:
        """Keep in mind something the person told you to remember (stored as a note they can
        see and delete)."""
        if not text.strip():
            raise ToolError("invalid_request: text is empty.")
        event = events.note_event(text, session=f"mcp-{events.hostname()}", source="mcp")
        result = await rest.call("POST", "/api/recording/events/", event)
        return {"stored": bool((result or {}).get("created")), "event_id": event["id"]}

    @server.tool()
    async def record_answer(prediction_id: int, reply: str) -> dict[str, Any]:
        """Report the person's actual reply to a question you asked them yourself (use the
        prediction_id from ask_person or predict_reply), so Clone learns from it."""
        result = await rest.call(
            "POST", f"/api/predictions/{prediction_id}/answer/", {"reply": reply}
        )
        return {
            "prediction_id": prediction_id,
            "outcome": (result or {}).get("outcome"),
            "answered_by": (result or {}).get("answered_by", "person"),
        }

    @server.resource(
        "clone://profile",
        name="profile",
        mime_type="text/plain",
        description="The person's profile: who they are, as Clone knows them.",
    )
    async def profile() -> str:
        body = await rest.call("GET", "/api/memory/profile/")
        return (body or {}).get("body") or ""

    @server.resource(
        "clone://facts",
        name="facts",
        mime_type="application/json",
        description="The facts Clone holds about the person, most important first.",
    )
    async def facts() -> str:
        body = await rest.call("GET", "/api/memory/facts/?page_size=100")
        items = [
            {
                "id": f.get("id"),
                "text": f.get("text"),
                "kind": f.get("kind"),
                "importance": f.get("importance"),
            }
            for f in (body or {}).get("results", [])
        ]
        return json.dumps(items, ensure_ascii=False)

    return server


def serve(*, http: bool, host: str, port: int) -> None:
    server = build_server()
    if http:
        server.run("streamable-http", host=host, port=port)
    else:
        server.run("stdio")
