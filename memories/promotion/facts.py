"""Promotion, second step: episodes -> facts, through the model or the offline path.

Every write happens only after the answer came, one transaction per batch. Nothing is deleted
or overwritten: a refined fact keeps its earlier text in ``revisions`` and collects its source
episodes.
"""

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from clone_server import llm
from memories import conf
from memories.decay import clamp_importance
from memories.models import EpisodicMemory, RawMemory, SemanticMemory
from memories.promotion.answers import Answer, episodes_distill
from memories.promotion.episodes import ROW_FIELDS
from memories.selectors import FACT_ORDER
from memories.services import KIND_RE, clean_tags

# One promotion never moves a fact's importance by more than this, whatever the answer asks.
MAX_IMPORTANCE_CHANGE = 0.2
# Episodes one call takes when the caller sets no bound (the command, the replay).
BATCH_EPISODES = 50


@dataclass
class FactPromotion:
    created: int = 0
    reinforced: int = 0
    refined: int = 0
    fact_ids: list[int] = field(default_factory=list)
    episodes: int = 0
    llm_calls: int = 0
    remaining: bool = False
    usage: llm.Usage = field(default_factory=llm.Usage)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)  # usage becomes its token counts too

    def add(self, stored: "FactsStored") -> None:
        self.created += stored.created
        self.reinforced += stored.reinforced
        self.refined += stored.refined
        self.fact_ids.extend(stored.fact_ids)
        self.episodes += stored.episodes


def _same_text(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().rstrip(".!").casefold()


def _kind(value: str) -> str:
    value = value.strip().lower()
    return value if KIND_RE.match(value) else "other"


def _sources(ids: list[int], allowed: set[int]) -> set[int]:
    """The cited episodes of this batch; all of the batch when the answer cites none of it."""
    chosen = {i for i in ids if i in allowed}
    return chosen or set(allowed)


@dataclass
class FactsStored:
    """What storing one answer did."""

    created: int = 0
    reinforced: int = 0
    refined: int = 0
    fact_ids: list[int] = field(default_factory=list)
    episodes: int = 0


def _new_or_known(*, user: User, answer: Answer) -> tuple[list[dict], list[dict]]:
    """The answer's reinforcements and its new facts, where a "new" fact that repeats a known
    one (same words) becomes a reinforcement of it; new facts repeated in the answer go once."""
    new_items = answer.data["new"]
    known = {
        _same_text(text): pk
        for pk, text in SemanticMemory.objects.filter(
            user=user, text__in=[item["text"].strip() for item in new_items]
        ).values_list("id", "text")
    }
    reinforce = list(answer.data["reinforce"])
    to_create: dict[str, dict] = {}
    for item in new_items:
        key = _same_text(item["text"])
        if key in known:
            reinforce.append({"id": known[key], "importance_delta": 0.0, "source_episode_ids": []})
        else:
            to_create.setdefault(key, item)
    return reinforce, list(to_create.values())


def _reinforced(
    *, fact: SemanticMemory, item: dict, sources: set[int], now: datetime
) -> SemanticMemory:
    """``fact`` with one reinforcement applied: importance moved (within
    ``MAX_IMPORTANCE_CHANGE``), a sharper wording taken (the old one kept in ``revisions``),
    tags added."""
    delta = max(-MAX_IMPORTANCE_CHANGE, min(MAX_IMPORTANCE_CHANGE, item["importance_delta"]))
    fact.importance = clamp_importance(fact.importance + delta)
    fact.reinforced_count += 1
    text = (item.get("text") or "").strip()
    if text and _same_text(text) != _same_text(fact.text):
        fact.revisions = [
            *fact.revisions,
            {
                "text": fact.text,
                "at": now.isoformat(),
                "by": "promotion",
                "episode_ids": sorted(sources),
            },
        ]
        fact.text = text
    if item.get("tags"):
        fact.tags = clean_tags([*fact.tags, *item["tags"]])
    fact.updated_at = now
    return fact


def _facts_reinforce(
    *,
    user: User,
    items: list[dict],
    allowed: set[int],
    now: datetime,
    links: dict[int, set[int]],
) -> tuple[int, int]:
    """Apply the reinforcements to this user's facts (ids of other users' facts are ignored);
    returns (facts reinforced, facts refined)."""
    facts = {
        f.id: f
        for f in SemanticMemory.objects.select_for_update()
        .filter(user=user, id__in={int(item["id"]) for item in items})
        .order_by("id")
    }
    touched: dict[int, SemanticMemory] = {}
    refined = 0
    for item in items:
        fact = facts.get(int(item["id"]))
        if fact is None:
            continue
        sources = _sources(item.get("source_episode_ids", []), allowed)
        before = fact.text
        _reinforced(fact=fact, item=item, sources=sources, now=now)
        refined += int(fact.text != before)
        links[fact.id] |= sources
        touched[fact.id] = fact
    SemanticMemory.objects.bulk_update(
        list(touched.values()),
        ["importance", "reinforced_count", "revisions", "text", "tags", "updated_at"],
    )
    return len(touched), refined


def _facts_create(
    *, user: User, items: list[dict], allowed: set[int], links: dict[int, set[int]]
) -> list[int]:
    created = SemanticMemory.objects.bulk_create(
        [
            SemanticMemory(
                user=user,
                kind=_kind(item["kind"]),
                text=item["text"].strip(),
                importance=float(item["importance"]),
                tags=clean_tags(item["tags"]),
            )
            for item in items
        ]
    )
    for fact, item in zip(created, items, strict=True):
        links[fact.id] |= _sources(item["source_episode_ids"], allowed)
    return [f.id for f in created]


def _sources_link(links: dict[int, set[int]]) -> None:
    through = SemanticMemory.source_episodes.through
    through.objects.bulk_create(
        [
            through(semanticmemory_id=fact_id, episodicmemory_id=episode_id)
            for fact_id, episode_ids in links.items()
            for episode_id in sorted(episode_ids)
        ],
        ignore_conflicts=True,
    )


@transaction.atomic
def _facts_store(*, user: User, episode_ids: list[int], answer: Answer) -> FactsStored:
    """Store one answer for a batch of episodes and mark them distilled; nothing when another
    promotion distilled them meanwhile."""
    episodes = list(
        EpisodicMemory.objects.select_for_update()
        .filter(user=user, id__in=episode_ids, distilled_at__isnull=True)
        .order_by("id")
        .values_list("id", flat=True)
    )
    if not episodes:
        return FactsStored()
    allowed = set(episodes)
    now = timezone.now()
    links: dict[int, set[int]] = defaultdict(set)
    reinforce, to_create = _new_or_known(user=user, answer=answer)
    reinforced, refined = _facts_reinforce(
        user=user, items=reinforce, allowed=allowed, now=now, links=links
    )
    fact_ids = _facts_create(user=user, items=to_create, allowed=allowed, links=links)
    _sources_link(links)
    EpisodicMemory.objects.filter(id__in=episodes).update(distilled_at=now)
    return FactsStored(
        created=len(fact_ids),
        reinforced=reinforced,
        refined=refined,
        fact_ids=fact_ids,
        episodes=len(episodes),
    )


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), max(1, size)):
        yield items[start : start + max(1, size)]


