"""Writes to the Recording layer."""

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Case, F, Value, When
from django.db.models.functions import Greatest, Least
from django.utils import timezone

from clone_server.errors import ApiError
from recording.models import Event, RecordingSession
from recording.signals import events_recorded
from recording.validation import event_problems, parse_occurred_at


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
# Concrete fields: each has one column and prepares its own values.
_CONCRETE_FIELDS = {f.name: f for f in Event._meta.concrete_fields}
_EVENT_MODEL_FIELDS = [_CONCRETE_FIELDS[name] for name in _EVENT_FIELDS]
_EVENT_COLUMNS = tuple(f.column for f in _EVENT_MODEL_FIELDS)


def events_validate(*, events: list[Any]) -> list[dict[str, Any]]:
    """Every problem of every event, or raise ``InvalidEvents`` naming each item and JSON path."""
    problems = [
        p.as_dict() for index, ev in enumerate(events) for p in event_problems(ev, index=index)
    ]
    if problems:
        raise InvalidEvents(details=problems)
    return events


def _sessions_upsert(*, user: User, events: list[dict[str, Any]]) -> dict[str, int]:
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
    # Lock the sessions now, in one global order, so two requests touching the same sessions
    # queue up instead of deadlocking on the counter update.
    return dict(
        RecordingSession.objects.filter(user=user, external_id__in=firsts)
        .order_by("pk")
        .select_for_update()
        .values_list("external_id", "id")
    )


def _sessions_count(*, counts: dict[int, list[datetime]]) -> None:
    """Add the created events to their sessions' counters and time bounds, in one UPDATE."""
    if not counts:
        return

    def per_session(values: dict[int, Any], output_field) -> Case:
        return Case(
            *[When(pk=pk, then=Value(value)) for pk, value in values.items()],
            output_field=output_field,
        )

    fields = RecordingSession._meta
    RecordingSession.objects.filter(pk__in=counts).update(
        event_count=F("event_count")
        + per_session({pk: len(t) for pk, t in counts.items()}, fields.get_field("event_count")),
        started_at=Least(
            F("started_at"),
            per_session({pk: min(t) for pk, t in counts.items()}, fields.get_field("started_at")),
        ),
        last_event_at=Greatest(
            F("last_event_at"),
            per_session(
                {pk: max(t) for pk, t in counts.items()}, fields.get_field("last_event_at")
            ),
        ),
    )


def _events_insert(rows: list[tuple]) -> dict[str, int]:
    """One INSERT ... ON CONFLICT DO NOTHING RETURNING: the producer ids actually created, each
    with its primary key, exactly, even when concurrent requests race on the same ids (the
    unique constraint decides).
    ``rows`` are in ``_EVENT_FIELDS`` order and share one user and one received_at."""
    if connection.vendor == "postgresql":
        return _events_insert_postgres(rows)
    return _events_insert_generic(rows)


