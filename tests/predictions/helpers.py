"""Builders for prediction tests, through the product's own services."""

from typing import Any

from memories.services import fact_create, raw_sync
from recording.services import event_ingest
from tests.factories import event


def history_with_reply(user, *, prompt: str, reply: str, agent: str = "claude-code", n: int = 1):
    """Record ``n`` agent prompts with the user's reply, and sync them into memory."""
    events = []
    for _ in range(n):
        asked = event("agent_prompt", payload={"agent": agent, "text": prompt})
        events.append(asked)
        events.append(event("user_reply", payload={"text": reply, "in_reply_to": asked["id"]}))
    event_ingest(user=user, events=events)
    raw_sync(user=user)


def candidates_answer(*candidates: tuple[str, float, list[int]]) -> dict[str, Any]:
    return {
        "candidates": [
            {"text": text, "reasoning": f"because {text}", "confidence": conf, "cited_facts": cited}
            for text, conf, cited in candidates
        ]
    }


def a_fact(user, text: str = "Answers yes to running tests.", importance: float = 0.5):
    return fact_create(user=user, text=text, kind="preference", importance=importance)


def labelled_predictions(user, fake_anthropic, rows) -> None:
    """One prediction per ``(confidence, outcome)`` in ``rows`` (the fake model answers "yes" at
    that confidence), each given that feedback: labels for the calibration fit."""
    from predictions.services import prediction_create, prediction_feedback
    from tests.fakes.anthropic import tool_reply

    for confidence, outcome in rows:
        fake_anthropic.queue(tool_reply(candidates_answer(("yes", confidence, []))))
        prediction = prediction_create(user=user, agent="a", agent_input="Ship it?")
        prediction_feedback(
            user=user,
            prediction_id=prediction.id,
            outcome=outcome,
            actual_reply="" if outcome == "accepted" else "no",
        )
