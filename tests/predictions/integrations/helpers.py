"""Builders for the integration tests: real hook payloads, and a person with a history."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from predictions.services import calibration_refit, prediction_create, prediction_feedback
from tests.predictions.helpers import history_with_reply

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


def trusted_history(user, *, text: str, reply: str, n: int = 40, agent: str = "claude-code"):
    """A person who answered ``text`` with ``reply`` ``n`` times, and whose predictions on it
    were labelled and calibrated: what an imported and learned history leaves behind."""
    history_with_reply(user, prompt=text, reply=reply, agent=agent, n=n)
    for _ in range(n):
        prediction = prediction_create(user=user, agent=agent, agent_input=text)
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
