"""Facts without a model: recurring patterns in the rows of a batch of episodes.

Each fact with importance in [0, 1] from frequency and recency (a
half-life of ``HALF_LIFE_DAYS`` before the newest row given, never the wall clock), within
bounds per kind (``_IMPORTANCE``) so that habits never crowd answer patterns and the person's
own words out of the bundle's most important facts:

- ``reply_pattern``: prompts are clustered by :func:`clone_server.text.prompt_similarity`
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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from clone_server.text import (
    asking_sentence,
    canonical,
    prompt_similarity,
    recency,
    same_reply,
    terms,
    tokens,
)
from memories.promotion.offline.rows import Row, clip, command_tool, row_order, row_parse
from memories.promotion.schemas import MAX_NEW_FACTS, MAX_REINFORCED, MAX_SOURCE_IDS
from memories.services import MAX_TAG_CHARS, MAX_TAGS

PROMPT_CLUSTER_SIMILARITY = 0.6
MIN_REPLY_REPEATS = 2
MIN_REPLY_SHARE = 0.6
MIN_HABIT_COUNT = 3
MAX_HABITS = 5
# A pattern whose rows carry no time counts as half recent.
UNDATED_RECENCY = 0.5
# The most importance one offline reinforcement proposes to add.
MAX_PROPOSED_DELTA = 0.1

_PREFERENCE_WORDS = frozenset(
    {"always", "never", "prefer", "prefers", "preferred", "usually", "dont", "avoid", "only"}
)
_FACT_ASKED = re.compile(
    r'When (?:(?P<agent>\S+) asks|asked) "(?P<prompt>[^"]+)" they answer "(?P<reply>[^"]+)"'
)
_FACT_USES = re.compile(r"^Uses (?P<tool>\S+) \(\d+ times?\)\.$")
_FACT_WORKS = re.compile(r"^Works with (?P<agent>.+?) \(\d+ prompts?\)\.$")


def _key(*parts: str) -> str:
    digest = hashlib.sha1("|".join(parts).encode(), usedforsecurity=False).hexdigest()
    return f"pattern:{digest[:12]}"


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


def _group_replies(rows: list[Row]) -> list[list[Row]]:
    groups: list[list[Row]] = []
    for row in rows:
        group = next((g for g in groups if same_reply(g[0].reply, row.reply)), None)
        if group is None:
            groups.append([row])
        else:
            group.append(row)
    return groups


def _dominant(rows: list[Row]) -> tuple[list[Row], float] | None:
    """The reply group that recurs (``MIN_REPLY_REPEATS``) and dominates (``MIN_REPLY_SHARE``)."""
    top = max(_group_replies(rows), key=len)  # the first of the largest on ties: stable
    share = len(top) / len(rows)
    if len(top) < MIN_REPLY_REPEATS or share < MIN_REPLY_SHARE:
        return None
    return top, share


def _reply_pattern(
    top: list[Row], share: float, *, agent: str, anchor: datetime | None
) -> _Proposal:
    # The asking sentence, without the context agents wrap around it ("Done with x.py. ...").
    prompts = Counter(asking_sentence(r.prompt) for r in top)
    prompt = min(prompts, key=lambda p: (-prompts[p], len(p), p))
    replies = Counter(r.reply for r in top)
    reply = min(replies, key=lambda t: (-replies[t], -_stamp(_newest(top, t)), t))
    newest = max((r.when for r in top if r.when), default=None)
    key = _key("reply", agent.casefold(), " ".join(sorted(set(terms(prompt)))), canonical(reply))
    who = f"When {agent} asks" if agent else "When asked"
    return _Proposal(
        kind="reply_pattern",
        text=f'{who} "{clip(prompt, 200)}" they answer "{clip(reply, 300)}".',
        importance=_importance(
            kind="reply_pattern",
            frequency=len(top) / (len(top) + 3) * share,
            recency=recency(newest, anchor, unknown=UNDATED_RECENCY),
        ),
        tags=["reply", *(sorted({r.agent for r in top if r.agent})), key],
        episodes=set().union(*(r.episodes for r in top)),
        key=key,
        count=len(top),
        prompt=prompt,
        reply=reply,
        agent=agent,
    )


def _reply_patterns(rows: list[Row], anchor: datetime | None) -> list[_Proposal]:
    pairs = [r for r in rows if r.prompt and r.reply]
    clusters: list[list[Row]] = []
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


def _newest(rows: list[Row], reply: str) -> datetime | None:
    return max((r.when for r in rows if r.reply == reply and r.when), default=None)


def _stamp(when: datetime | None) -> float:
    return when.timestamp() if when else float("-inf")


def _habits(rows: list[Row], anchor: datetime | None) -> list[_Proposal]:
    proposals = []
    for kind, subject_of, sentence in (
        ("tool", lambda r: command_tool(r.command) if r.command else "", "Uses {s} ({n} time{p})."),
        (
            "agent",
            lambda r: r.agent if r.kind == "agent_prompt" and r.agent else "",
            "Works with {s} ({n} prompt{p}).",
        ),
    ):
        uses: dict[str, list[Row]] = {}
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
                        kind="habit",
                        frequency=n / (n + 5),
                        recency=recency(newest, anchor, unknown=UNDATED_RECENCY),
                    ),
                    tags=["habit", kind, subject, key],
                    episodes=set().union(*(r.episodes for r in uses[subject])),
                    key=key,
                    count=n,
                    subject=subject,
                )
            )
    return proposals


def _notes(rows: list[Row], anchor: datetime | None) -> list[_Proposal]:
    found: dict[str, _Proposal] = {}
    for row in rows:
        text = row.note.strip()
        if not text or not canonical(text):
            continue
        key = _key("note", canonical(text))
        if key in found:
            found[key].count += 1
            found[key].episodes |= row.episodes
            continue
        kind = "preference" if set(tokens(text)) & _PREFERENCE_WORDS else "note"
        found[key] = _Proposal(
            kind=kind,
            text=clip(text if text.endswith((".", "!", "?")) else f"{text}.", 500),
            # The person said it themselves: important from the start.
            importance=_importance(
                kind=kind, frequency=1.0, recency=recency(row.when, anchor, unknown=UNDATED_RECENCY)
            ),
            tags=["note", key],
            episodes=set(row.episodes),
            key=key,
            count=1,
        )
    return list(found.values())


def _existing_match(proposal: _Proposal, existing: list[dict]) -> int | None:
    """The id of an existing fact that already states ``proposal``, if any (lowest id)."""
    text = canonical(proposal.text)
    for fact in existing:
        tags = fact.get("tags") or []
        fact_text = str(fact.get("text") or "")
        if proposal.key in tags or canonical(fact_text) == text:
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


def facts_distill(*, episodes: list[dict], existing_facts: Sequence[Mapping[str, Any]]) -> dict:
    """New facts and reinforcements of existing ones, from recurring patterns in ``episodes``.

    Promises: deterministic; never proposes a fact an existing one already states (that one is
    reinforced instead, each id at most once, with ``0 <= importance_delta <=
    MAX_PROPOSED_DELTA`` that never lifts it past its kind's ceiling: a delta of 0 still adds
    provenance); only ids from ``existing_facts`` are reinforced; importance in [0, 1];
    ``source_episode_ids`` sorted, only ids of ``episodes`` whose rows show the pattern.
    Returns ``{"new": [...], "reinforce": [...]}``, possibly both empty.
    """
    rows = _episode_rows(episodes or [])
    anchor = max((r.when for r in rows if r.when), default=None)
    existing = _usable_facts(existing_facts or [])
    importance_of = {f["id"]: _importance_value(f.get("importance")) for f in existing}

    new: list[dict] = []
    reinforce: dict[Any, dict] = {}
    proposals = [*_reply_patterns(rows, anchor), *_habits(rows, anchor), *_notes(rows, anchor)]
    created_keys: set[str] = set()
    for proposal in proposals:
        fact_id = _existing_match(proposal, existing)
        if fact_id is not None:
            _reinforcement_add(reinforce, fact_id, proposal, importance_of[fact_id])
        elif proposal.key not in created_keys:
            created_keys.add(proposal.key)
            new.append(_new_fact(proposal))
    if len(new) > MAX_NEW_FACTS:  # keep the most important, in their order
        kept = sorted(range(len(new)), key=lambda i: (-new[i]["importance"], i))[:MAX_NEW_FACTS]
        new = [new[i] for i in sorted(kept)]
    reinforced = [reinforce[i] for i in sorted(reinforce, key=_id_order)][:MAX_REINFORCED]
    for entry in reinforced:
        entry["source_episode_ids"] = entry["source_episode_ids"][-MAX_SOURCE_IDS:]
    return {"new": new, "reinforce": reinforced}


def _episode_rows(episodes: list[Any]) -> list[Row]:
    """Every row of the episodes once (by id), oldest first, each knowing its episodes."""
    rows_by_id: dict[Any, Row] = {}
    loose: list[Row] = []
    for episode in episodes:
        if not isinstance(episode, dict):
            continue
        for raw in episode.get("raw") or []:
            if not isinstance(raw, dict):
                continue
            row_id = raw.get("id")
            row = rows_by_id.get(row_id) if row_id is not None else None
            if row is None:
                row = row_parse(raw)
                if row_id is None:
                    loose.append(row)
                else:
                    rows_by_id[row_id] = row
            if episode.get("id") is not None:
                row.episodes.add(episode["id"])
    return sorted([*rows_by_id.values(), *loose], key=row_order)


def _usable_facts(existing_facts: Iterable[Any]) -> list[dict]:
    """The existing facts that have an id, in id order."""
    existing = [
        f
        for f in existing_facts
        if isinstance(f, dict) and f.get("id") is not None and not isinstance(f.get("id"), bool)
    ]
    existing.sort(key=lambda f: _id_order(f["id"]))
    return existing


def _reinforcement_add(
    reinforce: dict[Any, dict], fact_id: Any, proposal: _Proposal, importance: float
) -> None:
    """Count ``proposal`` as one more sighting of the existing fact ``fact_id``."""
    entry = reinforce.setdefault(
        fact_id, {"id": fact_id, "importance_delta": 0.0, "source_episode_ids": []}
    )
    # Up to the kind's ceiling: a habit seen again and again never outranks answers.
    room = _IMPORTANCE[proposal.kind][3] - importance
    delta = entry["importance_delta"] + _REINFORCE_STEP[proposal.kind] * proposal.count
    entry["importance_delta"] = round(max(0.0, min(MAX_PROPOSED_DELTA, delta, room)), 3)
    entry["source_episode_ids"] = sorted(
        {*entry["source_episode_ids"], *proposal.episodes}, key=_id_order
    )


def _new_fact(proposal: _Proposal) -> dict:
    episode_ids = sorted(proposal.episodes, key=_id_order)
    return {
        "kind": proposal.kind,
        "text": proposal.text,
        "importance": proposal.importance,
        # The key tag last, so clipping the list never drops it.
        "tags": [
            *(clip(t, MAX_TAG_CHARS) for t in proposal.tags[:-1][: MAX_TAGS - 1]),
            proposal.key,
        ],
        "source_episode_ids": episode_ids[-MAX_SOURCE_IDS:],
    }


def _importance_value(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return min(1.0, max(0.0, number)) if number == number else 0.0  # NaN -> 0


def _id_order(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, int) else (1, str(value))