def facts_promote(*, user: User, max_episodes: int = BATCH_EPISODES) -> FactPromotion:
    """Distill up to ``max_episodes`` of the user's oldest undistilled episodes into facts.

    Episodes go to the model in batches of ``CLONE_MEMORY_DISTILL_EPISODES_PER_CALL`` with the
    most important existing facts (``CLONE_MEMORY_DISTILL_EXISTING_FACTS``), so it reinforces
    or refines a known fact (by id; ids that are not this user's are ignored) instead of
    repeating it. A refined fact keeps its old text in ``revisions``; every fact touched gains
    the episodes it came from. Each batch is written atomically after the model answered and
    marks its episodes distilled. Idempotent: nothing to distill means no call and
    ``created == 0``; ``remaining`` says whether another call has work. Reports tokens used.
    """
    result = FactPromotion()
    episodes = list(
        EpisodicMemory.objects.filter(user=user, distilled_at__isnull=True)
        .order_by("started_at", "id")
        .values("id", "title", "summary")[: max(0, max_episodes)]
    )
    if episodes:
        raw: dict[int, list[dict]] = defaultdict(list)
        for row in (
            RawMemory.objects.filter(user=user, episode_id__in=[e["id"] for e in episodes])
            .order_by("occurred_at", "id")
            .values("episode_id", *ROW_FIELDS)
        ):
            row["occurred_at"] = row["occurred_at"].isoformat()
            raw[row.pop("episode_id")].append(row)
        for batch in _chunks(episodes, conf.distill_episodes_per_call()):
            existing = list(
                SemanticMemory.objects.filter(user=user)
                .order_by(*FACT_ORDER)
                .values("id", "kind", "text", "importance")[: conf.distill_max_existing_facts()]
            )
            answer = episodes_distill(
                episodes=[{**e, "raw": raw[e["id"]]} for e in batch], existing_facts=existing
            )
            result.usage = result.usage + answer.usage
            result.llm_calls += int(answer.used_llm)
            result.add(_facts_store(user=user, episode_ids=[e["id"] for e in batch], answer=answer))
    result.remaining = EpisodicMemory.objects.filter(user=user, distilled_at__isnull=True).exists()
    return result


def facts_promote_bounded(*, user: User, max_episodes: int | None = None) -> FactPromotion:
    """``facts_promote`` for one request: at most ``max_episodes`` episodes, capped at (and by
    default) ``CLONE_MEMORY_PROMOTE_MAX_EPISODES``."""
    return facts_promote(
        user=user, max_episodes=conf.bounded(max_episodes, conf.promote_max_episodes())
    )
