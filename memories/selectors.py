"""Reads from the Memory layer. Every selector takes the user and filters on it."""

import json
from functools import cache
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from memories import conf
from memories.models import (
    EpisodicMemory,
    MemoryUpkeep,
    RawMemory,
    SemanticMemory,
    UserProfile,
)
from memories.person_settings import PersonSettings, settings_of
from memories.relevance import relevant_search

FACT_ORDER = ("-importance", "-updated_at", "-id")


def profile_get(*, user: User) -> UserProfile:
    """The user's profile, created empty on first use."""
    profile, _ = UserProfile.objects.get_or_create(user=user)
    return profile


def person_settings_get(*, user: User) -> PersonSettings:
    """The person's effective settings for answering alone (defaults filled in); one query."""
    return settings_of(profile_get(user=user))


def fact_list(*, user: User) -> QuerySet[SemanticMemory]:
    """The user's facts, most important first (zero importance last), then most recently
    updated. Source episode ids are prefetched (one extra query per page)."""
    return (
        SemanticMemory.objects.filter(user=user)
        .order_by(*FACT_ORDER)
        .prefetch_related("source_episodes")
    )


def memory_counts(*, user: User) -> dict[str, int]:
    """How many facts and episodes the user's memory holds (two counts, no rows read)."""
    return {
        "facts": SemanticMemory.objects.filter(user=user).count(),
        "episodes": EpisodicMemory.objects.filter(user=user).count(),
    }


def fact_get(*, user: User, fact_id: int) -> SemanticMemory:
    """One of the user's facts; 404 when it is not theirs."""
    return get_object_or_404(fact_list(user=user), id=fact_id)


def episode_list(*, user: User) -> QuerySet[EpisodicMemory]:
    """The user's episodes, most recent first."""
    return (
        EpisodicMemory.objects.filter(user=user)
        .select_related("session")
        .order_by("-ended_at", "-id")
    )


def raw_list(*, user: User, kind: str | None = None) -> QuerySet[RawMemory]:
    """The user's raw rows, most recent first, optionally of one kind."""
    rows = RawMemory.objects.filter(user=user)
    if kind:
        rows = rows.filter(kind=kind)
    return rows.order_by("-occurred_at", "-id")


def relevant_replies(
    *, user: User, agent_inputs: list[str], limit: int | None = None
) -> list[list[dict]]:
    """For each agent input, up to ``limit`` earlier agent prompts of this user that have a
    reply, most similar first (ties: most recent). One list per input, in input order.

    One database query whatever ``len(agent_inputs)`` is (a LATERAL join over the inputs on
    Postgres); none when every input is blank. Each item is ``{"prompt_event_id", "agent",
    "prompt", "reply", "occurred_at", "score"}``. ``limit`` None: ``CLONE_MEMORY_BUNDLE_RELEVANT``.
    """
    if limit is None:
        limit = conf.bundle_limits()["relevant_limit"]
    return relevant_search(user=user, inputs=list(agent_inputs), limit=limit)


def answered_prompts_recent(*, user: User, limit: int) -> list[dict[str, Any]]:
    """The user's ``limit`` most recently synced agent prompts that have a reply, newest first:
    ``{"prompt_event_id", "agent", "prompt", "reply", "occurred_at", "tool", "options"}`` with
    ``tool`` and ``options`` as the prompt's event carried them (None when absent).

    One query, whose plan needs no statistics: a backward walk of the partial index of answered
    prompts that stops at ``limit``."""
    if limit <= 0:
        return []
    read = _answered_postgres if connection.vendor == "postgresql" else _answered_orm
    return [
        {
            "prompt_event_id": key,
            "agent": agent,
            "prompt": prompt or "",
            "reply": reply,
            "occurred_at": occurred_at,
            "tool": tool if isinstance(tool, dict) else None,
            "options": options if isinstance(options, list) else None,
        }
        for key, agent, prompt, reply, occurred_at, tool, options in read(user=user, limit=limit)
    ]


# The answered prompts walk the partial index ``raw_user_answered`` backwards from the newest and
# stop at the limit; the request's structure is on the raw row, so no event is read. Postgres
# builds the whole answer as one JSON text: one parse in Python instead of two per row. Times
# are written as Python's ``isoformat()`` writes them in UTC.
_ANSWERED_SQL = """
    WITH answered AS MATERIALIZED (
        SELECT r.id, r.event_key, r.agent, r.prompt_text, r.reply_text, r.occurred_at,
               r.tool, r.options
        FROM {raw} r
        WHERE r.user_id = %(user)s AND r.kind = 'agent_prompt' AND r.reply_text IS NOT NULL
        ORDER BY r.id DESC
        LIMIT %(limit)s
    )
    SELECT CAST(COALESCE(json_agg(json_build_array(
        a.event_key, a.agent, a.prompt_text, a.reply_text,
        to_char(a.occurred_at AT TIME ZONE 'UTC', CASE
            WHEN date_part('microseconds', a.occurred_at)::bigint %% 1000000 = 0
            THEN 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'
            ELSE 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"' END),
        a.tool, a.options
    ) ORDER BY a.id DESC), '[]') AS text)
    FROM answered a
"""


