"""The person's past answers to prompts like this one, weighed by similarity, agent and age."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from clone_server.text import (
    PromptFeatures,
    canonical,
    features_similarity,
    parse_time,
    prompt_features,
    recency,
)
from predictions.local.facts import fact_days

OTHER_AGENT_WEIGHT = 0.5
MIN_SIMILARITY = 0.1
RELATIVE_CUTOFF = 0.4
OTHER_DAY_WEIGHT = 0.05


def number(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) else 0.0


@dataclass
class Neighbour:
    key: str
    reply: str
    sim: float
    agent_factor: float
    weight: float
    when: datetime | None


def neighbours_find(
    *, agent: str, query: PromptFeatures, relevant: list[dict], now: datetime | None
) -> list[Neighbour]:
    seen: set[str] = set()
    rows = []
    for index, item in enumerate(relevant):
        if not isinstance(item, dict):
            continue
        reply = str(item.get("reply") or "").strip()
        key = str(item.get("prompt_event_id") or f"#{index}")
        if not reply or not canonical(reply) or key in seen:
            continue
        seen.add(key)
        rows.append((key, item, reply))
    if not rows:
        return []

    max_score = max(number(item.get("score")) for _, item, _ in rows)
    times = {key: parse_time(item.get("occurred_at")) for key, item, _ in rows}
    known = [t for t in times.values() if t is not None]
    anchor = now or (max(known) if known else None)
    wanted_agent = (agent or "").strip().casefold()

    found = []
    for key, item, reply in rows:
        own = features_similarity(query, prompt_features(str(item.get("prompt") or "")))
        boost = number(item.get("score")) / max_score if max_score > 0 else 0.0
        sim = own * (0.85 + 0.15 * max(0.0, boost))
        if sim < MIN_SIMILARITY:
            continue
        same_agent = str(item.get("agent") or "").strip().casefold() == wanted_agent
        agent_factor = 1.0 if same_agent else OTHER_AGENT_WEIGHT
        when = times[key]
        weight = sim * agent_factor * recency(when, anchor, unknown=1.0)
        found.append(Neighbour(key, reply, sim, agent_factor, weight, when))
    if not found:
        return []
    best = max(n.sim for n in found)
    kept = [n for n in found if n.sim >= RELATIVE_CUTOFF * best]
    if now is not None:
        _day_scoped(kept, now)
    kept.sort(key=lambda n: (-n.weight, -(n.when.timestamp() if n.when else 0.0), n.key))
    return kept


def _day_scoped(neighbours: list[Neighbour], now: datetime) -> None:
    """Down-weight neighbours whose reply names a weekday and that were given on another one."""
    for n in neighbours:
        if (
            n.when is not None
            and fact_days(n.reply)
            and n.when.astimezone(now.tzinfo).weekday() != now.weekday()
        ):
            n.weight *= OTHER_DAY_WEIGHT
