"""The person's integration settings, read where the adapters need them."""

from __future__ import annotations

from django.contrib.auth.models import User

from memories.selectors import person_settings_get
from predictions.confidence import DEFAULT_THRESHOLD


def headless_answering(*, user: User, agent: str) -> bool:
    """Whether Clone decides ``PreToolUse`` itself (for runs where no dialog can open). Off
    unless the person turned it on."""
    return person_settings_get(user=user).headless_answering


def threshold_for(*, user: User, agent: str) -> float:
    """The person's auto-answer threshold for this agent (their per-agent setting, else 0.8)."""
    return person_settings_get(user=user).threshold_for(agent, DEFAULT_THRESHOLD)


def never_auto_patterns(*, user: User) -> list[str]:
    """The person's never-auto patterns (the server's defaults unless they set their own)."""
    return list(person_settings_get(user=user).never_auto)
