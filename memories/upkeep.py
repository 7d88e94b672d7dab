"""Memory that keeps itself fresh: raw rows at ingest, then promotion in the background.

- ``events_remember``: the raw rows of just-ingested events, in the ingest's transaction, and
  (once it commits) ``promotion_schedule``.
- ``promotion_schedule``: at most one promotion task per person, queued or running (debounced):
  due once ``CLONE_PROMOTE_AFTER_EVENTS`` raw rows wait for an episode, or after
  ``CLONE_PROMOTE_IDLE_SECONDS`` without a new event.
- ``promotion_step``: one bounded step (episodes, then facts) under a per-person Postgres
  advisory lock; the task (``memories.tasks``) queues the next step while work remains.

The state lives in ``MemoryUpkeep``. Every step is idempotent: episodes take only rows still
free (row locks) and each is written in one transaction after the model answered, so a worker
killed mid-step leaves nothing half-written and the redelivered task completes the work.
"""

import contextlib
import contextvars
import enum
import logging
import random
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone

from clone_server import llm
from memories import conf, services
from memories.models import MemoryUpkeep, RawMemory
from memories.promotion import episodes_promote, facts_promote

logger = logging.getLogger(__name__)

# Failures that pass with time: retried with backoff. Anything else is held (no blind retries).
RETRYABLE_ERRORS = (llm.LLMRateLimited, llm.LLMUnavailable, llm.LLMTimeout)
# A task queued or running longer than this without news was lost (a broker flushed); the next
# ingest queues a new one.
STALE_AFTER = timedelta(hours=2)
# First 31 bits name the lock family, the low 32 the person: no clash with other advisory locks.
_LOCK_NAMESPACE = 0x436C6F6E << 32

_paused: contextvars.ContextVar[bool] = contextvars.ContextVar("promotion_paused", default=False)


@contextlib.contextmanager
def automatic_promotion_paused() -> Iterator[None]:
    """No promotion is scheduled inside this block (the evaluation replay promotes itself,
    once per day of data)."""
    token = _paused.set(True)
    try:
        yield
    finally:
        _paused.reset(token)


def in_process() -> bool:
    """No broker: tasks run in this process, right after the request that queued them commits."""
    return bool(settings.CELERY_TASK_ALWAYS_EAGER)


def _automatic() -> bool:
    return bool(settings.CLONE_PROMOTE_AUTOMATICALLY) and not _paused.get()


# --- At ingest ------------------------------------------------------------------------------


def events_remember(*, user: User, events: Sequence[Mapping[str, Any]]) -> int:
    """The raw rows of events just stored (in the ingest's transaction); once it commits, the
    person's promotion is scheduled. Returns the rows created."""
    created = services.raw_rows_create(user=user, events=events)
    user_id = user.pk
    # Robust: the events are stored; a scheduling failure is logged, never the ingest's error.
    transaction.on_commit(lambda: promotion_schedule(user_id=user_id), robust=True)
    return created


def _upkeep_locked(*, user_id: int) -> MemoryUpkeep:
    MemoryUpkeep.objects.get_or_create(user_id=user_id)
    return MemoryUpkeep.objects.select_for_update().get(user_id=user_id)


def _pending_rows(*, user_id: int, at_least: int) -> int:
    """Raw rows not yet in an episode, counted up to ``at_least`` (a bounded count)."""
    return (
        RawMemory.objects.filter(user_id=user_id, episode__isnull=True)
        .order_by()
        .values("id")[:at_least]
        .count()
    )


def _due_at(*, upkeep: MemoryUpkeep, now: datetime) -> datetime:
    """When the person's next promotion should run, by the debounce rule: now once enough raw
    rows wait (or none does: only facts to distil), else after a quiet spell since the last
    sync; never before a hold after an error. In-process, nothing can wait: now."""
    due = now
    if not in_process():
        pending = _pending_rows(user_id=upkeep.user_id, at_least=_after_events())
        if 0 < pending < _after_events():
            quiet_from = upkeep.last_synced_at or now
            due = max(now, quiet_from + timedelta(seconds=settings.CLONE_PROMOTE_IDLE_SECONDS))
    if upkeep.held_until and upkeep.held_until > due:
        due = upkeep.held_until
    return due