@cache
def _answered_sql() -> str:
    """``_ANSWERED_SQL`` with the table's quoted name, built once per process."""
    return _ANSWERED_SQL.format(raw=connection.ops.quote_name(RawMemory._meta.db_table))


def _answered_postgres(*, user: User, limit: int) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(_answered_sql(), {"user": user.pk, "limit": limit})
        (found,) = cursor.fetchone()
    return [tuple(row) for row in json.loads(found)]


def _answered_orm(*, user: User, limit: int) -> list[tuple[Any, ...]]:
    """The same rows as ``_answered_postgres`` on any database (the SQLite first-run default)."""
    rows = (
        RawMemory.objects.filter(user=user, kind="agent_prompt", reply_text__isnull=False)
        .order_by("-id")
        .values_list(
            "event_key", "agent", "prompt_text", "reply_text", "occurred_at", "tool", "options"
        )[:limit]
    )
    return [
        (key, agent, prompt, reply, _iso(occurred_at), tool, options)
        for key, agent, prompt, reply, occurred_at, tool, options in rows
    ]


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _profile_json(body: str, updated_at, calibration: dict) -> dict[str, Any]:
    # The calibration is read here so a prediction needs no second profile query.
    return {"body": body, "updated_at": _iso(updated_at), "calibration": calibration}


def _fact_json(id_, kind, text, importance, tags) -> dict[str, Any]:
    return {"id": id_, "kind": kind, "text": text, "importance": importance, "tags": tags}


def _episode_json(id_, title, summary, started_at, ended_at) -> dict[str, Any]:
    return {
        "id": id_,
        "title": title,
        "summary": summary,
        "started_at": _iso(started_at),
        "ended_at": _iso(ended_at),
    }


def _raw_json(id_, kind, text, occurred_at) -> dict[str, Any]:
    return {"id": id_, "kind": kind, "text": text, "occurred_at": _iso(occurred_at)}


# The four tiers in one statement, each branch an index scan in its tier's order: one round
# trip and no ORM compilation, which cost more than the database's own work (bench/bundle.py).
_TIERS_SQL = """
    SELECT tier, id, a, b, x, j, t1, t2 FROM (
        SELECT 0 AS tier, 1 AS pos, CAST(NULL AS bigint) AS id, p.body AS a,
               CAST(NULL AS text) AS b, CAST(NULL AS double precision) AS x, p.calibration AS j,
               p.updated_at AS t1, CAST(NULL AS timestamptz) AS t2
        FROM {profile} p WHERE p.user_id = %(user)s
        UNION ALL
        (SELECT 1, row_number() OVER w, s.id, s.kind, s.text, s.importance, s.tags, NULL, NULL
         FROM {fact} s WHERE s.user_id = %(user)s
         WINDOW w AS (ORDER BY s.importance DESC, s.updated_at DESC, s.id DESC)
         ORDER BY s.importance DESC, s.updated_at DESC, s.id DESC LIMIT %(facts)s)
        UNION ALL
        (SELECT 2, row_number() OVER w, e.id, e.title, e.summary, NULL, NULL,
                e.started_at, e.ended_at
         FROM {episode} e WHERE e.user_id = %(user)s
         WINDOW w AS (ORDER BY e.ended_at DESC, e.id DESC)
         ORDER BY e.ended_at DESC, e.id DESC LIMIT %(episodes)s)
        UNION ALL
        (SELECT 3, row_number() OVER w, r.id, r.kind, r.text, NULL, NULL, r.occurred_at, NULL
         FROM {raw} r WHERE r.user_id = %(user)s
         WINDOW w AS (ORDER BY r.occurred_at DESC, r.id DESC)
         ORDER BY r.occurred_at DESC, r.id DESC LIMIT %(raw)s)
    ) tiers
    ORDER BY tier, pos
"""


@cache
def _tiers_sql() -> str:
    """``_TIERS_SQL`` with the tables' quoted names, built once per process."""
    return _TIERS_SQL.format(
        **{
            name: connection.ops.quote_name(model._meta.db_table)
            for name, model in (
                ("profile", UserProfile),
                ("fact", SemanticMemory),
                ("episode", EpisodicMemory),
                ("raw", RawMemory),
            )
        }
    )


