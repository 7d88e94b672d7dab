"""Episodes without a model: an extractive title and summary of one group of rows.

The rows are already grouped (by session and time gap) by
the caller. The title names the dominant actor (the agent asked most often, else the terminal,
the desktop app, the integration or the notes), the most common working directory, and the two
most frequent topics (tests, migrations, commits, dependencies, ...) found in commands and
prompts: ``claude-code session in ~/shop: tests and migrations``. The summary opens with one
counting sentence (when, how many commands, failures, prompts, replies) and adds the most
informative rows, in time order, scored: an agent's question with the person's answer and notes
first, then failed commands, webhooks, other commands, desktop frames; repeats are dropped and
the whole stays within ``SUMMARY_MAX_CHARS``.
"""

from __future__ import annotations

from collections import Counter

from clone_server.text import canonical, stem, tokens
from memories.promotion.offline.rows import (
    Row,
    clip,
    command_tool,
    most_common,
    rows_sorted,
)

SUMMARY_MAX_CHARS = 600
TITLE_MAX_CHARS = 120
QUOTE_MAX_CHARS = 90

# Topic label by stemmed keyword, for titles.
_TOPICS = {
    "test": "tests",
    "migration": "migrations",
    "commit": "commits",
    "push": "pushes",
    "branch": "branches",
    "merge": "merges",
    "rebase": "merges",
    "pull": "pull requests",
    "install": "dependencies",
    "dependency": "dependencies",
    "npm": "dependencies",
    "pnpm": "dependencies",
    "yarn": "dependencies",
    "build": "builds",
    "compile": "builds",
    "deploy": "deploys",
    "release": "deploys",
    "lint": "linting",
    "ruff": "linting",
    "eslint": "linting",
    "format": "formatting",
    "prettier": "formatting",
    "docker": "docker",
    "type": "types",
    "mypy": "types",
    "tsc": "types",
    "database": "the database",
    "backup": "the database",
    "refactor": "refactoring",
    "debug": "debugging",
    "fix": "fixes",
    "review": "reviews",
}


def _topics(rows: list[Row]) -> list[str]:
    counts: Counter = Counter()
    first_seen: dict[str, int] = {}
    for index, row in enumerate(rows):
        source = " ".join(filter(None, [row.command, row.prompt]))
        seen = set()
        for word in tokens(source):
            topic = _TOPICS.get(stem(word))
            if topic and topic not in seen:
                seen.add(topic)
                counts[topic] += 1
                first_seen.setdefault(topic, index)
    return sorted(counts, key=lambda t: (-counts[t], first_seen[t]))[:2]


def _title(rows: list[Row]) -> str:
    agents = Counter(r.agent for r in rows if r.agent and r.kind in ("agent_prompt", "user_reply"))
    commands = [r for r in rows if r.command]
    apps = Counter(r.app for r in rows if r.app)
    integrations = Counter(r.integration for r in rows if r.integration)
    if agents:
        actor = f"{most_common(agents)} session"
    elif commands:
        actor = "Terminal session"
    elif apps:
        actor = f"{most_common(apps)} session"
    elif integrations:
        actor = f"{most_common(integrations)} activity"
    elif any(r.note for r in rows):
        actor = "Notes"
    else:
        actor = "Activity"
    cwds = Counter(r.cwd for r in rows if r.cwd)
    place = f" in {most_common(cwds)}" if cwds else ""
    topics = _topics(rows)
    if not topics:
        tools = Counter(command_tool(r.command) for r in commands if command_tool(r.command))
        topics = sorted(tools, key=lambda t: (-tools[t], t))[:2]
    about = f": {' and '.join(topics)}" if topics else ""
    return clip(f"{actor}{place}{about}", TITLE_MAX_CHARS)


def _when(rows: list[Row]) -> str:
    times = [r.when for r in rows if r.when]
    if not times:
        return ""
    start, end = min(times), max(times)
    if start.date() == end.date():
        span = f"{start:%Y-%m-%d %H:%M}" + (f"-{end:%H:%M}" if end != start else "")
    else:
        span = f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}"
    return f" ({span})"