def _after_events() -> int:
    return max(1, int(settings.CLONE_PROMOTE_AFTER_EVENTS))


def _stale(upkeep: MemoryUpkeep, now: datetime) -> bool:
    last_news = upkeep.running_since or upkeep.scheduled_for
    return last_news is not None and last_news < now - STALE_AFTER


def promotion_schedule(*, user_id: int) -> None:
    """New raw rows arrived: note the sync, and queue a promotion unless one is already queued
    or running (a queued one is brought forward when the backlog makes it due now)."""
    now = timezone.now()
    queued: tuple[str, datetime] | None = None
    with transaction.atomic():
        upkeep = _upkeep_locked(user_id=user_id)
        upkeep.last_synced_at = now
        fields = ["last_synced_at"]
        if _automatic():
            due = _due_at(upkeep=upkeep, now=now)
            idle = upkeep.task_token is None or _stale(upkeep, now)
            sooner = (
                upkeep.running_since is None
                and upkeep.scheduled_for is not None
                and due < upkeep.scheduled_for
            )
            if idle or sooner:
                upkeep.task_token = uuid.uuid4()
                upkeep.scheduled_for = due
                upkeep.running_since = None
                fields += ["task_token", "scheduled_for", "running_since"]
                queued = (str(upkeep.task_token), due)
        upkeep.save(update_fields=fields)
    if queued is not None:
        try:
            _enqueue(user_id=user_id, token=queued[0], at=queued[1])
        except Exception:
            # The broker is down: forget the token, so the next ingest queues again.
            logger.warning("Could not queue the promotion of user %s", user_id, exc_info=True)
            MemoryUpkeep.objects.filter(user_id=user_id, task_token=queued[0]).update(
                task_token=None, scheduled_for=None
            )


def _enqueue(*, user_id: int, token: str, at: datetime) -> None:
    from memories.tasks import memory_promote  # the task module imports this one

    memory_promote.apply_async((user_id, token), eta=at)


# --- In the worker --------------------------------------------------------------------------


class StepOutcome(enum.Enum):
    SUPERSEDED = "superseded"  # another task holds the person's token: nothing to do
    BUSY = "busy"  # another worker holds the person's lock: it carries on
    NOT_DUE = "not_due"  # events still arriving: run again at ``next_at``
    MORE = "more"  # a step done, work remains: run again now
    DONE = "done"  # nothing left: the token is released


@dataclass(frozen=True)
class Step:
    outcome: StepOutcome
    next_at: datetime | None = None
    episodes: int = 0
    facts: int = 0


@contextlib.contextmanager
def _person_lock(user_id: int) -> Iterator[bool]:
    """A session-level Postgres advisory lock for the person (released if the worker dies, since
    its connection closes); whether it was taken. SQLite runs one process: always taken."""
    if connection.vendor != "postgresql":
        yield True
        return
    key = _LOCK_NAMESPACE | user_id
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        taken = bool(cursor.fetchone()[0])
    try:
        yield taken
    finally:
        if taken:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def _claim(*, user_id: int, token: str, now: datetime) -> Step | None:
    """Mark the step running if the token is still the person's and the work is due; else the
    step that says why not."""
    with transaction.atomic():
        upkeep = MemoryUpkeep.objects.select_for_update().filter(user_id=user_id).first()
        if upkeep is None or str(upkeep.task_token) != token:
            return Step(StepOutcome.SUPERSEDED)
        due = _due_at(upkeep=upkeep, now=now)
        if due > now:
            if in_process():
                # Nothing waits in-process: release, so the next ingest after the hold runs.
                upkeep.task_token = None
                upkeep.scheduled_for = None
                upkeep.save(update_fields=["task_token", "scheduled_for"])
                return Step(StepOutcome.NOT_DUE)
            upkeep.scheduled_for = due
            upkeep.save(update_fields=["scheduled_for"])
            return Step(StepOutcome.NOT_DUE, next_at=due)
        upkeep.running_since = now
        upkeep.save(update_fields=["running_since"])
    return None


