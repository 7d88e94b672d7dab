"""The person's own rules for how much Clone may answer alone, stored on their profile.

This module owns their storage, defaults and validation; the Prediction layer applies them.

- ``never_auto``: patterns that are never answered automatically. A pattern is a
  case-insensitive shell-style glob (``*`` any text, ``?`` one character, ``[abc]`` one of)
  that matches *anywhere* in one of the request's texts: the question, the tool's name, or any
  string in the tool's input (its command, path, URL, ...), each on its own. ``git push * -f``
  matches ``git push origin main -f``; ``sudo `` matches ``sudo rm x`` (and, being a substring,
  ``pseudo code``: a false match only means the person is asked). ``null`` (the default)
  means the server's list, :data:`DEFAULT_NEVER_AUTO`; ``[]`` means none.
- ``audit_rate``: the share (0..1) of would-be automatic answers escalated anyway so their
  precision stays measured; ``null`` means ``settings.CLONE_AUDIT_RATE``.
- ``agent_thresholds``: ``{"claude-code": 0.9}``, the confidence an agent's questions need to
  be answered automatically when the request names no threshold of its own.
- ``headless_answering``: whether Clone may decide for agents that cannot ask the person
  (Claude Code's ``-p`` runs, through ``PreToolUse``). Off unless the person turns it on.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings

# Recursive deletes, force pushes, privilege escalation, keys and credentials.
DEFAULT_NEVER_AUTO: tuple[str, ...] = (
    "rm -rf",
    "rm -fr",
    "rm -r *",
    "rm --recursive",
    "git push -f",
    "git push --force",
    "git push * -f",
    "git push * --force",
    "git push *+*:",
    "sudo *",
    "~/.ssh",
    "/.ssh/",
    "id_rsa",
    "id_ed25519",
    "credential",
    ".aws/",
    ".netrc",
    ".env",
    "*.pem",
    "secret",
    "password",
)
MAX_PATTERNS = 200
MAX_PATTERN_CHARS = 200
MAX_AGENT_CHARS = 200
MAX_AGENTS = 100


@dataclass(frozen=True)
class PersonSettings:
    """The effective settings of one person (defaults filled in)."""

    never_auto: tuple[str, ...]
    never_auto_is_default: bool
    audit_rate: float
    agent_thresholds: dict[str, float]
    headless_answering: bool

    def threshold_for(self, agent: str, default: float) -> float:
        return self.agent_thresholds.get(agent, default)

    def never_auto_match(self, *, text: str, tool: dict[str, Any] | None) -> str | None:
        """The first ``never_auto`` pattern the request matches, or None."""
        return never_auto_match(patterns=self.never_auto, text=text, tool=tool)


def default_audit_rate() -> float:
    return float(settings.CLONE_AUDIT_RATE)


def settings_of(profile: Any) -> PersonSettings:
    """The effective settings stored on ``profile`` (a ``UserProfile``)."""
    stored = profile.never_auto
    return PersonSettings(
        never_auto=DEFAULT_NEVER_AUTO if stored is None else tuple(stored),
        never_auto_is_default=stored is None,
        audit_rate=default_audit_rate() if profile.audit_rate is None else profile.audit_rate,
        agent_thresholds=dict(profile.agent_thresholds or {}),
        headless_answering=bool(profile.headless_answering),
    )


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for child in value.values():
            yield from _strings(child)
    elif isinstance(value, list):
        for child in value:
            yield from _strings(child)


@lru_cache(maxsize=4096)
def _compiled(pattern: str) -> re.Pattern[str]:
    # fnmatch's translation anchors at both ends; the surrounding stars make it "anywhere".
    return re.compile(fnmatch.translate(f"*{pattern.casefold()}*"))


def never_auto_match(
    *, patterns: Iterable[str], text: str, tool: dict[str, Any] | None
) -> str | None:
    """The first of ``patterns`` that matches the request (syntax in the module docstring)."""
    subjects = [text]
    if tool:
        subjects.append(str(tool.get("name", "")))
        subjects.extend(_strings(tool.get("input")))
    folded = [s.casefold() for s in subjects if s]
    for pattern in patterns:
        regex = _compiled(pattern)
        if any(regex.match(subject) for subject in folded):
            return pattern
    return None


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
    return problems


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
