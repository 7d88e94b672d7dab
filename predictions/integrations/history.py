"""Importing an agent's history: events in, memory synced, counts out.

The parsers (``claude_code.transcript_parse``, ``aider.history_parse``) are pure; this stores
what they found through the Recording layer's own ingest (all-or-nothing, idempotent on the
ids the parsers derive from the file) and syncs Memory, so the next prediction already sees
the history. ``history_learn`` then makes the history count for calibration.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from memories.selectors import raw_rows_count
from predictions.models import AgentRequest, AgentRequestState, Prediction
from predictions.services import calibration_refit
from recording.models import Event
from recording.services import event_ingest, events_validate

LEARN_STEP = (
    "POST /api/integrations/history/learn/ (or `manage.py learn_history --user <name>`): "
    "replay the imported answers to label predictions and fit calibration"
)
PROMOTE_STEP = (
    "POST /api/memory/promote/episodes/ then POST /api/memory/promote/facts/ "
    "(or `manage.py promote_memory`): distil episodes and facts"
)
PROMOTING_ITSELF = (
    "GET /api/memory/status/: episodes and facts are being distilled in the background"
)


def next_steps() -> list[str]:
    """What the person does after an import: learn from it; promote memory only where the
    server does not do it by itself."""
    automatic = bool(settings.CLONE_PROMOTE_AUTOMATICALLY)
    return [LEARN_STEP, PROMOTING_ITSELF if automatic else PROMOTE_STEP]


@dataclass
class ImportResult:
    created: dict[str, int] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    synced: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "duplicates": self.duplicates,
            "skipped": self.skipped,
            "memory_rows_synced": self.synced,
            "next": next_steps(),
        }


_KINDS = {"agent_prompt": "prompts", "user_reply": "replies", "note": "notes"}


def history_import(
    *, user: User, events: list[dict[str, Any]], skipped: dict[str, int]
) -> ImportResult:
    """Store a parsed history's events and sync Memory.

    All-or-nothing: every event is validated first and one transaction stores them (in chunks
    of ``CLONE_MAX_EVENTS_PER_REQUEST``), so a bad file stores nothing. Idempotent: an event
    whose id is already stored is counted as a duplicate and changes nothing.
    """
    events_validate(events=events)
    kind_of = {e["id"]: _KINDS.get(e["kind"], e["kind"]) for e in events}
    created: Counter[str] = Counter({name: 0 for name in _KINDS.values()})
    created_ids: list[str] = []
    duplicates: Counter[str] = Counter({name: 0 for name in _KINDS.values()})
    size = max(1, settings.CLONE_MAX_EVENTS_PER_REQUEST)
    with transaction.atomic():
        for start in range(0, len(events), size):
            result = event_ingest(user=user, events=events[start : start + size])
            created.update(kind_of[i] for i in result.created)
            created_ids.extend(result.created)
            duplicates.update(kind_of[i] for i in result.duplicates)
    # Ingest put the new events in memory, in the same transaction: count their rows.
    synced = raw_rows_count(user=user, event_keys=created_ids) if created_ids else 0
    return ImportResult(
        created=dict(created), duplicates=dict(duplicates), skipped=dict(skipped), synced=synced
    )


# --- Learning from the imported history --------------------------------------------------------

LEARN_SESSION = "history"
_LEARN_KINDS = ("agent_prompt", "user_reply", "note")


@dataclass
class LearnResult:
    replayed: int = 0
    labelled: int = 0
    already_labelled: int = 0
    calibration: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "replayed": self.replayed,
            "labelled": self.labelled,
            "already_labelled": self.already_labelled,
            "calibration": self.calibration,
        }


def _history_events(*, user: User, limit: int) -> list[dict[str, Any]]:
    """The user's prompts, replies and notes, newest ``limit`` of them, oldest first, as wire
    events."""
    rows = list(
        Event.objects.filter(user=user, kind__in=_LEARN_KINDS)
        .order_by("-occurred_at", "-id")
        .values_list(
            "event_id", "session__external_id", "kind", "occurred_at", "source", "payload"
        )[:limit]
    )
    rows.reverse()
    events = []
    for event_id, session_id, kind, occurred_at, source, payload in rows:
        event = {
            "id": event_id,
            "session_id": session_id,
            "kind": kind,
            "occurred_at": occurred_at.isoformat(),
            "payload": payload,
        }
        if source:
            event["source"] = source
        events.append(event)
    return events


def _labelled_prompts(*, user: User) -> set[str]:
    """The person's prompts (producer ids) that already carry a label: answered through a hook
    or an earlier learn, or predicted with ``prompt_event_id`` and given feedback."""
    through_hooks = AgentRequest.objects.filter(user=user, prediction__isnull=False).values_list(
        "prompt_event_id", flat=True
    )
    predicted = Prediction.objects.filter(
        user=user, outcome__isnull=False, prompt_event__isnull=False
    ).values_list("prompt_event__event_id", flat=True)
    return {*through_hooks, *predicted}


def history_learn(*, user: User, limit: int = 5000) -> LearnResult:
    """Label predictions on the person's recorded answers and fit their calibration, so an
    imported history counts as experience.

    Honest: the history (the newest ``limit`` prompts, replies and notes) is replayed in time
    order into a throwaway account (``predictions.evaluation.replay``), where each prompt is
    predicted from what came before it only and judged against the person's real reply; the
    labelled predictions then move to the person (their cited facts, which were the throwaway
    account's, are dropped) and their calibration is refit. Idempotent: a prompt already
    labelled (by an earlier learn, live through a hook, or predicted with ``prompt_event_id`` and
    given feedback) is not labelled again; each label is linked to the person's prompt event. The
    throwaway account is deleted whatever happens.
    """
    from predictions.evaluation.replay import (
        evaluation_user_create,
        evaluation_user_delete,
        events_sorted,
        replay_run,
    )

    events = _history_events(user=user, limit=limit)
    result = LearnResult()
    known = _labelled_prompts(user=user)
    scratch = evaluation_user_create(prefix="learn")
    labelled_ids: list[int | None] = []
    try:

        def note_label() -> None:
            newest = (
                Prediction.objects.filter(user=scratch, outcome__isnull=False)
                .order_by("-feedback_at", "-id")
                .values_list("id", flat=True)
                .first()
            )
            labelled_ids.append(newest)

        replayed = replay_run(
            user=scratch,
            events=events_sorted(events=events),
            refit_every=0,
            on_prediction=note_label,
        )
        result.replayed = len(replayed.records)
        moves: list[tuple[int | None, Any]] = []
        for record, prediction_id in zip(replayed.records, labelled_ids, strict=True):
            if record.prompt_id in known:
                result.already_labelled += 1
                continue
            known.add(record.prompt_id)
            moves.append((prediction_id, record))
        # Each label moves to the person, linked to their own prompt event (the throwaway
        # account's copy goes with it).
        prompt_pks = dict(
            Event.objects.filter(
                user=user, event_id__in=[record.prompt_id for _, record in moves]
            ).values_list("event_id", "pk")
        )
        moved = [
            Prediction(
                pk=pk,
                user=user,
                prompt_event_id=prompt_pks.get(record.prompt_id),
                cited_facts=[],
                decay_applied={},
            )
            for pk, record in moves
            if pk is not None
        ]
        with transaction.atomic():
            Prediction.objects.bulk_update(
                moved, ["user", "prompt_event", "cited_facts", "decay_applied"], batch_size=500
            )
            AgentRequest.objects.bulk_create(
                [
                    AgentRequest(
                        user=user,
                        agent=record.agent[:64],
                        session_key=LEARN_SESSION,
                        fingerprint="",
                        prompt_event_id=record.prompt_id,
                        prompt_recorded=True,
                        prediction_id=pk,
                        state=AgentRequestState.ANSWERED,
                        reply=record.actual[:8] if record.actual in ("yes", "no") else "",
                        settled_at=timezone.now(),
                    )
                    for pk, record in moves
                ],
                ignore_conflicts=True,
            )
        result.labelled = len(moves)
    finally:
        evaluation_user_delete(user=scratch)
    calibration = calibration_refit(user=user)
    result.calibration = calibration.as_dict(fitted_at=timezone.now())
    return result
