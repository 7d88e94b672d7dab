"""One of everything a user can own, built through the product's own services.

Every text the world writes carries the user's ``marker``, so a response (or a prompt sent to the
model) that leaks it is caught by a plain substring check.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.apps import apps
from django.db import models

from clone_server.accounts.services import api_key_create
from clone_server.accounts.tokens import RefreshToken
from clone_server.owned_rows import user_owned_models, user_rows
from memories import promotion
from memories.models import SemanticMemory
from memories.services import fact_create, profile_calibration_set, profile_update, raw_sync
from memories.upkeep import promotion_schedule
from predictions.integrations.requests import request_announce
from predictions.services import prediction_create, prediction_feedback
from recording.services import event_ingest
from tests.factories import BASE_TIME, event
from tests.fakes.anthropic import tool_reply


@dataclass
class World:
    marker: str
    session_id: str
    event_ids: list[str]
    episode_id: int
    fact_ids: list[int]  # [stated, derived from the episode]
    prediction_id: int
    api_key_id: int
    api_key: str
    refresh: str  # a live refresh token
    used_refresh: str  # rotated away: blacklisted


def build_world(user, fake_anthropic, *, marker: str, at=BASE_TIME) -> World:
    """Events in one session, synced raw rows, a promoted episode, a derived fact (with its
    provenance) and a stated one, a profile with calibration, a prediction with feedback, an
    API key and refresh tokens (one live, one rotated away)."""
    session = f"{marker}-session"
    prompt = event(
        "agent_prompt",
        id=f"{marker}-prompt",
        session_id=session,
        occurred_at=at,
        payload={"agent": "claude-code", "text": f"Deploy {marker} to production now?"},
    )
    events = [
        prompt,
        event(
            "user_reply",
            id=f"{marker}-reply",
            session_id=session,
            occurred_at=at + timedelta(seconds=5),
            payload={"text": f"no, {marker} waits for review", "in_reply_to": prompt["id"]},
        ),
        event(
            "note",
            id=f"{marker}-note",
            session_id=session,
            occurred_at=at + timedelta(seconds=9),
            payload={"text": f"{marker} keeps secrets in the vault"},
        ),
    ]
    event_ingest(user=user, events=events)
    raw_sync(user=user)
    promotion_schedule(user_id=user.pk)  # what runs after the ingest commits: the upkeep row

    fake_anthropic.respond_with(
        lambda req: tool_reply({"title": f"{marker} episode", "summary": f"{marker} summary"})
    )
    episode_id = promotion.episodes_promote(user=user).episode_ids[0]
    fake_anthropic.respond_with(
        lambda req: tool_reply(
            {
                "new": [
                    {
                        "kind": "rule",
                        "text": f"{marker} never deploys without review.",
                        "importance": 0.7,
                        "tags": [marker],
                        "source_episode_ids": [episode_id],
                    }
                ],
                "reinforce": [],
            }
        )
    )
    derived = promotion.facts_promote(user=user).fact_ids[0]
    stated = fact_create(user=user, text=f"{marker} prefers pnpm.", kind="preference").id
    assert SemanticMemory.objects.get(pk=derived).source_episodes.filter(pk=episode_id).exists()

    profile_update(user=user, body=f"{marker} is a careful engineer.")
    profile_calibration_set(user=user, calibration={"a": 1.5, "b": -0.25, "n": 7})

    fake_anthropic.respond_with(
        lambda req: tool_reply(
            {
                "candidates": [
                    {
                        "text": f"no, {marker} waits",
                        "reasoning": f"{marker} reviews first",
                        "confidence": 0.9,
                        "cited_facts": [derived],
                    }
                ]
            }
        )
    )
    prediction = prediction_create(
        user=user,
        agent="claude-code",
        agent_input=f"Deploy {marker} today?",
        k=1,
        tool={"name": "Bash", "input": {"command": f"make deploy-{marker}"}},
        options=["yes", "no"],
        cwd=f"/srv/{marker}",
        context=f"{marker} finished the release notes",
        prompt_event_id=prompt["id"],
    )
    prediction_feedback(
        user=user, prediction_id=prediction.id, outcome="edited", actual_reply=f"{marker} later"
    )
    fake_anthropic.reset()
    # An agent's hook session: a tool call announced through the integrations.
    request_announce(
        user=user,
        agent="claude-code",
        session_key=f"{marker}-hook",
        tool_use_id=f"toolu-{marker}",
        turn_key="",
        tool={"name": "Bash", "input": {"command": f"deploy {marker}"}},
    )

    issued = api_key_create(user=user, name=f"{marker} laptop")
    used = RefreshToken.for_user(user)
    used.blacklist()
    return World(
        marker=marker,
        session_id=session,
        event_ids=[e["id"] for e in events],
        episode_id=episode_id,
        fact_ids=[stated, derived],
        prediction_id=prediction.id,
        api_key_id=issued.api_key.id,
        api_key=issued.key,
        refresh=str(RefreshToken.for_user(user)),
        used_refresh=str(used),
    )


# Stamped by authentication itself whenever the caller uses their own key: not a change.
_USAGE_STAMPS = {"last_used_at"}


def _row(instance: models.Model) -> tuple:
    return tuple(
        (f.attname, repr(getattr(instance, f.attname)))
        for f in instance._meta.concrete_fields
        if f.attname not in _USAGE_STAMPS
    )


def snapshot(user) -> dict[str, set]:
    """Every row of every user-owned table that belongs to ``user``, every column included
    (but key usage stamps), plus every row anywhere (other users' tables and M2M links
    included) that points at one of those rows: equal snapshots mean nothing of the user's
    changed and nothing new was attached to it."""
    owned = {model: user_rows(user=user, model=model) for model in user_owned_models()}
    rows: dict[str, set] = {
        model._meta.label: {_row(r) for r in queryset} for model, queryset in owned.items()
    }
    pks = {model: list(queryset.values_list("pk", flat=True)) for model, queryset in owned.items()}
    for model in apps.get_models(include_auto_created=True):
        for link in model._meta.concrete_fields:
            target = link.related_model if link.is_relation else None
            if target in owned:
                referring = model._default_manager.filter(**{f"{link.attname}__in": pks[target]})
                rows[f"{model._meta.label}.{link.name} ->"] = {_row(r) for r in referring}
    return rows