def _events_insert_postgres(rows: list[tuple]) -> dict[str, int]:
    # The rows travel as one JSON document unpacked by json_to_recordset: three parameters and a
    # short statement whatever the batch size. One placeholder per value (8,000 for a batch)
    # made psycopg re-parse a huge statement and Django prepare each value, which together cost
    # more than the insert itself.
    user_id, received_at = rows[0][0], rows[0][7]
    document = json.dumps(
        [
            {"s": row[1], "e": row[2], "k": row[3], "o": row[4].isoformat(), "src": row[5]}
            | {"p": row[6]}
            for row in rows
        ]
    )
    # SQL built as a string: table quoted by Django; columns are constants; values are bound.
    sql = (
        f"INSERT INTO {connection.ops.quote_name(Event._meta.db_table)} "  # noqa: S608
        f"({', '.join(_EVENT_COLUMNS)}) "
        "SELECT %s, r.s, r.e, r.k, r.o, r.src, r.p, %s FROM json_to_recordset(%s::json) "
        "AS r(s bigint, e text, k text, o timestamptz, src text, p jsonb) "
        "ON CONFLICT (user_id, event_id) DO NOTHING RETURNING event_id, id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id, received_at, document])
        return dict(cursor.fetchall())


def _events_insert_generic(rows: list[tuple]) -> dict[str, int]:
    """The same statement with one placeholder per value, for SQLite (the zero-setup default)."""
    created: dict[str, int] = {}
    # SQLite allows 32,766 parameters per statement; 8 per row.
    for start in range(0, len(rows), 1000):
        chunk = rows[start : start + 1000]
        params: list[Any] = []
        for row in chunk:
            for model_field, value in zip(_EVENT_MODEL_FIELDS, row, strict=True):
                params.append(model_field.get_db_prep_save(value, connection))
        placeholder = "(" + ", ".join(["%s"] * len(_EVENT_COLUMNS)) + ")"
        table = connection.ops.quote_name(Event._meta.db_table)
        # SQL built as a string: table quoted by Django; columns are constants; values are bound.
        sql = (
            f"INSERT INTO {table} ({', '.join(_EVENT_COLUMNS)}) "  # noqa: S608
            f"VALUES {', '.join([placeholder] * len(chunk))} "
            "ON CONFLICT (user_id, event_id) DO NOTHING RETURNING event_id, id"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            created.update(cursor.fetchall())
    return created


def max_events_per_request() -> int:
    return settings.CLONE_MAX_EVENTS_PER_REQUEST


@transaction.atomic
def event_ingest(*, user: User, events: list[Any]) -> IngestResult:
    """Validate every event, then store the new ones under ``user`` in one bulk insert.

    At most ``CLONE_MAX_EVENTS_PER_REQUEST`` events (else ``TooManyEvents``). All-or-nothing:
    one invalid event rejects the request and nothing is stored. Idempotent on
    ``(user, id)``: an id already stored (or repeated within the request) is reported as a
    duplicate and changes nothing; concurrent requests with the same ids store each event once.
    Session counters count only the events actually created. The layers above hear of the
    created events (``recording.signals.events_recorded``) inside the same transaction. A
    constant number of queries, whatever the number of events or sessions.
    """
    limit = max_events_per_request()
    if len(events) > limit:
        raise TooManyEvents(f"At most {limit} events per request; got {len(events)}.")
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
        unique[event["id"]] = {**event, "_occurred_at": parse_occurred_at(event["occurred_at"])}

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

    counts: dict[int, list[datetime]] = defaultdict(list)
    stored: list[dict[str, Any]] = []
    for event_id, pk in created.items():
        event = unique[event_id]
        session_pk = session_ids[event["session_id"]]
        counts[session_pk].append(event["_occurred_at"])
        stored.append(
            {
                "id": pk,
                "session_id": session_pk,
                "event_id": event_id,
                "kind": event["kind"],
                "occurred_at": event["_occurred_at"],
                "payload": event["payload"],
            }
        )
    _sessions_count(counts=counts)
    if stored:
        stored.sort(key=lambda e: (e["occurred_at"], e["id"]))
        events_recorded.send(sender=Event, user=user, events=stored)

    for event_id in unique:
        (result.created if event_id in created else result.duplicates).append(event_id)
    result.duplicates.extend(repeated)
    return result


def events_import(*, user: User, events: list[Any]) -> IngestResult:
    """Any number of events, through ``event_ingest`` in transactions of at most
    ``CLONE_MAX_EVENTS_PER_REQUEST`` events each (a replayed or imported history). Each chunk is
    all-or-nothing; chunks stored before a failing one stay."""
    result = IngestResult()
    size = max_events_per_request()
    for start in range(0, len(events), size):
        chunk = event_ingest(user=user, events=events[start : start + size])
        result.created.extend(chunk.created)
        result.duplicates.extend(chunk.duplicates)
    return result
