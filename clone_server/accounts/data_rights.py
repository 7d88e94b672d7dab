"""Data rights: export everything Clone holds about a person, and delete it.

What counts as the person's data is discovered, not listed: every model with a foreign key to
the user model (``user_owned_models``). A table added later is exported (under ``other``) and
deleted without a change here; only the credentials and audit rows in ``KEPT`` survive a delete.
"""

from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.db.models import F
from django.db.models.deletion import get_candidate_relations_to_delete
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from clone_server.accounts.models import ApiKey
from memories.models import EpisodicMemory, RawMemory, SemanticMemory, UserProfile
from predictions.models import Prediction
from recording.models import Event, RecordingSession

EXPORT_FORMAT = "clone-export/1"
# Rows fetched per round trip by the export's server-side cursors, and rows deleted per batch
# when a table has delete signals (so rows must be loaded): memory stays bounded whatever the
# account's size.
CHUNK_SIZE = 2000
# Flush the export's output in pieces of about this many characters.
_FLUSH_CHARS = 64 * 1024

# Columns never exported: secrets (a hash is still a credential to attack offline) and derived
# index data. The user id is the caller's own and is left out of every row.
_NEVER_EXPORTED = {
    ApiKey: {"hashed_key"},
    OutstandingToken: {"token"},
    RawMemory: {"search"},
}

# User-owned tables left out of the export, and why.
NOT_EXPORTED: dict[str, str] = {
    # A staff member's admin log names the rows they edited, other people's included.
    "admin.LogEntry": "it describes other people's rows",
}

# Rows with a user foreign key that a data delete keeps, and why (labels, as in the response).
KEPT: dict[str, str] = {
    "auth.User_groups": "part of the account, which is kept",
    "auth.User_user_permissions": "part of the account, which is kept",
    "admin.LogEntry": "the audit trail of a staff member's own admin actions",
    # Deleting these would forget which refresh tokens were revoked and make them valid again.
    "token_blacklist.OutstandingToken": "which refresh tokens exist and which are revoked",
}
KEYS_LABEL = ApiKey._meta.label

# Deletion order for the known tables: rows that others point at go last, so the cascades find
# nothing left to do. Tables discovered later follow, their cascades handled all the same.
_DELETE_ORDER: tuple[type[models.Model], ...] = (
    Prediction,
    RawMemory,
    SemanticMemory,
    EpisodicMemory,
    UserProfile,
    Event,
    RecordingSession,
    ApiKey,
)


def _user_fields(model: type[models.Model]) -> list[models.Field]:
    user_model = get_user_model()
    return [
        field
        for field in model._meta.concrete_fields
        if field.is_relation and field.related_model is user_model
    ]


def user_owned_models() -> list[type[models.Model]]:
    """Every installed model (auto-created M2M tables included) with a foreign key or one-to-one
    link to the user model, in app registry order. The user model itself is not included."""
    return [
        model
        for model in apps.get_models(include_auto_created=True)
        if model is not get_user_model() and _user_fields(model)
    ]


def user_rows(*, user: AbstractBaseUser, model: type[models.Model]) -> models.QuerySet:
    """The rows of ``model`` that belong to ``user`` (through any user link it has)."""
    condition = models.Q()
    for field in _user_fields(model):
        condition |= models.Q(**{field.name: user})
    return model._default_manager.filter(condition)


# --- Export ------------------------------------------------------------------------------------


def _columns(model: type[models.Model]) -> list[str]:
    hidden = _NEVER_EXPORTED.get(model, set())
    user_columns = {field.attname for field in _user_fields(model)}
    return [
        field.attname
        for field in model._meta.concrete_fields
        if field.name not in hidden and field.attname not in user_columns
    ]


def _rows(queryset: models.QuerySet, *, extra: dict[str, Any] | None = None) -> Iterator[dict]:
    model = queryset.model
    if extra:
        queryset = queryset.annotate(**extra)
    fields = [*_columns(model), *(extra or {})]
    yield from queryset.order_by("pk").values(*fields).iterator(chunk_size=CHUNK_SIZE)


