"""Builders for the integration tests: real hook payloads, and a person with a history."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from memories.services import raw_sync
from predictions.services import calibration_refit, prediction_create, prediction_feedback
from recording.services import event_ingest
from tests.factories import event

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_lines(name: str) -> list[str]:
    return (FIXTURES / name).read_text(encoding="utf-8").splitlines()


def captured_hooks() -> list[dict[str, Any]]:
    """The hook bodies Claude Code 2.1.332 sent in one interactive session (captured on this
    machine): a "touch" answered Yes in the dialog, another answered No, then a new prompt."""
    return [json.loads(line) for line in fixture_lines("claude_code_hooks_interactive.jsonl")]


def hook_body(event: str, *, session: str = "sess-1", turn: str = "turn-1", **fields: Any) -> dict:
    """A hook body shaped like the captured ones, for ``event``."""
    template = next(h for h in captured_hooks() if h["hook_event_name"] == event)
    body = copy.deepcopy(template)
    body["session_id"] = session
    body["prompt_id"] = turn
    command = fields.pop("command", None)
    if command is not None:
        body["tool_input"] = {"command": command, "description": f"Run {command}"}
    body.update(fields)
    return body


def _tool_of(text: str) -> dict[str, Any] | None:
    """``"Bash: npm test"`` -> the structured request an adapter records for it."""
    name, _, rest = text.partition(": ")
    if not rest:
        return None
    key = "command" if name in ("Bash", "Shell", "run_shell_command") else "file_path"
    return {"name": name, "input": {key: rest}}


def trusted_history(user, *, text: str, reply: str, n: int = 40, agent: str = "claude-code"):
    """A person who answered ``text`` with ``reply`` ``n`` times (recorded as the adapters record
    it, with its tool and options), and whose predictions on it were labelled and calibrated:
    what an imported and learned history leaves behind."""
    tool = _tool_of(text)
    events = []
    for _ in range(n):
        payload: dict[str, Any] = {"agent": agent, "text": text, "options": ["yes", "no"]}
        if tool:
            payload["tool"] = tool
        asked = event("agent_prompt", payload=payload)
        events += [asked, event("user_reply", payload={"text": reply, "in_reply_to": asked["id"]})]
    event_ingest(user=user, events=events)
    raw_sync(user=user)
    for _ in range(n):
        prediction = prediction_create(
            user=user, agent=agent, agent_input=text, tool=tool, options=["yes", "no"]
        )
        top = prediction.candidates[0]["text"] if prediction.candidates else ""
        prediction_feedback(
            user=user,
            prediction_id=prediction.id,
            outcome="accepted" if top == reply else "rejected",
            actual_reply=reply,
        )
    # And requests it had no evidence for, which the person answered otherwise: without them a
    # calibration learns that every prediction is right.
    for i in range(n // 2):
        prediction = prediction_create(user=user, agent=agent, agent_input=f"{text} --variant {i}")
        prediction_feedback(
            user=user, prediction_id=prediction.id, outcome="rejected", actual_reply="later"
        )
    calibration_refit(user=user)