def _finish(*, user_id: int, token: str, more: bool, now: datetime) -> Step:
    """After a successful step: queue the next, re-arm for rows that came meanwhile, or release."""
    with transaction.atomic():
        upkeep = MemoryUpkeep.objects.select_for_update().get(user_id=user_id)
        upkeep.last_promoted_at = now
        upkeep.running_since = None
        upkeep.failures = 0
        upkeep.held_until = None
        if str(upkeep.task_token) != token:
            outcome = Step(StepOutcome.SUPERSEDED)
        elif more:
            upkeep.scheduled_for = now
            outcome = Step(StepOutcome.MORE, next_at=now)
        elif _pending_rows(user_id=user_id, at_least=1):
            upkeep.scheduled_for = _due_at(upkeep=upkeep, now=now)
            outcome = Step(StepOutcome.NOT_DUE, next_at=upkeep.scheduled_for)
        else:
            upkeep.task_token = None
            upkeep.scheduled_for = None
            outcome = Step(StepOutcome.DONE)
        upkeep.save()
    return outcome


def promotion_step(*, user_id: int, token: str) -> Step:
    """One bounded promotion step for the person: up to ``CLONE_MEMORY_PROMOTE_MAX_ROWS`` raw
    rows into episodes, or (once none is left) up to ``CLONE_MEMORY_PROMOTE_MAX_EPISODES``
    episodes into facts. A provider error is recorded (``promotion_failed``) and raised."""
    with _person_lock(user_id) as taken:
        if not taken:
            return Step(StepOutcome.BUSY)
        now = timezone.now()
        refused = _claim(user_id=user_id, token=token, now=now)
        if refused is not None:
            return refused
        user = User.objects.get(pk=user_id)
        episodes = episodes_promote(user=user, max_rows=conf.promote_max_rows())
        facts = 0
        more = episodes.remaining
        if not more:
            distilled = facts_promote(user=user, max_episodes=conf.promote_max_episodes())
            facts = distilled.created
            more = distilled.remaining
        step = _finish(user_id=user_id, token=token, more=more, now=timezone.now())
        return Step(step.outcome, step.next_at, episodes=episodes.created, facts=facts)


def retry_delay(*, failures: int, retry_after: float | None = None) -> float:
    """Seconds before retry number ``failures`` (1, 2, ...): exponential,
    half of it random (so retries spread out), capped, and never sooner than the provider's ``Retry-After``."""
    base = float(settings.CLONE_PROMOTE_RETRY_BASE_S)
    cap = float(settings.CLONE_PROMOTE_RETRY_MAX_S)
    ceiling = min(cap, base * 2 ** max(0, failures - 1))
    delay = random.uniform(ceiling / 2, ceiling)
    return max(delay, float(retry_after or 0.0))


def promotion_failed(
    *, user_id: int, token: str, error: llm.LLMError, retry_in: float | None
) -> None:
    """Record the failure (status endpoint, admin). ``retry_in`` seconds: the task retries then;
    None: give up on this task and hold new ones for ``CLONE_PROMOTE_HOLD_AFTER_ERROR_S``."""
    now = timezone.now()
    with transaction.atomic():
        upkeep = MemoryUpkeep.objects.select_for_update().get(user_id=user_id)
        upkeep.last_error_code = error.code
        upkeep.last_error_message = str(error.detail)[:2000]
        upkeep.last_error_at = now
        upkeep.failures += 1
        upkeep.running_since = None
        if str(upkeep.task_token) == token:
            if retry_in is None:
                upkeep.task_token = None
                upkeep.scheduled_for = None
                upkeep.held_until = now + timedelta(
                    seconds=settings.CLONE_PROMOTE_HOLD_AFTER_ERROR_S
                )
            else:
                upkeep.scheduled_for = now + timedelta(seconds=retry_in)
        upkeep.save()


def failures_in_a_row(*, user_id: int) -> int:
    return (
        MemoryUpkeep.objects.filter(user_id=user_id).values_list("failures", flat=True).first() or 0
    )


def on_events_recorded(
    sender, *, user: User, events: Sequence[Mapping[str, Any]], **kwargs
) -> None:
    """Receiver of ``recording.signals.events_recorded`` (connected in ``MemoriesConfig``)."""
    events_remember(user=user, events=events)
