"""Writes to the Recording layer."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Greatest, Least
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from clone_server.errors import ApiError
from recording.models import Event, RecordingSession
from recording.validation import event_problems


class InvalidEvents(ApiError):
    default_code = "invalid_event"
    default_detail = "One or more events are invalid; nothing was stored."


class TooManyEvents(ApiError):
    status_code = 413
    default_code = "too_many_events"
    default_detail = "Too many events in one request."


@dataclass
class IngestResult:
    created: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)


_EVENT_FIELDS = (
    "user",
    "session",
    "event_id",
    "kind",
    "occurred_at",
    "source",
    "payload",
    "received_at",
)
_EVENT_COLUMNS = tuple(Event._meta.get_field(name).column for name in _EVENT_FIELDS)


def events_validate(*, events: list[Any]) -> list[dict[str, Any]]:
    """Every problem of every event, or raise ``InvalidEvents`` naming each item and JSON path."""
    problems = [
        p.as_dict() for index, ev in enumerate(events) for p in event_problems(ev, index=index)
    ]
    if problems:
        raise InvalidEvents(details=problems)
    return events


def _sessions_upsert(*, user: AbstractBaseUser, events: list[dict[str, Any]]) -> dict[str, int]:
    firsts: dict[str, datetime] = {}
    for event in events:
        sid, at = event["session_id"], event["_occurred_at"]
        if sid not in firsts or at < firsts[sid]:
            firsts[sid] = at
    RecordingSession.objects.bulk_create(
        [
            RecordingSession(
                user=user, external_id=sid, started_at=at, last_event_at=at, event_count=0
            )
            for sid, at in sorted(firsts.items())
        ],
        ignore_conflicts=True,
    )
    return dict(
        RecordingSession.objects.filter(user=user, external_id__in=firsts).values_list(
            "external_id", "id"
        )
    )


def _events_insert(rows: list[tuple]) -> set[str]:
    """One INSERT ... ON CONFLICT DO NOTHING RETURNING: the ids actually created, exactly,
    even when concurrent requests race on the same ids (the unique constraint decides)."""
    fields = [
        Event._meta.get_field(
            name.removesuffix("_id") if name in ("user_id", "session_id") else name
        )
        for name in _EVENT_COLUMNS
    ]
    params: list[Any] = []
    for row in rows:
        for model_field, value in zip(fields, row, strict=True):
            params.append(model_field.get_db_prep_save(value, connection))
    placeholder = "(" + ", ".join(["%s"] * len(_EVENT_COLUMNS)) + ")"
    table = connection.ops.quote_name(Event._meta.db_table)
    sql = (
        f"INSERT INTO {table} ({', '.join(_EVENT_COLUMNS)}) "
        f"VALUES {', '.join([placeholder] * len(rows))} "
        "ON CONFLICT (user_id, event_id) DO NOTHING RETURNING event_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}


@transaction.atomic
def event_ingest(*, user: AbstractBaseUser, events: list[Any]) -> IngestResult:
    """Validate every event, then store the new ones under ``user`` in one bulk insert.

    All-or-nothing: one invalid event rejects the request and nothing is stored. Idempotent on
    ``(user, id)``: an id already stored (or repeated within the request) is reported as a
    duplicate and changes nothing. Session counters count only the events actually created.
    """
    events_validate(events=events)
    result = IngestResult()
    if not events:
        return result

    unique: dict[str, dict[str, Any]] = {}
    repeated: list[str] = []
    for event in events:
        if event["id"] in unique:
            repeated.append(event["id"])
            continue
        unique[event["id"]] = {**event, "_occurred_at": parse_datetime(event["occurred_at"])}

    session_ids = _sessions_upsert(user=user, events=list(unique.values()))
    now = timezone.now()
    # Sorted so that concurrent requests take the unique-index locks in the same order.
    ordered = sorted(unique.values(), key=lambda e: e["id"])
    created = _events_insert(
        [
            (
                user.pk,
                session_ids[e["session_id"]],
                e["id"],
                e["kind"],
                e["_occurred_at"],
                e.get("source", ""),
                e["payload"],
                now,
            )
            for e in ordered
        ]
    )

    per_session: dict[str, list[datetime]] = defaultdict(list)
    for event_id in created:
        event = unique[event_id]
        per_session[event["session_id"]].append(event["_occurred_at"])
    for sid in sorted(per_session):
        times = per_session[sid]
        RecordingSession.objects.filter(pk=session_ids[sid]).update(
            event_count=F("event_count") + len(times),
            started_at=Least(F("started_at"), min(times)),
            last_event_at=Greatest(F("last_event_at"), max(times)),
        )

    for event_id in unique:
        (result.created if event_id in created else result.duplicates).append(event_id)
    result.duplicates.extend(repeated)
    return result
