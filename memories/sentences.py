"""Turn one Recording event into one readable sentence (the RawMemory text)."""

import re
from dataclasses import dataclass
from typing import Any

# A sentence for the context bundle, not an archive: long texts are cut.
SENTENCE_QUOTE_CHARS = 300
# Prompt and reply texts kept in full (for relevance and the bundle), up to this size.
DIALOGUE_CHARS = 4000

_WS = re.compile(r"\s+")


def _clean(text: Any, limit: int) -> str:
    value = _WS.sub(" ", str(text or "")).strip()
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def _quote(text: Any) -> str:
    return '"' + _clean(text, SENTENCE_QUOTE_CHARS) + '"'


@dataclass(frozen=True)
class EventSentence:
    text: str
    agent: str = ""
    prompt_text: str | None = None
    reply_text: str | None = None
    in_reply_to: str = ""


def event_sentence(
    *, kind: str, payload: dict[str, Any], prompt_agent: str | None
) -> EventSentence:
    """One sentence for an event of ``kind``. ``prompt_agent`` is the agent whose prompt a
    ``user_reply`` answers, when that prompt is known."""
    if kind == "terminal_turn":
        where = f" in {_clean(payload['cwd'], 200)}" if payload.get("cwd") else ""
        code = payload.get("exit_code")
        status = f" (exit {code})" if isinstance(code, int) else ""
        return EventSentence(f"Ran {_quote(payload.get('command'))}{where}{status}.")
    if kind == "agent_prompt":
        agent = _clean(payload.get("agent"), 200)
        return EventSentence(
            f"{agent} asked: {_quote(payload.get('text'))}",
            agent=agent,
            prompt_text=_clean(payload.get("text"), DIALOGUE_CHARS),
        )
    if kind == "user_reply":
        to = f" to {prompt_agent}" if prompt_agent else ""
        return EventSentence(
            f"Replied{to}: {_quote(payload.get('text'))}",
            agent=prompt_agent or "",
            reply_text=_clean(payload.get("text"), DIALOGUE_CHARS),
            in_reply_to=str(payload.get("in_reply_to") or ""),
        )
    if kind == "desktop_frame":
        app = _clean(payload.get("app"), 200)
        title = payload.get("window_title")
        return EventSentence(f"Looked at {_quote(title)} in {app}." if title else f"Used {app}.")
    if kind == "integration_webhook":
        integration = _clean(payload.get("integration"), 200)
        return EventSentence(f"{integration} reported {_quote(payload.get('event'))}.")
    if kind == "note":
        return EventSentence(f"Noted: {_quote(payload.get('text'))}")
    return EventSentence(f"{_clean(kind, 64)} event.")
