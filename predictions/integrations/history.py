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
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from memories.services import raw_sync
from recording.services import event_ingest, events_validate

NEXT_STEPS = [
    "POST /api/integrations/history/learn/ (or `manage.py learn_history --user <name>`): "
    "replay the imported answers to label predictions and fit calibration",
    "POST /api/memory/promote/episodes/ then POST /api/memory/promote/facts/ "
    "(or `manage.py promote_memory`): distil episodes and facts",
]


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
            "next": NEXT_STEPS,
        }


_KINDS = {"agent_prompt": "prompts", "user_reply": "replies", "note": "notes"}


def history_import(
    *, user: AbstractBaseUser, events: list[dict[str, Any]], skipped: dict[str, int]
) -> ImportResult:
    """Store a parsed history's events and sync Memory.

    All-or-nothing: every event is validated first and one transaction stores them (in chunks
    of ``CLONE_MAX_EVENTS_PER_REQUEST``), so a bad file stores nothing. Idempotent: an event
    whose id is already stored is counted as a duplicate and changes nothing.
    """
    events_validate(events=events)
    kind_of = {e["id"]: _KINDS.get(e["kind"], e["kind"]) for e in events}
    created: Counter[str] = Counter({name: 0 for name in _KINDS.values()})
    duplicates: Counter[str] = Counter({name: 0 for name in _KINDS.values()})
    size = max(1, settings.CLONE_MAX_EVENTS_PER_REQUEST)
    with transaction.atomic():
        for start in range(0, len(events), size):
            result = event_ingest(user=user, events=events[start : start + size])
            created.update(kind_of[i] for i in result.created)
            duplicates.update(kind_of[i] for i in result.duplicates)
    synced = raw_sync(user=user) if any(created.values()) else 0
    return ImportResult(
        created=dict(created), duplicates=dict(duplicates), skipped=dict(skipped), synced=synced
    )
