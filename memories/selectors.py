"""Reads from the Memory layer. Every selector takes the user and filters on it."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from memories import conf
from memories.models import EpisodicMemory, RawMemory, SemanticMemory, UserProfile
from memories.relevance import relevant_search

FACT_ORDER = ("-importance", "-updated_at", "-id")


def profile_get(*, user: AbstractBaseUser) -> UserProfile:
    """The user's profile, created empty on first use."""
    profile, _ = UserProfile.objects.get_or_create(user=user)
    return profile


def fact_list(*, user: AbstractBaseUser) -> QuerySet[SemanticMemory]:
    """The user's facts, most important first (zero importance last), then most recently
    updated. Source episode ids are prefetched (one extra query per page)."""
    return (
        SemanticMemory.objects.filter(user=user)
        .order_by(*FACT_ORDER)
        .prefetch_related("source_episodes")
    )


def fact_get(*, user: AbstractBaseUser, fact_id: int) -> SemanticMemory:
    """One of the user's facts; 404 when it is not theirs."""
    return get_object_or_404(fact_list(user=user), id=fact_id)


def episode_list(*, user: AbstractBaseUser) -> QuerySet[EpisodicMemory]:
    """The user's episodes, most recent first."""
    return (
        EpisodicMemory.objects.filter(user=user)
        .select_related("session")
        .order_by("-ended_at", "-id")
    )


def raw_list(*, user: AbstractBaseUser, kind: str | None = None) -> QuerySet[RawMemory]:
    """The user's raw rows, most recent first, optionally of one kind."""
    rows = RawMemory.objects.filter(user=user)
    if kind:
        rows = rows.filter(kind=kind)
    return rows.order_by("-occurred_at", "-id")


def relevant_replies(
    *, user: AbstractBaseUser, agent_inputs: list[str], limit: int | None = None
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


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def context_bundle(
    *,
    user: AbstractBaseUser,
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
    rows by time, newest first. A constant number of queries whatever the data size: one per
    tier, one for relevance. Reads only; a missing profile reads as empty. A limit left as None
    comes from settings (``CLONE_MEMORY_BUNDLE_FACTS`` 20, ``..._EPISODES`` 10, ``..._RAW`` 50,
    ``..._RELEVANT`` 10).
    """
    defaults = conf.bundle_limits()
    facts_limit = defaults["facts_limit"] if facts_limit is None else facts_limit
    episodes_limit = defaults["episodes_limit"] if episodes_limit is None else episodes_limit
    raw_limit = defaults["raw_limit"] if raw_limit is None else raw_limit
    relevant_limit = defaults["relevant_limit"] if relevant_limit is None else relevant_limit
    profile = (
        UserProfile.objects.filter(user=user).values("body", "updated_at", "calibration").first()
    )
    facts = SemanticMemory.objects.filter(user=user).order_by(*FACT_ORDER)
    episodes = episode_list(user=user)
    raw = raw_list(user=user)
    bundle: dict[str, Any] = {
        "profile": {
            "body": profile["body"] if profile else "",
            "updated_at": _iso(profile["updated_at"]) if profile else None,
            # Read here so a prediction needs no second profile query.
            "calibration": profile["calibration"] if profile else {},
        },
        "facts": [
            {"id": f[0], "kind": f[1], "text": f[2], "importance": f[3], "tags": f[4]}
            for f in facts.values_list("id", "kind", "text", "importance", "tags")[
                : max(facts_limit, 0)
            ]
        ],
        "episodes": [
            {
                "id": e[0],
                "title": e[1],
                "summary": e[2],
                "started_at": _iso(e[3]),
                "ended_at": _iso(e[4]),
            }
            for e in episodes.values_list("id", "title", "summary", "started_at", "ended_at")[
                : max(episodes_limit, 0)
            ]
        ],
        "raw": [
            {"id": r[0], "kind": r[1], "text": r[2], "occurred_at": _iso(r[3])}
            for r in raw.values_list("id", "kind", "text", "occurred_at")[: max(raw_limit, 0)]
        ],
    }
    if agent_input is not None:
        bundle["relevant"] = relevant_replies(
            user=user, agent_inputs=[agent_input], limit=relevant_limit
        )[0]
    return bundle