def _tiers_postgres(*, user, facts: int, episodes: int, raw: int) -> dict[str, Any]:
    tiers: dict[str, Any] = {
        "profile": _profile_json("", None, {}),
        "facts": [],
        "episodes": [],
        "raw": [],
    }
    with connection.cursor() as cursor:
        cursor.execute(
            _tiers_sql(), {"user": user.pk, "facts": facts, "episodes": episodes, "raw": raw}
        )
        for tier, id_, a, b, x, j, t1, t2 in cursor.fetchall():
            if tier == 0:
                tiers["profile"] = _profile_json(a, t1, json.loads(j))
            elif tier == 1:
                tiers["facts"].append(_fact_json(id_, a, b, x, json.loads(j)))
            elif tier == 2:
                tiers["episodes"].append(_episode_json(id_, a, b, t1, t2))
            else:
                tiers["raw"].append(_raw_json(id_, a, b, t1))
    return tiers


def _tiers_orm(*, user, facts: int, episodes: int, raw: int) -> dict[str, Any]:
    """The same as ``_tiers_postgres`` on any database (the SQLite first-run default)."""
    profile = (
        UserProfile.objects.filter(user=user)
        .values_list("body", "updated_at", "calibration")
        .first()
    )
    fact_rows = SemanticMemory.objects.filter(user=user).order_by(*FACT_ORDER)
    return {
        "profile": _profile_json(*profile) if profile else _profile_json("", None, {}),
        "facts": [
            _fact_json(*f)
            for f in fact_rows.values_list("id", "kind", "text", "importance", "tags")[:facts]
        ],
        "episodes": [
            _episode_json(*e)
            for e in episode_list(user=user).values_list(
                "id", "title", "summary", "started_at", "ended_at"
            )[:episodes]
        ],
        "raw": [
            _raw_json(*r)
            for r in raw_list(user=user).values_list("id", "kind", "text", "occurred_at")[:raw]
        ],
    }


def context_bundle(
    *,
    user: User,
    agent_input: str | None = None,
    facts_limit: int | None = None,
    episodes_limit: int | None = None,
    raw_limit: int | None = None,
    relevant_limit: int | None = None,
) -> dict[str, Any]:
    """What Prediction hands to the LLM, JSON-serialisable:
    ``{"profile", "facts", "episodes", "raw"}``, plus ``"relevant"`` when ``agent_input`` is
    given (even if blank, then empty).

    Facts: the ``facts_limit`` most important (zero importance last, then most recently
    updated). Episodes: the last ``episodes_limit`` by end time. Raw: the last ``raw_limit``
    rows by time, newest first. A constant number of queries whatever the data size: on
    Postgres one for the four tiers and one for relevance (elsewhere one per tier). Reads only;
    a missing profile reads as empty. A limit left as None comes from settings
    (``CLONE_MEMORY_BUNDLE_FACTS`` 20, ``..._EPISODES`` 10, ``..._RAW`` 50, ``..._RELEVANT`` 10).
    """
    defaults = conf.bundle_limits()
    facts_limit = defaults["facts_limit"] if facts_limit is None else facts_limit
    episodes_limit = defaults["episodes_limit"] if episodes_limit is None else episodes_limit
    raw_limit = defaults["raw_limit"] if raw_limit is None else raw_limit
    read = _tiers_postgres if connection.vendor == "postgresql" else _tiers_orm
    bundle = read(
        user=user,
        facts=max(facts_limit, 0),
        episodes=max(episodes_limit, 0),
        raw=max(raw_limit, 0),
    )
    if agent_input is not None:
        bundle["relevant"] = relevant_replies(
            user=user, agent_inputs=[agent_input], limit=relevant_limit
        )[0]
    return bundle


def raw_rows_count(*, user: User, event_keys: list[str]) -> int:
    """How many of these events (producer ids) have their raw row."""
    return RawMemory.objects.filter(user=user, event_key__in=event_keys).count()


def memory_status(*, user: User) -> dict[str, Any]:
    """How fresh the person's memory is: the last sync and promotion, what still waits for a
    promotion, the last promotion error, and when the next run is due (four small queries)."""
    upkeep = MemoryUpkeep.objects.filter(user=user).first() or MemoryUpkeep(user=user)
    queued = upkeep.task_token is not None
    error = None
    if upkeep.last_error_code:
        error = {
            "code": upkeep.last_error_code,
            "message": upkeep.last_error_message,
            "at": upkeep.last_error_at,
        }
    return {
        "automatic": bool(settings.CLONE_PROMOTE_AUTOMATICALLY),
        "runner": "in_process" if settings.CELERY_TASK_ALWAYS_EAGER else "worker",
        "last_sync_at": upkeep.last_synced_at,
        "last_promotion_at": upkeep.last_promoted_at,
        "raw_rows_pending": RawMemory.objects.filter(user=user, episode__isnull=True).count(),
        "episodes_pending": EpisodicMemory.objects.filter(
            user=user, distilled_at__isnull=True
        ).count(),
        "running": queued and upkeep.running_since is not None,
        "next_run_at": upkeep.scheduled_for if queued else None,
        "held_until": upkeep.held_until,
        "last_error": error,
    }
