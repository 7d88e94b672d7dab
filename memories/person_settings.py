r"""The person's own rules for how much Clone may answer alone, stored on their profile.

This module owns their storage, defaults and validation; the Prediction layer applies them.

- ``never_auto``: patterns that are never answered automatically. A pattern is a
  case-insensitive Python regular expression searched in the request: its question, the tool's
  name and the tool's input values (``predictions.confidence.never_auto_match`` applies them).
  ``\bgit\s+push\b.*--force`` matches ``git push origin main --force``. ``null`` (the default)
  means the server's list, :data:`DEFAULT_NEVER_AUTO`; ``[]`` means none.
- ``audit_rate``: the share (0..1) of would-be automatic answers escalated anyway so their
  precision stays measured; ``null`` means ``settings.CLONE_AUDIT_RATE``.
- ``min_labels_for_auto``: how many labelled answers (imported history counts) the person needs
  before anything is answered automatically; ``null`` means
  ``settings.CLONE_MIN_LABELS_FOR_AUTO``.
- ``agent_thresholds``: ``{"claude-code": 0.9}``, the confidence an agent's questions need to
  be answered automatically when the request names no threshold of its own.
- ``headless_answering``: whether Clone may decide for agents that cannot ask the person
  (Claude Code's ``-p`` runs, through ``PreToolUse``). Off unless the person turns it on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings

# Case-insensitive regular expressions: recursive deletes, force pushes, destructive resets,
# privilege escalation, keys and credentials, dropped databases.
DEFAULT_NEVER_AUTO: tuple[str, ...] = (
    r"\brm\s+(-[a-z]*r[a-z]*f?|-[a-z]*f[a-z]*r|--recursive)\b",  # recursive deletes
    r"\bgit\s+push\b.*(\s-f\b|--force)",  # force pushes
    r"\bgit\s+(reset\s+--hard|clean\s+-[a-z]*f)",
    r"(^|[\s;&|(])sudo\s",
    r"~/\.ssh|/\.ssh/|\bid_rsa\b|\bid_ed25519\b",
    r"\.env\b|credentials|secret|password|passwd|\btoken\b|api[_-]?key|\.pem\b|\.aws/",
    r"\bdrop\s+(table|database)\b|\bmkfs\b|\bdd\s+if=",
)
MAX_PATTERNS = 200
MAX_PATTERN_CHARS = 200
MAX_AGENT_CHARS = 200
MAX_AGENTS = 100
MAX_MIN_LABELS = 100_000


@dataclass(frozen=True)
class PersonSettings:
    """The effective settings of one person (defaults filled in)."""

    never_auto: tuple[str, ...]
    never_auto_is_default: bool
    audit_rate: float
    agent_thresholds: dict[str, float]
    headless_answering: bool
    min_labels_for_auto: int
    audit_rate_is_default: bool = True

    def threshold_for(self, agent: str, default: float) -> float:
        return self.agent_thresholds.get(agent, default)


def default_audit_rate() -> float:
    return float(settings.CLONE_AUDIT_RATE)


def default_min_labels_for_auto() -> int:
    return int(settings.CLONE_MIN_LABELS_FOR_AUTO)


def settings_of(profile: Any) -> PersonSettings:
    """The effective settings stored on ``profile`` (a ``UserProfile``)."""
    stored = profile.never_auto
    return PersonSettings(
        never_auto=DEFAULT_NEVER_AUTO if stored is None else tuple(stored),
        never_auto_is_default=stored is None,
        audit_rate=default_audit_rate() if profile.audit_rate is None else profile.audit_rate,
        agent_thresholds=dict(profile.agent_thresholds or {}),
        headless_answering=bool(profile.headless_answering),
        min_labels_for_auto=default_min_labels_for_auto()
        if profile.min_labels_for_auto is None
        else int(profile.min_labels_for_auto),
        audit_rate_is_default=profile.audit_rate is None,
    )


def never_auto_problems(value: Any) -> list[str]:
    """Why ``value`` is not a valid ``never_auto`` list (empty when it is)."""
    if value is None:
        return []
    if not isinstance(value, list):
        return ["Must be a list of strings, or null for the defaults."]
    if len(value) > MAX_PATTERNS:
        return [f"At most {MAX_PATTERNS} patterns."]
    problems = []
    for i, pattern in enumerate(value):
        if not isinstance(pattern, str) or not pattern.strip():
            problems.append(f"[{i}]: must be a non-empty string.")
        elif len(pattern) > MAX_PATTERN_CHARS or "\x00" in pattern:
            problems.append(f"[{i}]: at most {MAX_PATTERN_CHARS} characters, no NUL.")
        else:
            try:
                re.compile(pattern)
            except re.error as exc:
                problems.append(f"[{i}]: not a regular expression ({exc}).")
    return problems


def min_labels_problems(value: Any) -> list[str]:
    """Why ``value`` is not a valid ``min_labels_for_auto`` (empty when it is)."""
    if value is None:
        return []
    if isinstance(value, bool) or not isinstance(value, int):
        return ["Must be a whole number, or null for the default."]
    if not 0 <= value <= MAX_MIN_LABELS:
        return [f"Must be between 0 and {MAX_MIN_LABELS}."]
    return []


def agent_thresholds_problems(value: Any) -> list[str]:
    """Why ``value`` is not a valid ``{agent: threshold}`` object (empty when it is)."""
    if not isinstance(value, dict):
        return ["Must be an object mapping agent names to thresholds in [0, 1]."]
    if len(value) > MAX_AGENTS:
        return [f"At most {MAX_AGENTS} agents."]
    problems = []
    for agent, threshold in value.items():
        if not agent or len(agent) > MAX_AGENT_CHARS or "\x00" in agent:
            problems.append(f"{agent[:40]!r}: agent names are 1-{MAX_AGENT_CHARS} characters.")
        elif isinstance(threshold, bool) or not isinstance(threshold, int | float):
            problems.append(f"{agent}: the threshold must be a number in [0, 1].")
        elif not 0.0 <= threshold <= 1.0:
            problems.append(f"{agent}: the threshold must be in [0, 1].")
    return problems
