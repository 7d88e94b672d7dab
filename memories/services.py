"""Writes to the Memory layer. Every service takes the user and touches only that user's rows."""

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import OuterRef, Q, Subquery, Value
from django.db.models.functions import Concat, Substr
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from clone_server.errors import ApiError
from memories import conf, person_settings
from memories.models import RawMemory, SemanticMemory, UserProfile
from memories.sentences import event_sentence
from recording.models import Event, EventKind

MAX_PROFILE_CHARS = 20_000
MAX_FACT_CHARS = 2_000
MAX_TAGS = 20
MAX_TAG_CHARS = 64


class InvalidFact(ApiError):
    default_code = "invalid_fact"
    default_detail = "The fact is invalid."


# --- Raw sync --------------------------------------------------------------------------------

_RAW_COLUMNS = (
    "user_id",
    "event_id",
    "session_id",
    "event_key",
    "kind",
    "text",
    "occurred_at",
    "agent",
    "prompt_text",
    "reply_text",
    "in_reply_to",
    "tool",
    "options",
    "created_at",
)


# Postgres array types of the columns, for the unnest() insert.
_RAW_ARRAY_TYPES = (
    "bigint[]",
    "bigint[]",
    "bigint[]",
    "text[]",
    "text[]",
    "text[]",
    "timestamptz[]",
    "text[]",
    "text[]",
    "text[]",
    "text[]",
    "jsonb[]",
    "jsonb[]",
    "timestamptz[]",
)


def _raw_insert(rows: list[tuple]) -> list[tuple[int, str, str]]:
    """One INSERT ... ON CONFLICT DO NOTHING RETURNING: exactly the rows created, even when two
    syncs of the same user race (the unique event link decides).

    On Postgres the rows travel as one array per column through ``unnest`` (one parameter per
    column instead of one per column and row: client-side parameter merging of a 2,000-row
    VALUES list cost more than the insert itself), and ``search`` is computed in the same
    statement.
    """
    table = connection.ops.quote_name(RawMemory._meta.db_table)
    columns = ", ".join(_RAW_COLUMNS)
    returning = "ON CONFLICT (event_id) DO NOTHING RETURNING id, kind, event_key"
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"%s::{kind}" for kind in _RAW_ARRAY_TYPES)
        # SQL built as a string: table quoted by Django; columns and casts are constants; values are bound.
        sql = (
            f"INSERT INTO {table} ({columns}, search) "  # noqa: S608
            f"SELECT u.*, to_tsvector('english'::regconfig, u.prompt_text) "
            f"FROM unnest({arrays}) AS u({columns}) {returning}"
        )
        params: list[Any] = [list(column) for column in zip(*rows, strict=True)]
    else:
        placeholder = "(" + ", ".join(["%s"] * len(_RAW_COLUMNS)) + ")"
        # SQL built as a string: table quoted by Django; columns and casts are constants; values are bound.
        sql = f"INSERT INTO {table} ({columns}) VALUES {', '.join([placeholder] * len(rows))} "  # noqa: S608
        sql += returning
        params = [value for row in rows for value in row]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _prompt_agents(*, user: User, keys: set[str]) -> dict[str, str]:
    if not keys:
        return {}
    return dict(
        Event.objects.filter(user=user, kind=EventKind.AGENT_PROMPT, event_id__in=keys)
        .values_list("event_id", "payload__agent")
        .order_by()
    )


