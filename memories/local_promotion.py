"""Promotion without an LLM: extractive episode summaries and facts from recurring patterns.

Pure, deterministic functions over plain dicts (no database, no clock, no network), with the
same return shapes as the LLM promotion path, so one code path in ``memories.promotion`` stores
both.

Episodes (:func:`episode_summarize`): the rows are already grouped (by session and time gap) by
the caller. The title names the dominant actor (the agent asked most often, else the terminal,
the desktop app, the integration or the notes), the most common working directory, and the two
most frequent topics (tests, migrations, commits, dependencies, ...) found in commands and
prompts: ``claude-code session in ~/shop: tests and migrations``. The summary opens with one
counting sentence (when, how many commands, failures, prompts, replies) and adds the most
informative rows, in time order, scored: an agent's question with the person's answer and notes
first, then failed commands, webhooks, other commands, desktop frames; repeats are dropped and
the whole stays within ``SUMMARY_MAX_CHARS``.

Facts (:func:`facts_distill`), each with importance in [0, 1] from frequency and recency (a
half-life of ``HALF_LIFE_DAYS`` before the newest row given, never the wall clock), within
bounds per kind (``_IMPORTANCE``) so that habits never crowd answer patterns and the person's
own words out of the bundle's most important facts:

- ``reply_pattern``: prompts are clustered by :func:`predictions.local.prompt_similarity`
  (>= ``PROMPT_CLUSTER_SIMILARITY``; paraphrases and wrapped questions included); inside a
  cluster the replies are grouped as the judge would (same after normalisation or token F1 >=
  0.8). When one reply occurs at least ``MIN_REPLY_REPEATS`` times and is at least
  ``MIN_REPLY_SHARE`` of the cluster: ``When asked "Run the test suite?" they answer "yes".``
  (the question as its asking sentence, without the context agents wrap around it), tags
  ``["reply", <agents>..., "pattern:<key>"]``. When the evidence comes from one agent only, or
  no reply dominates overall but one does for an agent, the fact is claimed for that agent:
  ``When cursor asks "Proceed?" they answer "apply it".`` (the local predictor applies it to
  that agent only).
- ``habit``: the command-line tools used at least ``MIN_HABIT_COUNT`` times (the first word of
  the command, after ``sudo``/``env``/variable assignments, without its path):
  ``Uses pnpm (12 times).``; and the agents the person works with:
  ``Works with claude-code (15 prompts).`` At most ``MAX_HABITS`` of each, most used first.
- ``preference`` / ``note``: what the person wrote down themselves (``note`` rows), verbatim;
  ``preference`` when it states one (always, never, prefer, ...).

A stable key, the tag ``pattern:<12 hex>`` (a hash of what the fact is about: the agent, the
question's content words and the reply; the tool; the note), recognises a fact already known.
A fact that already exists (same key tag, same normalised text, a habit restated with another
count, or a reply pattern for a similar question with the same reply and agent) is returned
under ``reinforce`` instead of being created again, with an ``importance_delta`` that grows
with the repeats seen and stops at the kind's ceiling (0 still adds provenance). Nothing is
ever deleted or rewritten here.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from predictions.local import (
    asking_sentence,
    parse_time,
    prompt_similarity,
    same_reply,
    stem,
    terms,
)
from predictions.local import normal_form as normalize


def tokens(text: str) -> list[str]:
    return normalize(text).split()


SUMMARY_MAX_CHARS = 600
TITLE_MAX_CHARS = 120
QUOTE_MAX_CHARS = 90
HALF_LIFE_DAYS = 30.0
PROMPT_CLUSTER_SIMILARITY = 0.6
MIN_REPLY_REPEATS = 2
MIN_REPLY_SHARE = 0.6
MIN_HABIT_COUNT = 3
MAX_HABITS = 5
MAX_REINFORCE_DELTA = 0.1
# Output bounds, those of the LLM path's schema (``memories.promotion.FACTS_SCHEMA``).
MAX_NEW_FACTS = 50
MAX_REINFORCED = 100
MAX_SOURCE_IDS = 100
MAX_TAGS = 20
MAX_TAG_CHARS = 64

_RAN = re.compile(r'^Ran "(?P<cmd>.*)"(?: in (?P<cwd>.+?))?(?: \(exit (?P<exit>-?\d+)\))?\.?$')
_ASKED = re.compile(r'^(?P<agent>.+?) asked: "(?P<text>.*)"\s*$')
_REPLIED = re.compile(r'^Replied(?: to (?P<agent>.+?))?: "(?P<text>.*)"\s*$')
_LOOKED = re.compile(r'^Looked at ".*" in (?P<app>.+?)\.$|^Used (?P<app2>.+?)\.$')
_REPORTED = re.compile(r'^(?P<integration>.+?) reported "(?P<event>.*)"\.$')
_NOTED = re.compile(r'^Noted: "(?P<text>.*)"\s*$')
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_WRAPPERS = frozenset({"sudo", "env", "time", "nohup", "command", "exec"})
_PREFERENCE_WORDS = frozenset(
    {"always", "never", "prefer", "prefers", "preferred", "usually", "dont", "avoid", "only"}
)
_FACT_ASKED = re.compile(
    r'When (?:(?P<agent>\S+) asks|asked) "(?P<prompt>[^"]+)" they answer "(?P<reply>[^"]+)"'
)
_FACT_USES = re.compile(r"^Uses (?P<tool>\S+) \(\d+ times?\)\.$")
_FACT_WORKS = re.compile(r"^Works with (?P<agent>.+?) \(\d+ prompts?\)\.$")

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


# --- parsing rows ----------------------------------------------------------------------------


@dataclass
class _Row:
    id: Any
    kind: str
    text: str
    when: datetime | None
    agent: str = ""
    prompt: str = ""
    reply: str = ""
    command: str = ""
    cwd: str = ""
    exit_code: int | None = None
    app: str = ""
    integration: str = ""
    note: str = ""
    episodes: set[Any] = field(default_factory=set)


def _text(value: Any) -> str:
    return " ".join(str(value or "").split())


def _parse(raw: dict) -> _Row:
    text = _text(raw.get("text"))
    row = _Row(
        id=raw.get("id"),
        kind=_text(raw.get("kind")),
        text=text,
        when=parse_time(raw.get("occurred_at")),
        agent=_text(raw.get("agent")),
        prompt=_text(raw.get("prompt_text")),
        reply=_text(raw.get("reply_text")),
    )
    if match := _RAN.match(text):
        row.command, row.cwd = match["cmd"].strip(), (match["cwd"] or "").strip()
        row.exit_code = int(match["exit"]) if match["exit"] else None
    elif match := _ASKED.match(text):
        row.agent = row.agent or match["agent"].strip()
        row.prompt = row.prompt or match["text"].strip()
    elif match := _REPLIED.match(text):
        row.agent = row.agent or (match["agent"] or "").strip()
        if row.kind == "user_reply":
            row.reply = row.reply or match["text"].strip()
    elif match := _LOOKED.match(text):
        row.app = (match["app"] or match["app2"] or "").strip()
    elif match := _REPORTED.match(text):
        row.integration = match["integration"].strip()
    elif match := _NOTED.match(text):
        row.note = match["text"].strip()
    elif row.kind == "note":
        row.note = text
    return row


def _row_order(row: _Row) -> tuple:
    """Oldest first, rows without a time last, then by id."""
    return (row.when is None, row.when or datetime.min.replace(tzinfo=UTC), str(row.id))


def _sorted_rows(raws: Iterable[Any]) -> list[_Row]:
    rows = [_parse(r) for r in raws if isinstance(r, dict)]
    rows.sort(key=_row_order)
    return rows


def _tool(command: str) -> str:
    """The program a command runs: ``sudo FOO=1 /usr/bin/pnpm i`` -> ``pnpm``."""
    for word in command.split():
        if word in _WRAPPERS or _ASSIGNMENT.match(word) or word.startswith("-"):
            continue
        return word.rsplit("/", 1)[-1].casefold().strip("\"'`()")[:MAX_TAG_CHARS]
    return ""


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _most_common(counter: Counter) -> str:
    """The most frequent key; ties go to the alphabetically first, so the result is stable."""
    return min(counter, key=lambda key: (-counter[key], key)) if counter else ""


# --- episodes --------------------------------------------------------------------------------


def _topics(rows: list[_Row]) -> list[str]:
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


def _title(rows: list[_Row]) -> str:
    agents = Counter(r.agent for r in rows if r.agent and r.kind in ("agent_prompt", "user_reply"))
    commands = [r for r in rows if r.command]
    apps = Counter(r.app for r in rows if r.app)
    integrations = Counter(r.integration for r in rows if r.integration)
    if agents:
        actor = f"{_most_common(agents)} session"
    elif commands:
        actor = "Terminal session"
    elif apps:
        actor = f"{_most_common(apps)} session"
    elif integrations:
        actor = f"{_most_common(integrations)} activity"
    elif any(r.note for r in rows):
        actor = "Notes"
    else:
        actor = "Activity"
    cwds = Counter(r.cwd for r in rows if r.cwd)
    place = f" in {_most_common(cwds)}" if cwds else ""
    topics = _topics(rows)
    if not topics:
        tools = Counter(_tool(r.command) for r in commands if _tool(r.command))
        topics = sorted(tools, key=lambda t: (-tools[t], t))[:2]
    about = f": {' and '.join(topics)}" if topics else ""
    return _clip(f"{actor}{place}{about}", TITLE_MAX_CHARS)


def _when(rows: list[_Row]) -> str:
    times = [r.when for r in rows if r.when]
    if not times:
        return ""
    start, end = min(times), max(times)
    if start.date() == end.date():
        span = f"{start:%Y-%m-%d %H:%M}" + (f"-{end:%H:%M}" if end != start else "")
    else:
        span = f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}"
    return f" ({span})"


def _counting_sentence(rows: list[_Row]) -> str:
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


def _sentence(row: _Row) -> tuple[float, str] | None:
    """(how informative, sentence) for one row; None for rows that add nothing."""
    if row.prompt and row.reply:
        agent = row.agent or "The agent"
        return 3.0, (
            f'{agent} asked "{_clip(row.prompt, QUOTE_MAX_CHARS)}"; '
            f'they replied "{_clip(row.reply, QUOTE_MAX_CHARS)}"' + _stop(row.reply)
        )
    if row.note:
        return 3.0, f'Noted: "{_clip(row.note, 2 * QUOTE_MAX_CHARS)}"' + _stop(row.note)
    if row.command:
        failed = row.exit_code not in (None, 0)
        status = f" (exit {row.exit_code})" if row.exit_code is not None else ""
        where = f" in {row.cwd}" if row.cwd else ""
        return (
            2.5 if failed else 1.0
        ), f'Ran "{_clip(row.command, QUOTE_MAX_CHARS)}"{where}{status}.'
    if row.kind == "user_reply" and row.reply:
        to = f" to {row.agent}" if row.agent else ""
        return 2.0, f'Replied{to}: "{_clip(row.reply, QUOTE_MAX_CHARS)}"' + _stop(row.reply)
    if row.prompt:
        return 1.5, _clip(row.text, 2 * QUOTE_MAX_CHARS)
    if row.integration:
        return 1.5, _clip(row.text, 2 * QUOTE_MAX_CHARS)
    if row.text:
        return 0.5, _clip(row.text, 2 * QUOTE_MAX_CHARS)
    return None


def episode_summarize(*, rows: list[dict]) -> dict:
    """``{"title", "summary"}`` for one group of raw rows, extracted from the rows themselves.

    Promises: deterministic (same rows in any order -> same result), a title of at most
    ``TITLE_MAX_CHARS`` and a summary of at most ``SUMMARY_MAX_CHARS`` characters, both
    non-empty, even for an empty or unrecognised group.
    """
    parsed = _sorted_rows(rows or [])
    answered = {(r.agent, normalize(r.reply)) for r in parsed if r.prompt and r.reply}
    candidates: list[tuple[float, int, str]] = []
    seen: set[str] = set()
    for index, row in enumerate(parsed):
        # A reply already shown with the question it answers is not repeated on its own.
        if row.kind == "user_reply" and (row.agent, normalize(row.reply)) in answered:
            continue
        found = _sentence(row)
        if found is None or normalize(found[1]) in seen:
            continue
        seen.add(normalize(found[1]))
        candidates.append((found[0], index, found[1]))

    summary = _counting_sentence(parsed)
    chosen: list[tuple[int, str]] = []
    length = len(summary)
    for _, index, sentence in sorted(candidates, key=lambda c: (-c[0], c[1])):
        if length + 1 + len(sentence) <= SUMMARY_MAX_CHARS:
            chosen.append((index, sentence))
            length += 1 + len(sentence)
    summary = " ".join([summary, *(s for _, s in sorted(chosen))])
    return {"title": _title(parsed), "summary": _clip(summary, SUMMARY_MAX_CHARS)}


# --- facts -----------------------------------------------------------------------------------


def _key(*parts: str) -> str:
    digest = hashlib.sha1("|".join(parts).encode(), usedforsecurity=False).hexdigest()
    return f"pattern:{digest[:12]}"


def _recency(when: datetime | None, anchor: datetime | None) -> float:
    if when is None or anchor is None:
        return 0.5
    age_days = max(0.0, (anchor - when).total_seconds() / 86400)
    return 0.5 ** (age_days / HALF_LIFE_DAYS)


# How important each kind of fact can get: an answer pattern or the person's own words matter
# more to prediction than which tools they use, which must not crowd the bundle's top facts.
# (base, weight of frequency, weight of recency, ceiling reachable by reinforcement)
_IMPORTANCE = {
    "reply_pattern": (0.3, 0.45, 0.2, 0.95),
    "preference": (0.5, 0.2, 0.1, 0.95),
    "note": (0.4, 0.2, 0.1, 0.85),
    "habit": (0.1, 0.3, 0.2, 0.6),
}
# Importance added per repeat seen again, by kind.
_REINFORCE_STEP = {"reply_pattern": 0.02, "preference": 0.02, "note": 0.02, "habit": 0.005}


def _importance(*, kind: str, frequency: float, recency: float) -> float:
    base, per_frequency, per_recency, _ = _IMPORTANCE[kind]
    value = base + per_frequency * frequency + per_recency * recency
    return round(min(1.0, max(0.0, value)), 3)


@dataclass
class _Proposal:
    kind: str
    text: str
    importance: float
    tags: list[str]
    episodes: set[Any]
    key: str
    count: int
    prompt: str = ""
    reply: str = ""
    agent: str = ""  # set when the pattern holds for one asking agent only
    subject: str = ""  # tool or agent of a habit


def _group_replies(rows: list[_Row]) -> list[list[_Row]]:
    groups: list[list[_Row]] = []
    for row in rows:
        group = next((g for g in groups if same_reply(g[0].reply, row.reply)), None)
        if group is None:
            groups.append([row])
        else:
            group.append(row)
    return groups


def _dominant(rows: list[_Row]) -> tuple[list[_Row], float] | None:
    """The reply group that recurs (``MIN_REPLY_REPEATS``) and dominates (``MIN_REPLY_SHARE``)."""
    top = max(_group_replies(rows), key=len)  # the first of the largest on ties: stable
    share = len(top) / len(rows)
    if len(top) < MIN_REPLY_REPEATS or share < MIN_REPLY_SHARE:
        return None
    return top, share


def _reply_pattern(
    top: list[_Row], share: float, *, agent: str, anchor: datetime | None
) -> _Proposal:
    # The asking sentence, without the context agents wrap around it ("Done with x.py. ...").
    prompts = Counter(asking_sentence(r.prompt) for r in top)
    prompt = min(prompts, key=lambda p: (-prompts[p], len(p), p))
    replies = Counter(r.reply for r in top)
    reply = min(replies, key=lambda t: (-replies[t], -_stamp(_newest(top, t)), t))
    newest = max((r.when for r in top if r.when), default=None)
    key = _key("reply", agent.casefold(), " ".join(sorted(set(terms(prompt)))), normalize(reply))
    who = f"When {agent} asks" if agent else "When asked"
    return _Proposal(
        kind="reply_pattern",
        text=f'{who} "{_clip(prompt, 200)}" they answer "{_clip(reply, 300)}".',
        importance=_importance(
            kind="reply_pattern",
            frequency=len(top) / (len(top) + 3) * share,
            recency=_recency(newest, anchor),
        ),
        tags=["reply", *(sorted({r.agent for r in top if r.agent})), key],
        episodes=set().union(*(r.episodes for r in top)),
        key=key,
        count=len(top),
        prompt=prompt,
        reply=reply,
        agent=agent,
    )


def _reply_patterns(rows: list[_Row], anchor: datetime | None) -> list[_Proposal]:
    pairs = [r for r in rows if r.prompt and r.reply]
    clusters: list[list[_Row]] = []
    for row in pairs:
        home = next(
            (
                c
                for c in clusters
                if prompt_similarity(c[0].prompt, row.prompt, floor=PROMPT_CLUSTER_SIMILARITY)
                >= PROMPT_CLUSTER_SIMILARITY
            ),
            None,
        )
        if home is None:
            clusters.append([row])
        else:
            home.append(row)

    proposals = []
    for cluster in clusters:
        found = _dominant(cluster)
        if found:
            # Only one agent's prompts seen: the pattern is claimed for that agent alone.
            agents = {r.agent for r in found[0]}
            only = next(iter(agents)) if len(agents) == 1 else ""
            proposals.append(_reply_pattern(*found, agent=only, anchor=anchor))
            continue
        # No answer for everyone: maybe one per agent ("apply it" to cursor, "y" to aider).
        for agent in sorted({r.agent for r in cluster if r.agent}):
            found = _dominant([r for r in cluster if r.agent == agent])
            if found:
                proposals.append(_reply_pattern(*found, agent=agent, anchor=anchor))
    return proposals


def _newest(rows: list[_Row], reply: str) -> datetime | None:
    return max((r.when for r in rows if r.reply == reply and r.when), default=None)


def _stamp(when: datetime | None) -> float:
    return when.timestamp() if when else float("-inf")


def _habits(rows: list[_Row], anchor: datetime | None) -> list[_Proposal]:
    proposals = []
    for kind, subject_of, sentence in (
        ("tool", lambda r: _tool(r.command) if r.command else "", "Uses {s} ({n} time{p})."),
        (
            "agent",
            lambda r: r.agent if r.kind == "agent_prompt" and r.agent else "",
            "Works with {s} ({n} prompt{p}).",
        ),
    ):
        uses: dict[str, list[_Row]] = {}
        for row in rows:
            subject = subject_of(row)
            if subject:
                uses.setdefault(subject, []).append(row)
        ranked = sorted(uses, key=lambda s: (-len(uses[s]), s))
        for subject in ranked[:MAX_HABITS]:
            n = len(uses[subject])
            if n < MIN_HABIT_COUNT:
                break
            newest = max((r.when for r in uses[subject] if r.when), default=None)
            key = _key("habit", kind, subject.casefold())
            proposals.append(
                _Proposal(
                    kind="habit",
                    text=sentence.format(s=subject, n=n, p="s" * (n != 1)),
                    importance=_importance(
                        kind="habit", frequency=n / (n + 5), recency=_recency(newest, anchor)
                    ),
                    tags=["habit", kind, subject, key],
                    episodes=set().union(*(r.episodes for r in uses[subject])),
                    key=key,
                    count=n,
                    subject=subject,
                )
            )
    return proposals


def _notes(rows: list[_Row], anchor: datetime | None) -> list[_Proposal]:
    found: dict[str, _Proposal] = {}
    for row in rows:
        text = row.note.strip()
        if not text or not normalize(text):
            continue
        key = _key("note", normalize(text))
        if key in found:
            found[key].count += 1
            found[key].episodes |= row.episodes
            continue
        kind = "preference" if set(tokens(text)) & _PREFERENCE_WORDS else "note"
        found[key] = _Proposal(
            kind=kind,
            text=_clip(text if text.endswith((".", "!", "?")) else f"{text}.", 500),
            # The person said it themselves: important from the start.
            importance=_importance(kind=kind, frequency=1.0, recency=_recency(row.when, anchor)),
            tags=["note", key],
            episodes=set(row.episodes),
            key=key,
            count=1,
        )
    return list(found.values())


def _existing_match(proposal: _Proposal, existing: list[dict]) -> int | None:
    """The id of an existing fact that already states ``proposal``, if any (lowest id)."""
    text = normalize(proposal.text)
    for fact in existing:
        tags = fact.get("tags") or []
        fact_text = str(fact.get("text") or "")
        if proposal.key in tags or normalize(fact_text) == text:
            return fact["id"]
        match = _FACT_ASKED.search(fact_text) if proposal.kind == "reply_pattern" else None
        if (
            match
            and (match["agent"] or "").casefold() == proposal.agent.casefold()
            and same_reply(match["reply"], proposal.reply)
            and prompt_similarity(match["prompt"], proposal.prompt, floor=PROMPT_CLUSTER_SIMILARITY)
            >= PROMPT_CLUSTER_SIMILARITY
        ):
            return fact["id"]
        if proposal.kind == "habit" and proposal.subject:
            # A habit restated with another count: "Uses pnpm (12 times)." vs "(7 times)."
            pattern = _FACT_USES if "tool" in proposal.tags else _FACT_WORKS
            match = pattern.match(fact_text)
            if match and match.group(1).casefold() == proposal.subject.casefold():
                return fact["id"]
    return None


def facts_distill(*, episodes: list[dict], existing_facts: list[dict]) -> dict:
    """New facts and reinforcements of existing ones, from recurring patterns in ``episodes``.

    Promises: deterministic; never proposes a fact an existing one already states (that one is
    reinforced instead, each id at most once, with ``0 <= importance_delta <=
    MAX_REINFORCE_DELTA`` that never lifts it past its kind's ceiling: a delta of 0 still adds
    provenance); only ids from ``existing_facts`` are reinforced; importance in [0, 1];
    ``source_episode_ids`` sorted, only ids of ``episodes`` whose rows show the pattern.
    Returns ``{"new": [...], "reinforce": [...]}``, possibly both empty.
    """
    rows_by_id: dict[Any, _Row] = {}
    loose: list[_Row] = []
    for episode in episodes or []:
        if not isinstance(episode, dict):
            continue
        for raw in episode.get("raw") or []:
            if not isinstance(raw, dict):
                continue
            row_id = raw.get("id")
            row = rows_by_id.get(row_id) if row_id is not None else None
            if row is None:
                row = _parse(raw)
                if row_id is None:
                    loose.append(row)
                else:
                    rows_by_id[row_id] = row
            if episode.get("id") is not None:
                row.episodes.add(episode["id"])
    rows = sorted([*rows_by_id.values(), *loose], key=_row_order)
    anchor = max((r.when for r in rows if r.when), default=None)
    existing = [
        f
        for f in (existing_facts or [])
        if isinstance(f, dict) and f.get("id") is not None and not isinstance(f.get("id"), bool)
    ]
    existing.sort(key=lambda f: _id_order(f["id"]))
    importance_of = {f["id"]: _importance_value(f.get("importance")) for f in existing}

    new: list[dict] = []
    reinforce: dict[Any, dict] = {}
    proposals = [*_reply_patterns(rows, anchor), *_habits(rows, anchor), *_notes(rows, anchor)]
    created_keys: set[str] = set()
    for proposal in proposals:
        episode_ids = sorted(proposal.episodes, key=_id_order)
        fact_id = _existing_match(proposal, existing)
        if fact_id is not None:
            entry = reinforce.setdefault(
                fact_id, {"id": fact_id, "importance_delta": 0.0, "source_episode_ids": []}
            )
            # Up to the kind's ceiling: a habit seen again and again never outranks answers.
            room = _IMPORTANCE[proposal.kind][3] - importance_of[fact_id]
            delta = entry["importance_delta"] + _REINFORCE_STEP[proposal.kind] * proposal.count
            entry["importance_delta"] = round(max(0.0, min(MAX_REINFORCE_DELTA, delta, room)), 3)
            entry["source_episode_ids"] = sorted(
                {*entry["source_episode_ids"], *episode_ids}, key=_id_order
            )
            continue
        if proposal.key in created_keys:
            continue
        created_keys.add(proposal.key)
        new.append(
            {
                "kind": proposal.kind,
                "text": proposal.text,
                "importance": proposal.importance,
                # The key tag last, so clipping the list never drops it.
                "tags": [
                    *(_clip(t, MAX_TAG_CHARS) for t in proposal.tags[:-1][: MAX_TAGS - 1]),
                    proposal.key,
                ],
                "source_episode_ids": episode_ids[-MAX_SOURCE_IDS:],
            }
        )
    if len(new) > MAX_NEW_FACTS:  # keep the most important, in their order
        kept = sorted(range(len(new)), key=lambda i: (-new[i]["importance"], i))[:MAX_NEW_FACTS]
        new = [new[i] for i in sorted(kept)]
    reinforced = [reinforce[i] for i in sorted(reinforce, key=_id_order)][:MAX_REINFORCED]
    for entry in reinforced:
        entry["source_episode_ids"] = entry["source_episode_ids"][-MAX_SOURCE_IDS:]
    return {"new": new, "reinforce": reinforced}


def _importance_value(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return min(1.0, max(0.0, number)) if number == number else 0.0  # NaN -> 0


def _id_order(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, int) else (1, str(value))
