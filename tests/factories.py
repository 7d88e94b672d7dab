"""Small builders for wire-shaped data; state is created through the product's own services."""

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

_ids = itertools.count(1)
BASE_TIME = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

_PAYLOADS: dict[str, dict[str, Any]] = {
    "agent_prompt": {"agent": "claude-code", "text": "Run the test suite?"},
    "user_reply": {"text": "yes", "in_reply_to": "p-1"},
    "terminal_turn": {
        "command": "pytest -x",
        "output": "1 failed",
        "exit_code": 1,
        "cwd": "~/shop",
    },
    "desktop_frame": {"app": "Code", "window_title": "shop — models.py", "text": "class Order"},
    "integration_webhook": {"integration": "github", "event": "pull_request", "data": {"n": 1}},
    "note": {"text": "Prefer pnpm over npm."},
}


def event(
    kind: str = "terminal_turn",
    *,
    id: str | None = None,
    session_id: str = "s-1",
    occurred_at: datetime | str | None = None,
    payload: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A valid CloneEvent of ``kind`` with unique id and increasing time unless given."""
    n = next(_ids)
    when = occurred_at or BASE_TIME + timedelta(seconds=n)
    return {
        "id": id or f"ev-{n}",
        "session_id": session_id,
        "kind": kind,
        "occurred_at": when if isinstance(when, str) else when.isoformat(),
        "payload": payload if payload is not None else dict(_PAYLOADS[kind]),
        **extra,
    }
