"""Promotion: raw rows -> episodes -> facts, through the LLM gateway (or the local provider).

The model's answers and the local functions' return values have the same shape (the schemas
below), so one code path validates and stores both. Every write happens only after the model
answered, one transaction per group or batch: a provider failure leaves the groups already
stored complete and nothing of the failed one. Nothing is deleted or overwritten: a refined fact
keeps its earlier text in ``revisions`` and collects its source episodes.
"""

import json
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from jsonschema import Draft202012Validator

from clone_server.errors import ApiError
from memories import conf
from memories.decay import clamp_importance
from memories.models import EpisodicMemory, RawMemory, SemanticMemory
from memories.selectors import FACT_ORDER
from memories.services import KIND_RE, MAX_FACT_CHARS, MAX_TAG_CHARS, MAX_TAGS, clean_tags
from predictions import llm

EPISODE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["title", "summary"],
    "properties": {
        "title": {"type": "string", "minLength": 1, "maxLength": 200},
        "summary": {"type": "string", "minLength": 1, "maxLength": 4000},
    },
}

_IDS = {"type": "array", "maxItems": 100, "items": {"type": "integer"}}
_TAGS = {
    "type": "array",
    "maxItems": MAX_TAGS,
    "items": {"type": "string", "maxLength": MAX_TAG_CHARS},
}
_FACT_TEXT = {"type": "string", "minLength": 1, "maxLength": MAX_FACT_CHARS}

FACTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["new", "reinforce"],
    "properties": {
        "new": {
            "type": "array",
            "maxItems": 50,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["kind", "text", "importance", "tags", "source_episode_ids"],
                "properties": {
                    "kind": {"type": "string", "minLength": 1, "maxLength": 32},
                    "text": _FACT_TEXT,
                    "importance": {"type": "number", "minimum": 0, "maximum": 1},
                    "tags": _TAGS,
                    "source_episode_ids": _IDS,
                },
            },
        },
        "reinforce": {
            "type": "array",
            "maxItems": 100,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "importance_delta", "source_episode_ids"],
                "properties": {
                    "id": {"type": "integer"},
                    "importance_delta": {"type": "number", "minimum": -1, "maximum": 1},
                    "source_episode_ids": _IDS,
                    # Optional refinement: a better wording; the old one goes to revisions.
                    "text": _FACT_TEXT,
                    "tags": _TAGS,
                },
            },
        },
    },
}

# One promotion never moves a fact's importance by more than this.
MAX_REINFORCE_DELTA = 0.2
# Rows of one episode shown to the model when distilling facts.
DISTILL_ROWS_PER_EPISODE = 40

EPISODE_SYSTEM = (
    "You maintain the memory of one person who works with AI coding agents. You are given a "
    "time-ordered log of what they did in one session: commands they ran, what agents asked "
    "them, how they replied, notes, screens. Summarize it as one episode: a short title (under "
    "80 characters) and a summary of a few sentences in the third person that keeps what "
    "matters for predicting how this person will answer agents later: decisions, preferences, "
    "habits, constraints, the project and tools involved. Do not invent anything that is not "
    "in the log. Answer only by calling the tool."
)

FACTS_SYSTEM = (
    "You maintain long-term memory about one person who works with AI coding agents. You are "
    "given episodes (summaries of their recent sessions, with excerpts) and the facts already "
    "known about them, each with its id. Distill durable, atomic, reusable facts: preferences, "
    "habits, rules they apply, tools and projects, how they like agents to behave. A fact is "
    "one sentence in the third person. Do not repeat a known fact: if an episode confirms one, "
    "put it in `reinforce` with its id and a small importance_delta (0.02 to 0.1), and a "
    "`text` only if the episode makes a sharper wording clearly true. Put only genuinely new "
    "facts in `new` with an importance between 0 and 1 (1 = shapes most answers). Cite the "
    "episode ids each fact comes from. `kind` is one word such as preference, habit, rule, "
    "tool, project, person. Return empty lists when there is nothing durable. Answer only by "
    "calling the tool."
)

