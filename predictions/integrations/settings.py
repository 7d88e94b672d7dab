"""The person's integration settings, read where the adapters need them."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from memories.selectors import profile_get


def headless_answering(*, user: AbstractBaseUser, agent: str) -> bool:
    """Whether Clone decides ``PreToolUse`` itself (for runs where no dialog can open). Off
    unless the person turned it on."""
    profile = profile_get(user=user)
    values = getattr(profile, "settings", None)
    return isinstance(values, dict) and values.get("headless_answering") is True
