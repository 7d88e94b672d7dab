"""Promotion, first step: raw rows -> episodes, through the model or the offline path.

The model's answers and the local functions' return values have the same shape (the schemas
below), so one code path validates and stores both. Every write happens only after the model
answered, one transaction per group or batch: a provider failure leaves the groups already
stored complete and nothing of the failed one. Nothing is deleted or overwritten: a refined fact
keeps its earlier text in ``revisions`` and collects its source episodes.
"""

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from clone_server import llm
from memories import conf
from memories.models import EpisodicMemory, RawMemory
from memories.promotion.answers import Answer, group_summarize

# Rows one call takes when the caller sets no bound (the command, the replay).
BATCH_ROWS = 1000
ROW_FIELDS = ("id", "kind", "text", "occurred_at", "agent", "prompt_text", "reply_text")


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
def _episode_store(*, user: User, group: list[dict], answer: Answer) -> int | None:
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


def episodes_promote(*, user: User, max_rows: int = BATCH_ROWS) -> EpisodePromotion:
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
        .values("session_id", *ROW_FIELDS)[: max(0, max_rows)]
    )
    for group in _groups(rows) if rows else ():
        payload = [
            {**{k: row[k] for k in ROW_FIELDS}, "occurred_at": row["occurred_at"].isoformat()}
            for row in group
        ]
        answer = group_summarize(rows=payload)
        result.usage = result.usage + answer.usage
        result.llm_calls += int(answer.used_llm)
        episode_id = _episode_store(user=user, group=group, answer=answer)
        if episode_id is not None:
            result.created += 1
            result.episode_ids.append(episode_id)
            result.rows += len(group)
    result.remaining = RawMemory.objects.filter(user=user, episode__isnull=True).exists()
    return result


def episodes_promote_bounded(*, user: User, max_rows: int | None = None) -> EpisodePromotion:
    """``episodes_promote`` for one request: at most ``max_rows`` rows, capped at (and by
    default) ``CLONE_MEMORY_PROMOTE_MAX_ROWS``."""
    return episodes_promote(user=user, max_rows=conf.bounded(max_rows, conf.promote_max_rows()))
