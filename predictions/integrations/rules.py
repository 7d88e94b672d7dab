"""Claude Code permission rules the person's own answers support.

For each group of requests a single Claude Code rule would cover (``Bash(npm test:*)`` for a
command head, ``Edit(src/**)`` for a top directory, ``WebFetch(domain:host)``, a whole MCP tool),
the person's recorded yes/no answers are counted. A rule is suggested only when every answer in
its group was "yes", there are at least ``min_count`` of them, and no request in the group matches
a never-auto pattern.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth.models import User

from clone_server.text import canonical
from predictions import confidence
from predictions.integrations.claude_code import AGENT
from predictions.integrations.settings import never_auto_patterns
from recording.models import Event

SCAN_LIMIT = 20_000
_SUBCOMMAND = re.compile(r"^[a-z][a-z0-9_-]*$")
_SHELL_OPERATORS = re.compile(r"[;&|<>`$()]")
_EDIT_TOOLS = {"Edit", "Write", "MultiEdit", "NotebookEdit"}


def rule_for(tool: dict[str, Any], cwd: str = "") -> str | None:
    """The narrowest usual Claude Code rule covering this request, or None."""
    name = str(tool.get("name") or "")
    arguments = tool.get("input")
    data: dict[str, Any] = arguments if isinstance(arguments, dict) else {}
    if name == "Bash":
        command = str(data.get("command") or "").strip()
        if not command or _SHELL_OPERATORS.search(command):
            return None  # compound commands get no prefix rule
        try:
            words = shlex.split(command)
        except ValueError:
            return None
        if not words:
            return None
        head = words[0]
        if len(words) > 1 and _SUBCOMMAND.match(words[1]):
            head = f"{head} {words[1]}"
        return f"Bash({head}:*)"
    if name in _EDIT_TOOLS:
        path = str(data.get("file_path") or data.get("notebook_path") or "")
        if not path:
            return None
        if cwd and posixpath.isabs(path) and path.startswith(cwd.rstrip("/") + "/"):
            path = posixpath.relpath(path, cwd)
        if posixpath.isabs(path) or path.startswith(".."):
            return f"{name}({path})"
        top = path.split("/", 1)
        return f"{name}({top[0]}/**)" if len(top) > 1 else f"{name}({path})"
    if name == "WebFetch":
        host = urlsplit(str(data.get("url") or "")).hostname
        return f"WebFetch(domain:{host})" if host else None
    if name.startswith("mcp__"):
        return name
    return None


@dataclass
class _Group:
    tool: str
    approved: int = 0
    refused: int = 0
    never_auto: bool = False
    examples: list[str] = field(default_factory=list)


def suggested_rules(*, user: User, min_count: int = 10) -> dict[str, Any]:
    """The rules, most approvals first, and a settings.json fragment allowing them. Reads the
    newest ``SCAN_LIMIT`` Claude Code requests of the user, in two queries."""
    prompts = list(
        Event.objects.filter(user=user, kind="agent_prompt", payload__agent=AGENT)
        .order_by("-occurred_at", "-id")
        .values_list("event_id", "payload")[:SCAN_LIMIT]
    )
    replies = dict(
        Event.objects.filter(
            user=user, kind="user_reply", payload__in_reply_to__in=[p for p, _ in prompts]
        ).values_list("payload__in_reply_to", "payload__text")
    )
    patterns = never_auto_patterns(user=user)
    groups: dict[str, _Group] = {}
    for event_id, payload in prompts:
        reply = replies.get(event_id)
        tool = payload.get("tool") if isinstance(payload.get("tool"), dict) else None
        if reply is None or tool is None:
            continue
        rule = rule_for(tool, str(payload.get("cwd") or ""))
        if rule is None:
            continue
        group = groups.setdefault(rule, _Group(tool=str(tool.get("name") or "")))
        said = canonical(str(reply))
        if said in ("yes", "y"):
            group.approved += 1
        else:
            group.refused += 1
        text = str(payload.get("text") or "")
        if confidence.never_auto_match(patterns=patterns, text=text, tool=tool):
            group.never_auto = True
        if len(group.examples) < 3 and text not in group.examples:
            group.examples.append(text)
    rules: list[dict[str, Any]] = [
        {"rule": rule, "tool": g.tool, "approved": g.approved, "refused": 0, "examples": g.examples}
        for rule, g in groups.items()
        if not g.refused and not g.never_auto and g.approved >= min_count
    ]
    rules.sort(key=lambda r: (-r["approved"], r["rule"]))
    return {
        "min_count": min_count,
        "rules": rules,
        "settings": {"permissions": {"allow": [r["rule"] for r in rules]}},
    }