def _facts(user: AbstractBaseUser) -> Iterator[dict]:
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

    for row in _rows(SemanticMemory.objects.filter(user=user)):
        chunk.append(row)
        if len(chunk) >= CHUNK_SIZE:
            yield from flush()
            chunk = []
    if chunk:
        yield from flush()


def _profile(user: AbstractBaseUser) -> dict | None:
    return next(_rows(UserProfile.objects.filter(user=user)), None)


def _sections(user: AbstractBaseUser) -> list[tuple[str, Any]]:
    """The export's top-level keys in order; a value is a dict (nested keys), a callable giving
    one JSON value, or an iterable of rows (streamed as an array)."""
    covered = {
        Event,
        RecordingSession,
        UserProfile,
        SemanticMemory,
        EpisodicMemory,
        RawMemory,
        Prediction,
        ApiKey,
        OutstandingToken,
    }
    other = {
        model._meta.label: _rows(user_rows(user=user, model=model))
        for model in user_owned_models()
        if model not in covered and model._meta.label not in NOT_EXPORTED
    }
    return [
        ("sessions", _rows(RecordingSession.objects.filter(user=user))),
        (
            "events",
            _rows(
                Event.objects.filter(user=user),
                extra={"session_external_id": F("session__external_id")},
            ),
        ),
        (
            "memory",
            {
                "profile": lambda: _profile(user),
                "facts": _facts(user),
                "episodes": _rows(EpisodicMemory.objects.filter(user=user)),
                "raw": _rows(RawMemory.objects.filter(user=user)),
            },
        ),
        ("predictions", _rows(Prediction.objects.filter(user=user))),
        ("api_keys", _rows(ApiKey.objects.filter(user=user))),
        (
            "refresh_tokens",
            _rows(
                OutstandingToken.objects.filter(user=user),
                extra={"blacklisted_at": F("blacklistedtoken__blacklisted_at")},
            ),
        ),
        ("other", other),
    ]


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


def _account(user: AbstractBaseUser) -> dict[str, Any]:
    account = {"username": user.get_username()}
    for name in _ACCOUNT_FIELDS:
        if hasattr(user, name):
            account[name] = getattr(user, name)
    return account


def account_export(*, user: AbstractBaseUser) -> Iterator[bytes]:
    """Everything Clone holds about ``user``, as one UTF-8 JSON object produced piece by piece.

    Keys: ``format``, ``exported_at``, ``user`` (username, names, email, dates), ``sessions``,
    ``events`` (each with its session's external id), ``memory`` (``profile`` incl.
    calibration, ``facts`` with ``source_episode_ids``, ``episodes``, ``raw``), ``predictions``
    (every field), ``api_keys`` and ``refresh_tokens`` (metadata only: never a hash or a token),
    and ``other``: rows of any user-owned table added later, keyed by model label (but those
    in ``NOT_EXPORTED``).

    Memory is bounded: rows are read through server-side cursors ``CHUNK_SIZE`` at a time and
    written out in ~64 KB pieces, so the size of the account does not matter. On Postgres the
    whole export reads one REPEATABLE READ snapshot, so it is consistent even while the person
    keeps recording. Reads only. The generator holds a transaction open until it is exhausted or
    closed; iterate it to the end (a streaming response does).
    """
    # The isolation level can only be set as a transaction's first statement; inside an outer
    # transaction (a caller's, a test case's) that transaction's snapshot applies instead.
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql" and outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        header = [
            ("format", EXPORT_FORMAT),
            ("exported_at", timezone.now()),
            ("user", _account(user)),
        ]
        yield from _buffered(_object([*header, *_sections(user)]))


# --- Delete ------------------------------------------------------------------------------------


_SET_BASED = (models.CASCADE, models.SET_NULL, models.DO_NOTHING)


def _has_signals(model: type[models.Model]) -> bool:
    return any(
        signal.has_listeners(model)
        for signal in (models.signals.pre_delete, models.signals.post_delete)
    )