def _replies_link(*, user: User, prompt_ids: list[int], answered_keys: set[str]) -> None:
    """Fill ``reply_text`` on prompts whose reply is known: the prompts just created, and the
    prompts the replies just created answer (whichever of the two arrived first)."""
    if not prompt_ids and not answered_keys:
        return
    latest_reply = (
        RawMemory.objects.filter(
            user=OuterRef("user"), kind=EventKind.USER_REPLY, in_reply_to=OuterRef("event_key")
        )
        .order_by("-occurred_at", "-id")
        .values("reply_text")[:1]
    )
    RawMemory.objects.filter(user=user, kind=EventKind.AGENT_PROMPT).filter(
        Q(id__in=prompt_ids) | Q(event_key__in=answered_keys)
    ).update(reply_text=Subquery(latest_reply))
    if prompt_ids:
        # Replies synced before their prompt read 'Replied: "..."'; now the agent is known.
        agent = Subquery(
            RawMemory.objects.filter(
                user=OuterRef("user"),
                kind=EventKind.AGENT_PROMPT,
                event_key=OuterRef("in_reply_to"),
            ).values("agent")[:1]
        )
        RawMemory.objects.filter(
            user=user,
            kind=EventKind.USER_REPLY,
            agent="",
            in_reply_to__in=RawMemory.objects.filter(id__in=prompt_ids).values("event_key"),
        ).update(
            agent=agent,
            text=Concat(Value("Replied to "), agent, Substr("text", len("Replied") + 1)),
        )


def _request_structure(*, kind: str, payload: dict[str, Any]) -> tuple[str | None, str | None]:
    """An agent prompt's ``tool`` and ``options`` as JSON texts for the insert; None when the
    event carries none (or not as an object and a list)."""
    if kind != EventKind.AGENT_PROMPT:
        return None, None
    tool, options = payload.get("tool"), payload.get("options")
    return (
        json.dumps(tool) if isinstance(tool, dict) else None,
        json.dumps(options) if isinstance(options, list) else None,
    )


@transaction.atomic
def _sync_chunk(*, user: User, events: Sequence[Mapping[str, Any]]) -> int:
    reply_to = {
        str(e["payload"].get("in_reply_to") or "")
        for e in events
        if e["kind"] == EventKind.USER_REPLY
    }
    agents = _prompt_agents(user=user, keys=reply_to - {""})
    now = timezone.now()
    rows = []
    for e in events:
        payload = e["payload"] if isinstance(e["payload"], dict) else {}
        agent = agents.get(str(payload.get("in_reply_to") or ""))
        norm = event_sentence(kind=e["kind"], payload=payload, prompt_agent=agent)
        tool, options = _request_structure(kind=e["kind"], payload=payload)
        rows.append(
            (
                user.pk,
                e["id"],
                e["session_id"],
                e["event_id"],
                e["kind"],
                norm.text,
                e["occurred_at"],
                norm.agent,
                norm.prompt_text,
                norm.reply_text,
                norm.in_reply_to,
                tool,
                options,
                now,
            )
        )
    created = _raw_insert(rows)
    prompt_ids = [pk for pk, kind, _ in created if kind == EventKind.AGENT_PROMPT]
    created_keys = {key for _, kind, key in created if kind == EventKind.USER_REPLY}
    answered = {
        str(e["payload"].get("in_reply_to") or "")
        for e in events
        if e["kind"] == EventKind.USER_REPLY and e["event_id"] in created_keys
    } - {""}
    _replies_link(user=user, prompt_ids=prompt_ids, answered_keys=answered)
    return len(created)


_SYNC_FIELDS = ("id", "session_id", "event_id", "kind", "occurred_at", "payload")


def raw_rows_create(*, user: User, events: Sequence[Mapping[str, Any]]) -> int:
    """The RawMemory rows of events just stored (mappings of ``_SYNC_FIELDS``, in time order),
    in the caller's transaction: an ingested event is in memory, and in the relevance search,
    when the ingest returns. An event that already has a row keeps it."""
    created = 0
    size = conf.sync_chunk_size()
    for start in range(0, len(events), size):
        created += _sync_chunk(user=user, events=events[start : start + size])
    return created