_validators = {
    "episode": Draft202012Validator(EPISODE_SCHEMA),
    "facts": Draft202012Validator(FACTS_SCHEMA),
}


class PromotionUnavailable(ApiError):
    status_code = 503
    default_code = "promotion_unavailable"
    default_detail = "Local promotion is not available on this server."


@dataclass
class EpisodePromotion:
    created: int = 0
    episode_ids: list[int] = field(default_factory=list)
    rows: int = 0
    llm_calls: int = 0
    remaining: bool = False
    usage: llm.Usage = field(default_factory=llm.Usage)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)  # usage becomes its token counts too


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


@dataclass(frozen=True)
class _Answer:
    data: dict
    model: str
    usage: llm.Usage
    used_llm: bool


def _local_module():
    try:
        from memories import local_promotion
    except ImportError as exc:
        raise PromotionUnavailable() from exc
    return local_promotion


def _checked_local(kind: str, data: Any) -> dict:
    """The local functions promise the LLM schemas' shape; hold them to it like the model."""
    errors = list(_validators[kind].iter_errors(data))
    if errors:
        raise llm.LLMBadOutput(
            "The local promoter's answer did not match the expected format.",
            details=[{"field": e.json_path, "message": e.message[:200]} for e in errors[:5]],
        )
    return data


# --- Seams: the model or the local provider -------------------------------------------------


def _summarize_group(*, rows: list[dict]) -> _Answer:
    """``{"title", "summary"}`` for one group of raw rows (dicts with ``id, kind, text,
    occurred_at, agent, prompt_text, reply_text``)."""
    if llm.active_provider() == "local":
        data = _local_module().episode_summarize(rows=rows)
        return _Answer(_checked_local("episode", data), "local", llm.Usage(), used_llm=False)
    log = "\n".join(f"[{row['occurred_at']}] {row['text']}" for row in rows)
    result = llm.structured_call(
        system=EPISODE_SYSTEM,
        messages=[{"role": "user", "content": f"Session log:\n{log}"}],
        schema=EPISODE_SCHEMA,
        tool_name="record_episode",
        tool_description="Record the episode's title and summary.",
        model=conf.promotion_model(),
        cache_system=True,
    )
    return _Answer(result.data, result.model, result.usage, used_llm=True)


def _distill(*, episodes: list[dict], existing_facts: list[dict]) -> _Answer:
    """``{"new": [...], "reinforce": [...]}`` (see ``FACTS_SCHEMA``) for a batch of episodes
    (dicts with ``id, title, summary, raw``) given the existing facts (``id, kind, text,
    importance``)."""
    if llm.active_provider() == "local":
        data = _local_module().facts_distill(episodes=episodes, existing_facts=existing_facts)
        return _Answer(_checked_local("facts", data), "local", llm.Usage(), used_llm=False)
    shown = [
        {
            "id": e["id"],
            "title": e["title"],
            "summary": e["summary"],
            "excerpt": [row["text"] for row in e["raw"][:DISTILL_ROWS_PER_EPISODE]],
        }
        for e in episodes
    ]
    content = (
        "Known facts:\n"
        + json.dumps(existing_facts, ensure_ascii=False)
        + "\n\nNew episodes:\n"
        + json.dumps(shown, ensure_ascii=False, default=str)
    )
    result = llm.structured_call(
        system=FACTS_SYSTEM,
        messages=[{"role": "user", "content": content}],
        schema=FACTS_SCHEMA,
        tool_name="record_facts",
        tool_description="Record new facts and reinforcements of known facts.",
        model=conf.promotion_model(),
        cache_system=True,
    )
    return _Answer(result.data, result.model, result.usage, used_llm=True)


# --- Episodes --------------------------------------------------------------------------------