def _set_based(model: type[models.Model], seen: frozenset = frozenset()) -> bool:
    """Whether rows of ``model`` and everything they cascade to can go in plain statements:
    no delete signals and only CASCADE, SET_NULL or DO_NOTHING links (Clone's tables today)."""
    if _has_signals(model):
        return False
    if model in seen:
        return False  # a cycle of cascades: the collector knows how to order those
    for relation in get_candidate_relations_to_delete(model._meta):
        on_delete = relation.field.remote_field.on_delete
        if on_delete not in _SET_BASED:
            return False
        if on_delete is models.CASCADE and not _set_based(relation.related_model, seen | {model}):
            return False
    return True


def _delete_set(queryset: models.QuerySet, counts: Counter) -> None:
    """Delete ``queryset`` as Django's collector would (cascades first, SET_NULL links
    cleared) but with one statement per table and link, whatever the number of rows."""
    for relation in get_candidate_relations_to_delete(queryset.model._meta):
        link = relation.field
        linked = relation.related_model._base_manager.filter(
            **{f"{link.attname}__in": queryset.values(link.target_field.attname)}
        )
        if link.remote_field.on_delete is models.CASCADE:
            _delete_set(linked, counts)
        elif link.remote_field.on_delete is models.SET_NULL:
            linked.update(**{link.name: None})
    # The rows' dependents are gone: a plain DELETE is what the collector would end with.
    counts[queryset.model._meta.label] += queryset._raw_delete(queryset.db)


def _delete_batched(queryset: models.QuerySet, counts: Counter) -> None:
    """Django's collector (signals sent, every on_delete honoured), ``CHUNK_SIZE`` rows at a
    time so memory stays bounded."""
    model = queryset.model
    while ids := list(queryset.order_by("pk").values_list("pk", flat=True)[:CHUNK_SIZE]):
        _, per_model = model._default_manager.filter(pk__in=ids).delete()
        counts.update(per_model)


def _delete_all(queryset: models.QuerySet) -> Counter:
    """Delete every row of ``queryset`` with Django's delete semantics. Returns the rows
    deleted per model label, cascades included. Set-based (a few statements per table, no row
    loaded) when the tables allow it, else in bounded batches through the collector."""
    counts: Counter = Counter()
    if _set_based(queryset.model):
        _delete_set(queryset, counts)
    else:
        _delete_batched(queryset, counts)
    return counts


@transaction.atomic
def account_data_delete(*, user: AbstractBaseUser, include_keys: bool = False) -> dict[str, Any]:
    """Hard-delete everything Clone holds about ``user``, in one transaction.

    Every row of every user-owned table goes (events, sessions, raw rows, episodes, facts and
    their provenance links, the profile with its calibration, predictions), plus whatever
    those rows own through cascades. The account itself stays, and so do the rows in ``KEPT``
    (credentials and audit), so the caller can keep using Clone; API keys are deleted too when
    ``include_keys`` is true. Returns ``{"deleted": {label: rows}, "kept": [labels]}``, every
    user-owned table listed in one or the other (zero counts included).

    A few statements per table whatever the account's size (no row is loaded; 200,000 rows
    took 17 statements and about 6 s on Postgres). A request still running while this commits
    (an ingest in flight) may store its rows after it; deleting again removes them.
    """
    kept = set(KEPT) if include_keys else {*KEPT, KEYS_LABEL}
    owned = user_owned_models()
    ordered = [m for m in _DELETE_ORDER if m in owned]
    ordered += [m for m in owned if m not in ordered]
    counts: Counter = Counter()
    for model in ordered:
        if model._meta.label in kept:
            continue
        counts.update(_delete_all(user_rows(user=user, model=model)))
    deleted = {m._meta.label: 0 for m in owned if m._meta.label not in kept}
    deleted.update(counts)
    owned_labels = {m._meta.label for m in owned}
    return {
        "deleted": dict(sorted(deleted.items())),
        "kept": sorted(kept & owned_labels),
    }