def raw_sync(*, user: User) -> int:
    """Create the RawMemory rows for the user's events that have none; return how many.

    Ingest creates the rows of new events itself (``raw_rows_create``); this fills in events
    stored without one (before an upgrade). Idempotent and incremental: a second call creates
    nothing, and concurrent calls never create a row twice (the unique event link decides). Events are read in chunks of
    ``CLONE_MEMORY_SYNC_CHUNK`` in time order, each chunk committed on its own, so a large
    backlog never loads at once and an interrupted sync resumes where it stopped. Replies are
    linked to their prompts whichever of the two is synced first.
    """
    created = 0
    size = conf.sync_chunk_size()
    cursor: tuple[datetime, int] | None = None
    while True:
        pending = Event.objects.filter(user=user, raw_memory__isnull=True)
        if cursor is not None:
            pending = pending.filter(
                Q(occurred_at__gt=cursor[0]) | Q(occurred_at=cursor[0], id__gt=cursor[1])
            )
        events = list(pending.order_by("occurred_at", "id").values(*_SYNC_FIELDS)[:size])
        if not events:
            return created
        created += _sync_chunk(user=user, events=events)
        cursor = (events[-1]["occurred_at"], events[-1]["id"])


# --- Profile ---------------------------------------------------------------------------------


def _profile_locked(*, user: User) -> UserProfile:
    UserProfile.objects.get_or_create(user=user)
    return UserProfile.objects.select_for_update().get(user=user)


@transaction.atomic
def profile_update(*, user: User, body: str) -> UserProfile:
    """Replace the profile body (creating the profile if needed) and stamp ``updated_at``."""
    if not isinstance(body, str) or len(body) > MAX_PROFILE_CHARS:
        raise ApiError(
            f"The profile body must be text of at most {MAX_PROFILE_CHARS} characters.",
            code="invalid_profile",
        )
    profile = _profile_locked(user=user)
    profile.body = body
    profile.updated_at = timezone.now()
    profile.save(update_fields=["body", "updated_at"])
    return profile


@transaction.atomic
def profile_calibration_set(*, user: User, calibration: dict) -> None:
    """Store the fitted calibration (a JSON object) on the user's profile, creating it if needed.
    The body is left untouched."""
    if not isinstance(calibration, dict):
        raise TypeError("calibration must be a dict")
    profile = _profile_locked(user=user)
    profile.calibration = calibration
    profile.calibration_updated_at = timezone.now()
    profile.save(update_fields=["calibration", "calibration_updated_at"])


_UNSET: Any = object()


@transaction.atomic
def profile_patch(*, user: User, body: str = _UNSET, **settings: Any) -> UserProfile:
    """Change the body and/or settings given (one transaction); the others stay."""
    if body is not _UNSET:
        profile_update(user=user, body=body)
    return profile_settings_update(user=user, **settings)


@transaction.atomic
def profile_settings_update(
    *,
    user: User,
    never_auto: list[str] | None = _UNSET,
    audit_rate: float | None = _UNSET,
    min_labels_for_auto: int | None = _UNSET,
    agent_thresholds: dict[str, float] = _UNSET,
    headless_answering: bool = _UNSET,
) -> UserProfile:
    """Change the given settings (the others stay); ``None`` for ``never_auto``,
    ``audit_rate`` or ``min_labels_for_auto`` returns to the server's default. Validated here, whatever the caller:
    a bad value is an ``invalid_request`` and nothing changes."""
    problems: dict[str, list[str]] = {}
    if never_auto is not _UNSET and (found := person_settings.never_auto_problems(never_auto)):
        problems["never_auto"] = found
    if audit_rate is not _UNSET and audit_rate is not None:
        if isinstance(audit_rate, bool) or not isinstance(audit_rate, int | float):
            problems["audit_rate"] = ["Must be a number in [0, 1], or null for the default."]
        elif not 0.0 <= audit_rate <= 1.0:
            problems["audit_rate"] = ["Must be in [0, 1]."]
    if min_labels_for_auto is not _UNSET and (
        found := person_settings.min_labels_problems(min_labels_for_auto)
    ):
        problems["min_labels_for_auto"] = found
    if agent_thresholds is not _UNSET and (
        found := person_settings.agent_thresholds_problems(agent_thresholds)
    ):
        problems["agent_thresholds"] = found
    if headless_answering is not _UNSET and not isinstance(headless_answering, bool):
        problems["headless_answering"] = ["Must be true or false."]
    if problems:
        raise ValidationError(problems)
    profile = _profile_locked(user=user)
    changed = []
    if never_auto is not _UNSET:
        profile.never_auto = None if never_auto is None else [p.strip() for p in never_auto]
        changed.append("never_auto")
    if audit_rate is not _UNSET:
        profile.audit_rate = None if audit_rate is None else float(audit_rate)
        changed.append("audit_rate")
    if min_labels_for_auto is not _UNSET:
        profile.min_labels_for_auto = min_labels_for_auto
        changed.append("min_labels_for_auto")
    if agent_thresholds is not _UNSET:
        profile.agent_thresholds = {k: float(v) for k, v in agent_thresholds.items()}
        changed.append("agent_thresholds")
    if headless_answering is not _UNSET:
        profile.headless_answering = headless_answering
        changed.append("headless_answering")
    if changed:
        profile.save(update_fields=changed)
    return profile