_ROW_FIELDS = ("id", "kind", "text", "occurred_at", "agent", "prompt_text", "reply_text")


def _groups(rows: list[dict]) -> Iterator[list[dict]]:
    """Rows split by session, then wherever the gap between two rows exceeds the setting or a
    group reaches ``CLONE_MEMORY_EPISODE_MAX_ROWS``; groups in order of their first row."""
    gap = timedelta(minutes=conf.episode_gap_minutes())
    limit = max(1, conf.episode_max_rows())
    by_session: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        by_session[row["session_id"]].append(row)
    groups: list[list[dict]] = []
    for session_rows in by_session.values():
        current: list[dict] = []
        for row in session_rows:
            if current and (
                row["occurred_at"] - current[-1]["occurred_at"] > gap or len(current) >= limit
            ):
                groups.append(current)
                current = []
            current.append(row)
        groups.append(current)
    groups.sort(key=lambda g: (g[0]["occurred_at"], g[0]["id"]))
    yield from groups


@transaction.atomic
def _episode_store(*, user: AbstractBaseUser, group: list[dict], answer: _Answer) -> int | None:
    """Create the episode and attach the rows still free; None when another promotion took
    them all meanwhile."""
    free = list(
        RawMemory.objects.select_for_update()
        .filter(user=user, id__in=[row["id"] for row in group], episode__isnull=True)
        .order_by("id")
        .values_list("id", "occurred_at")
    )
    if not free:
        return None
    times = [at for _, at in free]
    episode = EpisodicMemory.objects.create(
        user=user,
        session_id=group[0]["session_id"],
        started_at=min(times),
        ended_at=max(times),
        title=answer.data["title"].strip()[:200] or "Untitled",
        summary=answer.data["summary"].strip(),
        model=answer.model[:64],
    )
    RawMemory.objects.filter(id__in=[pk for pk, _ in free]).update(episode=episode)
    return episode.id


def episodes_promote(*, user: AbstractBaseUser, max_rows: int = 1000) -> EpisodePromotion:
    """Summarize up to ``max_rows`` of the user's oldest raw rows not yet in an episode.

    Rows are grouped by session and by time gaps (``CLONE_MEMORY_EPISODE_GAP_MINUTES``); each
    group costs one model call and becomes one episode, written atomically after the model
    answered. Idempotent: nothing to promote means no call and ``created == 0``; calling again
    continues where the last call stopped (``remaining`` says whether rows are left). Reports
    the tokens used. A provider error stops the run and propagates (mapped by the gateway);
    the episodes stored before it are complete and stay.
    """
    result = EpisodePromotion()
    rows = list(
        RawMemory.objects.filter(user=user, episode__isnull=True)
        .order_by("occurred_at", "id")
        .values("session_id", *_ROW_FIELDS)[: max(0, max_rows)]
    )
    for group in _groups(rows) if rows else ():
        payload = [
            {**{k: row[k] for k in _ROW_FIELDS}, "occurred_at": row["occurred_at"].isoformat()}
            for row in group
        ]
        answer = _summarize_group(rows=payload)
        result.usage = result.usage + answer.usage
        result.llm_calls += int(answer.used_llm)
        episode_id = _episode_store(user=user, group=group, answer=answer)
        if episode_id is not None:
            result.created += 1
            result.episode_ids.append(episode_id)
            result.rows += len(group)
    result.remaining = RawMemory.objects.filter(user=user, episode__isnull=True).exists()
    return result


# --- Facts -----------------------------------------------------------------------------------


