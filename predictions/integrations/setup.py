"""The hooks configuration that connects an agent to this server, built in one place.

The web app's Connect screen shows it and ``clone hooks install`` merges it into the agent's
settings file, so both give the same hooks, pointing at the same URLs. Each agent gets the events
its adapter understands (see docs/integrations.md), in the file format the agent reads.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Any

from django.urls import reverse

CURL = "curl"
HTTP = "http"
COMMAND = "command"
HOOK_TIMEOUT_S = 10
# What `clone hooks install claude-code` has always written: a "*" matcher group per event.
CLAUDE_EVENTS = (
    "PreToolUse",
    "PermissionRequest",
    "PostToolUse",
    "PostToolUseFailure",
    "UserPromptSubmit",
    "Stop",
    "SessionEnd",
)


@dataclass(frozen=True)
class Agent:
    slug: str  # as in the URL: /api/integrations/<slug>/hooks/
    name: str
    url_name: str
    forms: tuple[str, ...]  # the first is the default
    paths: dict[str, str]  # scope -> where the file lives
    events: tuple[str, ...]
    matcher_events: tuple[str, ...] = ()  # events whose group carries a matcher
    matcher: str = "*"


AGENTS: dict[str, Agent] = {
    agent.slug: agent
    for agent in (
        Agent(
            slug="claude-code",
            name="Claude Code",
            url_name="integrations:claude-code-hooks",
            forms=(HTTP, COMMAND),
            paths={
                "user": "~/.claude/settings.json",
                "project": ".claude/settings.json",
                "local": ".claude/settings.local.json",
            },
            events=CLAUDE_EVENTS,
            matcher_events=CLAUDE_EVENTS,
        ),
        Agent(
            slug="codex",
            name="Codex CLI",
            url_name="integrations:codex-hooks",
            forms=(CURL, COMMAND),
            # A project's file is read only once the person trusts the project in Codex.
            paths={"user": "~/.codex/hooks.json", "project": ".codex/hooks.json"},
            events=("PermissionRequest", "PreToolUse", "PostToolUse", "UserPromptSubmit", "Stop"),
        ),
        Agent(
            slug="gemini",
            name="Gemini CLI",
            url_name="integrations:gemini-hooks",
            forms=(CURL, COMMAND),
            paths={"user": "~/.gemini/settings.json", "project": ".gemini/settings.json"},
            events=(
                "BeforeTool",
                "AfterTool",
                "Notification",
                "BeforeAgent",
                "AfterAgent",
                "SessionEnd",
            ),
            matcher_events=("BeforeTool", "AfterTool"),
            matcher=".*",
        ),
        Agent(
            slug="cursor",
            name="Cursor",
            url_name="integrations:cursor-hooks",
            forms=(CURL, COMMAND),
            paths={"user": "~/.cursor/hooks.json", "project": ".cursor/hooks.json"},
            # Not preToolUse / postToolUse: their answer shape is not confirmed (see
            # docs/integrations.md), and an allow or deny Cursor does not read helps no one.
            events=(
                "beforeShellExecution",
                "beforeMCPExecution",
                "afterShellExecution",
                "afterMCPExecution",
                "beforeSubmitPrompt",
                "stop",
            ),
        ),
    )
}


def _curl(url: str) -> str:
    # --fail: a refusal's error body must not reach the agent as its answer (nothing printed
    # is "no decision" for every agent); --max-time: a slow server is no decision too.
    return (
        'curl -s --fail --max-time 5 -H "X-Clone-API-Key: $CLONE_API_KEY" '
        f"-H 'Content-Type: application/json' --data-binary @- {shlex.quote(url)}"
    )


def _hook(agent: Agent, *, form: str, url: str, program: str) -> dict[str, Any]:
    if form == HTTP:
        return {
            "type": "http",
            "url": url,
            "headers": {"X-Clone-API-Key": "$CLONE_API_KEY"},
            "allowedEnvVars": ["CLONE_API_KEY"],
            "timeout": HOOK_TIMEOUT_S,
        }
    command = _curl(url) if form == CURL else f"{shlex.quote(program)} hook {agent.slug}"
    if agent.slug == "cursor":
        return {"command": command}
    hook: dict[str, Any] = {"type": "command", "command": command}
    if agent.slug == "claude-code":
        hook["timeout"] = HOOK_TIMEOUT_S
    return hook


def agent_setup(*, agent: str, base_url: str, form: str = "", program: str = "clone") -> dict:
    """The hooks configuration for ``agent`` (a key of ``AGENTS``; the caller checks it) with
    the hook URL on ``base_url``: ``config`` is the fragment to merge into the agent's settings
    file (one matcher group per event, holding Clone's one hook), ``text`` the same as
    indented JSON. ``form`` is one of the agent's ``forms`` (default: its first); ``command``
    runs ``<program> hook <agent>`` (the CLI's command-hook form). Pure: no query."""
    spec = AGENTS[agent]
    form = form or spec.forms[0]
    url = base_url.rstrip("/") + reverse(spec.url_name)
    hook = _hook(spec, form=form, url=url, program=program)
    hooks: dict[str, list[dict[str, Any]]] = {}
    for event in spec.events:
        group: dict[str, Any] = {"hooks": [hook]}
        if event in spec.matcher_events:
            group = {"matcher": spec.matcher, **group}
        hooks[event] = [hook] if spec.slug == "cursor" else [group]
    config: dict[str, Any] = {"hooks": hooks}
    if spec.slug == "cursor":
        config = {"version": 1, **config}
    notes = []
    if form in (HTTP, CURL):
        notes.append(
            "Set CLONE_API_KEY to one of your API keys in the environment the agent runs in: "
            "the hook sends it as X-Clone-API-Key, so no key is written into the file."
        )
    else:
        notes.append(
            f"Runs `{program} hook {spec.slug}`, which uses this machine's `clone login` and "
            "answers nothing (the agent asks you) whenever the server cannot answer in time."
        )
    return {
        "agent": spec.slug,
        "name": spec.name,
        "form": form,
        "forms": list(spec.forms),
        "hook_url": url,
        "paths": spec.paths,
        "events": list(spec.events),
        "config": config,
        "text": json.dumps(config, indent=2),
        "notes": notes,
    }