def _counting_sentence(rows: list[Row]) -> str:
    commands = [r for r in rows if r.command]
    failed = sum(1 for r in commands if r.exit_code not in (None, 0))
    parts = []
    if commands:
        parts.append(
            f"{len(commands)} command{'s' * (len(commands) != 1)}"
            + (f" ({failed} failed)" if failed else "")
        )
    for kind, label in (
        ("agent_prompt", "agent prompt"),
        ("user_reply", "repl"),
        ("desktop_frame", "desktop frame"),
        ("integration_webhook", "webhook"),
        ("note", "note"),
    ):
        n = sum(1 for r in rows if r.kind == kind)
        if n:
            plural = ("ies" if n != 1 else "y") if label == "repl" else ("s" if n != 1 else "")
            parts.append(f"{n} {label}{plural}")
    what = ", ".join(parts) if parts else "no recognised activity"
    return f"{len(rows)} event{'s' * (len(rows) != 1)}{_when(rows)}: {what}."


def _stop(quoted: str) -> str:
    """A full stop after a closing quote, unless the quote already ends a sentence."""
    return "" if quoted.rstrip().endswith((".", "!", "?", "…")) else "."


def _sentence(row: Row) -> tuple[float, str] | None:
    """(how informative, sentence) for one row; None for rows that add nothing."""
    if row.prompt and row.reply:
        agent = row.agent or "The agent"
        return 3.0, (
            f'{agent} asked "{clip(row.prompt, QUOTE_MAX_CHARS)}"; '
            f'they replied "{clip(row.reply, QUOTE_MAX_CHARS)}"' + _stop(row.reply)
        )
    if row.note:
        return 3.0, f'Noted: "{clip(row.note, 2 * QUOTE_MAX_CHARS)}"' + _stop(row.note)
    if row.command:
        failed = row.exit_code not in (None, 0)
        status = f" (exit {row.exit_code})" if row.exit_code is not None else ""
        where = f" in {row.cwd}" if row.cwd else ""
        return (
            2.5 if failed else 1.0
        ), f'Ran "{clip(row.command, QUOTE_MAX_CHARS)}"{where}{status}.'
    if row.kind == "user_reply" and row.reply:
        to = f" to {row.agent}" if row.agent else ""
        return 2.0, f'Replied{to}: "{clip(row.reply, QUOTE_MAX_CHARS)}"' + _stop(row.reply)
    if row.prompt:
        return 1.5, clip(row.text, 2 * QUOTE_MAX_CHARS)
    if row.integration:
        return 1.5, clip(row.text, 2 * QUOTE_MAX_CHARS)
    if row.text:
        return 0.5, clip(row.text, 2 * QUOTE_MAX_CHARS)
    return None


def episode_summarize(*, rows: list[dict]) -> dict:
    """``{"title", "summary"}`` for one group of raw rows, extracted from the rows themselves.

    Promises: deterministic (same rows in any order -> same result), a title of at most
    ``TITLE_MAX_CHARS`` and a summary of at most ``SUMMARY_MAX_CHARS`` characters, both
    non-empty, even for an empty or unrecognised group.
    """
    parsed = rows_sorted(rows or [])
    answered = {(r.agent, canonical(r.reply)) for r in parsed if r.prompt and r.reply}
    candidates: list[tuple[float, int, str]] = []
    seen: set[str] = set()
    for index, row in enumerate(parsed):
        # A reply already shown with the question it answers is not repeated on its own.
        if row.kind == "user_reply" and (row.agent, canonical(row.reply)) in answered:
            continue
        found = _sentence(row)
        if found is None or canonical(found[1]) in seen:
            continue
        seen.add(canonical(found[1]))
        candidates.append((found[0], index, found[1]))

    summary = _counting_sentence(parsed)
    chosen: list[tuple[int, str]] = []
    length = len(summary)
    for _, index, sentence in sorted(candidates, key=lambda c: (-c[0], c[1])):
        if length + 1 + len(sentence) <= SUMMARY_MAX_CHARS:
            chosen.append((index, sentence))
            length += 1 + len(sentence)
    summary = " ".join([summary, *(s for _, s in sorted(chosen))])
    return {"title": _title(parsed), "summary": clip(summary, SUMMARY_MAX_CHARS)}