def _same_text(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().rstrip(".!").casefold()


def _kind(value: str) -> str:
    value = value.strip().lower()
    return value if KIND_RE.match(value) else "other"


def _sources(ids: list[int], allowed: set[int]) -> set[int]:
    """The cited episodes of this batch; all of the batch when the answer cites none of it."""
    chosen = {i for i in ids if i in allowed}
    return chosen or set(allowed)


@transaction.atomic
def _facts_store(
    *, user: AbstractBaseUser, episode_ids: list[int], answer: _Answer, result: FactPromotion
) -> None:
    episodes = list(
        EpisodicMemory.objects.select_for_update()
        .filter(user=user, id__in=episode_ids, distilled_at__isnull=True)
        .order_by("id")
        .values_list("id", flat=True)
    )
    if not episodes:
        return  # Another promotion distilled them meanwhile.
    allowed = set(episodes)
    now = timezone.now()
    links: dict[int, set[int]] = defaultdict(set)

    new_items = answer.data["new"]
    # A "new" fact that repeats a known one (same words) reinforces it instead.
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

    # Only this user's facts: ids of other users' facts are ignored.
    wanted = {int(item["id"]) for item in reinforce}
    facts = {
        f.id: f
        for f in SemanticMemory.objects.select_for_update()
        .filter(user=user, id__in=wanted)
        .order_by("id")
    }
    touched: dict[int, SemanticMemory] = {}
    for item in reinforce:
        fact = facts.get(int(item["id"]))
        if fact is None:
            continue
        delta = max(-MAX_REINFORCE_DELTA, min(MAX_REINFORCE_DELTA, item["importance_delta"]))
        fact.importance = clamp_importance(fact.importance + delta)
        fact.reinforced_count += 1
        sources = _sources(item.get("source_episode_ids", []), allowed)
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
            result.refined += 1
        if item.get("tags"):
            fact.tags = clean_tags([*fact.tags, *item["tags"]])
        fact.updated_at = now
        links[fact.id] |= sources
        touched[fact.id] = fact
    SemanticMemory.objects.bulk_update(
        list(touched.values()),
        ["importance", "reinforced_count", "revisions", "text", "tags", "updated_at"],
    )
    result.reinforced += len(touched)

    created = SemanticMemory.objects.bulk_create(
        [
            SemanticMemory(
                user=user,
                kind=_kind(item["kind"]),
                text=item["text"].strip(),
                importance=float(item["importance"]),
                tags=clean_tags(item["tags"]),
            )
            for item in to_create.values()
        ]
    )
    for fact, item in zip(created, to_create.values(), strict=True):
        links[fact.id] |= _sources(item["source_episode_ids"], allowed)
    result.created += len(created)
    result.fact_ids.extend(f.id for f in created)

    through = SemanticMemory.source_episodes.through
    through.objects.bulk_create(
        [
            through(semanticmemory_id=fact_id, episodicmemory_id=episode_id)
            for fact_id, episode_ids_ in links.items()
            for episode_id in sorted(episode_ids_)
        ],
        ignore_conflicts=True,
    )
    EpisodicMemory.objects.filter(id__in=episodes).update(distilled_at=now)
    result.episodes += len(episodes)


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), max(1, size)):
        yield items[start : start + max(1, size)]


def facts_promote(*, user: AbstractBaseUser, max_episodes: int = 50) -> FactPromotion:
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
            .values("episode_id", *_ROW_FIELDS)
        ):
            row["occurred_at"] = row["occurred_at"].isoformat()
            raw[row.pop("episode_id")].append(row)
        for batch in _chunks(episodes, conf.distill_episodes_per_call()):
            existing = list(
                SemanticMemory.objects.filter(user=user)
                .order_by(*FACT_ORDER)
                .values("id", "kind", "text", "importance")[: conf.distill_max_existing_facts()]
            )
            answer = _distill(
                episodes=[{**e, "raw": raw[e["id"]]} for e in batch], existing_facts=existing
            )
            result.usage = result.usage + answer.usage
            result.llm_calls += int(answer.used_llm)
            _facts_store(
                user=user, episode_ids=[e["id"] for e in batch], answer=answer, result=result
            )
    result.remaining = EpisodicMemory.objects.filter(user=user, distilled_at__isnull=True).exists()
    return result
