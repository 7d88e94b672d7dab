"""Export everything Clone holds about a person, as one streamed JSON document.

What counts as the person's data is discovered, not listed (``clone_server.owned_rows``): a
table added later is exported under ``other`` without a change here. ``SECTIONS`` is the one
list of the tables Clone knows, where each goes in the document and what it never shows.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.db.models import F
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from clone_server.accounts.models import ApiKey
from clone_server.owned_rows import user_fields, user_owned_models, user_rows
from memories.models import EpisodicMemory, RawMemory, SemanticMemory, UserProfile
from predictions.models import Prediction
from recording.models import Event, RecordingSession

EXPORT_FORMAT = "clone-export/1"
# Rows fetched per round trip by the export's server-side cursors: memory stays bounded
# whatever the account's size.
CHUNK_SIZE = 2000
# Flush the export's output in pieces of about this many characters.
_FLUSH_CHARS = 64 * 1024

# User-owned tables left out of the export, and why.
NOT_EXPORTED: dict[str, str] = {
    # A staff member's admin log names the rows they edited, other people's included.
    "admin.LogEntry": "it describes other people's rows",
}


@dataclass(frozen=True)
class Section:
    """Where one known table goes in the export (``path``), and how its rows are read."""

    path: tuple[str, ...]
    model: type[models.Model]
    # Columns never exported: secrets (a hash is still a credential to attack offline) and
    # derived index data. The user id is the caller's own and is left out of every row.
    hidden: frozenset[str] = frozenset()
    extra: dict[str, Any] = field(default_factory=dict)
    # "rows" (an array), "one" (a single object or null) or "facts" (rows with their sources).
    shape: str = "rows"


SECTIONS: tuple[Section, ...] = (
    Section(("sessions",), RecordingSession),
    Section(("events",), Event, extra={"session_external_id": F("session__external_id")}),
    Section(("memory", "profile"), UserProfile, shape="one"),
    Section(("memory", "facts"), SemanticMemory, shape="facts"),
    Section(("memory", "episodes"), EpisodicMemory),
    Section(("memory", "raw"), RawMemory, hidden=frozenset({"search"})),
    Section(("predictions",), Prediction),
    Section(("api_keys",), ApiKey, hidden=frozenset({"hashed_key"})),
    Section(
        ("refresh_tokens",),
        OutstandingToken,
        hidden=frozenset({"token"}),
        extra={"blacklisted_at": F("blacklistedtoken__blacklisted_at")},
    ),
)


def _columns(model: type[models.Model], hidden: frozenset[str]) -> list[str]:
    user_columns = {field.attname for field in user_fields(model)}
    return [
        field.attname
        for field in model._meta.concrete_fields
        if field.name not in hidden and field.attname not in user_columns
    ]


def _rows(
    queryset: models.QuerySet,
    *,
    hidden: frozenset[str] = frozenset(),
    extra: dict[str, Any] | None = None,
) -> Iterator[dict]:
    model = queryset.model
    if extra:
        queryset = queryset.annotate(**extra)
    fields = [*_columns(model, hidden), *(extra or {})]
    yield from queryset.order_by("pk").values(*fields).iterator(chunk_size=CHUNK_SIZE)


def _with_sources(rows: Iterator[dict]) -> Iterator[dict]:
    """Facts with their source episode ids, reading the links once per chunk of facts."""
    through = SemanticMemory.source_episodes.through
    chunk: list[dict] = []

    def flush() -> Iterator[dict]:
        sources: dict[int, list[int]] = {row["id"]: [] for row in chunk}
        links = (
            through.objects.filter(semanticmemory_id__in=sources)
            .order_by("episodicmemory_id")
            .values_list("semanticmemory_id", "episodicmemory_id")
        )
        for fact_id, episode_id in links:
            sources[fact_id].append(episode_id)
        for row in chunk:
            yield {**row, "source_episode_ids": sources[row["id"]]}

    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK_SIZE:
            yield from flush()
            chunk = []
    if chunk:
        yield from flush()


def _section_value(section: Section, user: User) -> Any:
    rows = _rows(
        section.model._default_manager.filter(user=user),
        hidden=section.hidden,
        extra=section.extra,
    )
    if section.shape == "one":
        return lambda: next(rows, None)
    if section.shape == "facts":
        return _with_sources(rows)
    return rows


def _sections(user: User) -> dict[str, Any]:
    """The export's top-level keys in order; a value is a dict (nested keys), a callable giving
    one JSON value, or an iterable of rows (streamed as an array)."""
    document: dict[str, Any] = {}
    for section in SECTIONS:
        *parents, name = section.path
        place = document
        for parent in parents:
            place = place.setdefault(parent, {})
        place[name] = _section_value(section, user)
    covered = {section.model for section in SECTIONS}
    document["other"] = {
        model._meta.label: _rows(user_rows(user=user, model=model))
        for model in user_owned_models()
        if model not in covered and model._meta.label not in NOT_EXPORTED
    }
    return document


_encode = DjangoJSONEncoder(ensure_ascii=False).encode


def _object(items: Iterable[tuple[str, Any]]) -> Iterator[str]:
    yield "{"
    for index, (key, value) in enumerate(items):
        yield ("," if index else "") + _encode(key) + ":"
        if isinstance(value, dict):
            yield from _object(value.items())
        elif callable(value):
            yield _encode(value())
        elif isinstance(value, Iterable) and not isinstance(value, str):
            yield "["
            for n, row in enumerate(value):
                yield ("," if n else "") + _encode(row)
            yield "]"
        else:
            yield _encode(value)
    yield "}"


def _buffered(pieces: Iterator[str]) -> Iterator[bytes]:
    buffer: list[str] = []
    size = 0
    for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        if size >= _FLUSH_CHARS:
            yield "".join(buffer).encode()
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer).encode()


# The account's own fields in the export: never the password hash.
_ACCOUNT_FIELDS = ("first_name", "last_name", "email", "date_joined", "last_login")


def _account(user: User) -> dict[str, Any]:
    account = {"username": user.get_username()}
    for name in _ACCOUNT_FIELDS:
        if hasattr(user, name):
            account[name] = getattr(user, name)
    return account


def account_export(*, user: User) -> Iterator[bytes]:
    """Everything Clone holds about ``user``, as one UTF-8 JSON object produced piece by piece.

    Keys: ``format``, ``exported_at``, ``user`` (username, names, email, dates), ``sessions``,
    ``events`` (each with its session's external id), ``memory`` (``profile`` incl.
    calibration, ``facts`` with ``source_episode_ids``, ``episodes``, ``raw``), ``predictions``
    (every field), ``api_keys`` and ``refresh_tokens`` (metadata only: never a hash or a token),
    and ``other``: rows of any user-owned table added later, keyed by model label (but those
    in ``NOT_EXPORTED``).

    Memory is bounded: rows are read through server-side cursors ``CHUNK_SIZE`` at a time and
    written out in pieces of about ``_FLUSH_CHARS``, so the size of the account does not matter.
    On Postgres the whole export reads one REPEATABLE READ snapshot, so it is consistent even
    while the person keeps recording. Reads only. The generator holds a transaction open until
    it is exhausted or closed; iterate it to the end (a streaming response does).
    """
    # The isolation level can only be set as a transaction's first statement; inside an outer
    # transaction (a caller's, a test case's) that transaction's snapshot applies instead.
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql" and outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        header = {"format": EXPORT_FORMAT, "exported_at": timezone.now(), "user": _account(user)}
        yield from _buffered(_object({**header, **_sections(user)}.items()))
