"""Build memory state through the product's own services."""

from datetime import datetime, timedelta

from memories.services import raw_sync
from recording.services import event_ingest
from tests.factories import BASE_TIME, event


def ingest(user, *events: dict) -> None:
    event_ingest(user=user, events=list(events))


def dialogue(
    user,
    prompt: str,
    reply: str | None,
    *,
    agent: str = "claude-code",
    at: datetime | None = None,
    session_id: str = "s-1",
) -> str:
    """An agent prompt and (unless ``reply`` is None) the user's reply; returns the prompt id."""
    when = at or BASE_TIME
    p = event(
        "agent_prompt",
        session_id=session_id,
        occurred_at=when,
        payload={"agent": agent, "text": prompt},
    )
    events = [p]
    if reply is not None:
        events.append(
            event(
                "user_reply",
                session_id=session_id,
                occurred_at=when + timedelta(seconds=5),
                payload={"text": reply, "in_reply_to": p["id"]},
            )
        )
    ingest(user, *events)
    return p["id"]


def synced(user) -> int:
    return raw_sync(user=user)