# --- Facts -----------------------------------------------------------------------------------


def clean_tags(tags: Iterable[Any]) -> list[str]:
    """Trimmed, de-duplicated (order kept), bounded tags."""
    seen: dict[str, None] = {}
    for tag in tags:
        value = str(tag).strip()[:MAX_TAG_CHARS]
        if value:
            seen.setdefault(value, None)
    return list(seen)[:MAX_TAGS]


# A fact's kind: one lower-case word, such as preference, habit, rule.
KIND_PATTERN = r"^[a-z][a-z0-9_-]{0,31}$"
KIND_RE = re.compile(KIND_PATTERN)


def _fact_check(*, text: str | None, importance: float | None, kind: str | None = None) -> None:
    if kind is not None and not KIND_RE.match(kind):
        raise InvalidFact("A fact's kind is a lower-case word of at most 32 characters.")
    if text is not None and (not text.strip() or len(text) > MAX_FACT_CHARS):
        raise InvalidFact(f"A fact's text must be 1 to {MAX_FACT_CHARS} characters.")
    if importance is not None and not 0.0 <= importance <= 1.0:
        raise InvalidFact("A fact's importance must be between 0 and 1.")


@transaction.atomic
def fact_create(
    *,
    user: User,
    text: str,
    kind: str = "stated",
    importance: float = 0.5,
    tags: Iterable[str] = (),
) -> SemanticMemory:
    """A fact the person states about themself (no source episode)."""
    _fact_check(text=text, importance=importance, kind=kind)
    return SemanticMemory.objects.create(
        user=user,
        kind=kind,
        text=text.strip(),
        importance=float(importance),
        tags=clean_tags(tags),
    )


@transaction.atomic
def fact_update(
    *,
    user: User,
    fact_id: int,
    text: str | None = None,
    kind: str | None = None,
    importance: float | None = None,
    tags: Iterable[str] | None = None,
) -> SemanticMemory:
    """The person corrects a fact. Only given fields change; a changed text keeps the old one
    in ``revisions``. Another user's fact is a 404."""
    _fact_check(text=text, importance=importance, kind=kind)
    fact = get_object_or_404(SemanticMemory.objects.select_for_update(), user=user, id=fact_id)
    if text is not None and text.strip() != fact.text:
        fact.revisions = [
            *fact.revisions,
            {"text": fact.text, "at": timezone.now().isoformat(), "by": "user"},
        ]
        fact.text = text.strip()
    if kind is not None:
        fact.kind = kind
    if importance is not None:
        fact.importance = float(importance)
    if tags is not None:
        fact.tags = clean_tags(tags)
    fact.save()
    return fact


@transaction.atomic
def fact_delete(*, user: User, fact_id: int) -> None:
    """The person deletes a fact: it is gone from every later bundle. Another user's: 404."""
    deleted, _ = SemanticMemory.objects.filter(user=user, id=fact_id).delete()
    if not deleted:
        raise Http404
