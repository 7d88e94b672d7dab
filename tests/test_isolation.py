"""Isolation, proven over every endpoint the URL conf has, discovered rather than listed.

User A owns one of everything (tests/world.py). Acting as user B, every endpoint and method is
called: lists show none of A's rows, every read, write and delete aimed at A's ids is a 404 that
looks exactly like a missing id, and A's rows (every column of every user-owned table) are the
same afterwards. Anonymous callers get 401 everywhere but the few public endpoints. A new
endpoint is walked automatically; one with an unknown URL parameter fails until taught here.
"""

import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from memories import promotion
from memories.services import raw_sync
from predictions.services import prediction_create
from recording.services import event_ingest
from tests.factories import event
from tests.fakes.anthropic import tool_reply
from tests.helpers import assert_api_error
from tests.world import World, build_world, snapshot

# Reachable without credentials, by design. Anything else answering an anonymous caller fails.
PUBLIC = {
    "health",
    "schema",
    "docs",
    "accounts:token",
    "accounts:token-refresh",
    "accounts:token-revoke",
}
# Django's admin has its own (session, staff-only) authentication and is not part of the API.
# The web app's index (clone_server/web.py) is HTML for the browser, holding no rows of anyone's.
SKIPPED_NAMESPACES = {"admin", "web"}
# GET endpoints that hold no rows of the caller's, so "B sees its own rows" cannot apply.
NO_ROWS = {
    "recording:schema",
    "memories:status",  # counts and times only
    "predictions:stats",
    "predictions:trust",
    "integrations:claude-code-suggested-rules",
    # Counts only; tests/data_rights/test_account_status.py shows another user's rows count 0.
    "account:status",
    "integrations:setup",
}
# URL parameters that name no row of anyone's (an agent), with a value every endpoint accepts.
NOT_OWNED = {"agent": "claude-code"}
METHODS = ("get", "post", "put", "patch", "delete")
ALICE, BOB = "ALICEMARK", "BOBMARK"


@dataclass(frozen=True)
class Endpoint:
    name: str  # "namespace:name"
    route: str  # "api/memory/facts/<int:fact_id>/"
    view: type
    kwargs: tuple[str, ...]

    @property
    def methods(self) -> tuple[str, ...]:
        return tuple(m for m in METHODS if hasattr(self.view, m))

    @property
    def openapi_path(self) -> str:
        return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", self.route)


def _walk(patterns, prefix: str = "", namespace: str | None = None):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = ":".join(filter(None, [namespace, entry.namespace])) or None
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), namespace, entry


def discover() -> tuple[list[Endpoint], int]:
    """Every URL pattern of the project (nested resolvers included), and how many leaves the
    URL conf has in all (skipped ones included), for the completeness check."""
    endpoints, leaves = [], 0
    for route, namespace, pattern in _walk(get_resolver().url_patterns):
        leaves += 1
        if namespace and namespace.split(":")[0] in SKIPPED_NAMESPACES:
            continue
        view = getattr(pattern.callback, "view_class", None) or getattr(
            pattern.callback, "cls", None
        )
        assert view is not None, f"{route}: not a class-based view; the walker cannot call it"
        assert pattern.name, f"{route}: every endpoint needs a name (tests use reverse())"
        name = f"{namespace}:{pattern.name}" if namespace else pattern.name
        kwargs = tuple(pattern.pattern.converters) if hasattr(pattern.pattern, "converters") else ()
        endpoints.append(Endpoint(name=name, route=route, view=view, kwargs=kwargs))
    return endpoints, leaves


ENDPOINTS, URL_LEAVES = discover()
CASES = [(ep, method) for ep in ENDPOINTS for method in ep.methods]
# OPTIONS (DRF's metadata) exists on every view and must not answer strangers either.
ANONYMOUS_CASES = CASES + [(ep, "options") for ep in ENDPOINTS]


def _case_id(case) -> str:
    endpoint, method = case
    return f"{method.upper()} {endpoint.name}"


# --- Discovery is complete -----------------------------------------------------------------------


def test_the_walker_covers_every_operation_in_the_openapi_schema():
    """The schema is built independently of this walker: each of its operations must be a case,
    so an endpoint the walk misses (or a view the discovery cannot see) fails here."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    documented = {
        (path, method)
        for path, operations in schema["paths"].items()
        for method in operations
        if method in METHODS
    }
    walked = {(ep.openapi_path, method) for ep, method in CASES}
    assert documented, "the schema has no operations"
    assert documented <= walked, f"not walked: {sorted(documented - walked)}"


def test_every_url_pattern_is_walked_or_deliberately_skipped():
    skipped = sum(
        1
        for _, namespace, _ in _walk(get_resolver().url_patterns)
        if namespace and namespace.split(":")[0] in SKIPPED_NAMESPACES
    )
    assert len(ENDPOINTS) + skipped == URL_LEAVES
    assert len(ENDPOINTS) >= 25  # today's API; discovery returning less means it broke
    assert all(ep.methods for ep in ENDPOINTS)
    assert {ep.name for ep in ENDPOINTS} >= PUBLIC


# --- Anonymous callers ---------------------------------------------------------------------------


def _url(endpoint: Endpoint, values: dict[str, Any]) -> str:
    missing = [k for k in endpoint.kwargs if k not in values]
    assert not missing, f"{endpoint.name}: teach the walker the URL parameter(s) {missing}"
    return reverse(endpoint.name, kwargs={k: values[k] for k in endpoint.kwargs})


# Any value of the right type: an anonymous request must be refused before it is looked up.
_ANY_IDS = {"fact_id": 1, "prediction_id": 1, "key_id": 1, "session_id": "s-1", **NOT_OWNED}


@pytest.mark.django_db
@pytest.mark.parametrize("case", ANONYMOUS_CASES, ids=[_case_id(c) for c in ANONYMOUS_CASES])
def test_anonymous_requests_are_refused_except_public_endpoints(case, anon_client):
    endpoint, method = case
    response = getattr(anon_client, method)(_url(endpoint, _ANY_IDS), {}, format="json")
    if endpoint.name in PUBLIC:
        assert response.status_code != 401
        assert response.status_code < 500
        return
    assert_api_error(response, 401, "not_authenticated")
    assert response.has_header("WWW-Authenticate")


# --- User B against user A's data ----------------------------------------------------------------


def _answer_for(alice: World):
    """The fake model, answering whatever it is asked, and trying to smuggle A's ids in."""
    derived = alice.fact_ids[1]

    def respond(request: dict):
        tool = (request.get("tool_choice") or {}).get("name")
        if tool == "record_episode":
            return tool_reply({"title": f"{BOB} new episode", "summary": f"{BOB} did things"})
        if tool == "record_facts":
            return tool_reply(
                {
                    "new": [
                        {
                            "kind": "habit",
                            "text": f"{BOB} reviews deploys.",
                            "importance": 0.6,
                            "tags": [],
                            "source_episode_ids": [alice.episode_id],
                        }
                    ],
                    "reinforce": [
                        {
                            "id": derived,
                            "importance_delta": 0.2,
                            "source_episode_ids": [alice.episode_id],
                            "text": f"{BOB} rewrote this",
                        }
                    ],
                }
            )
        return tool_reply(
            {
                "candidates": [
                    {
                        "text": f"{BOB} says no",
                        "reasoning": f"{BOB} is careful",
                        "confidence": 0.9,
                        "cited_facts": [derived, *alice.fact_ids],
                    }
                ]
            }
        )

    return respond


def _bodies(alice: World) -> dict[tuple[str, str], Any]:
    """Valid bodies for the endpoints that act on the caller's own data, so the walk runs them
    for real. Some reuse A's identifiers, which must mean nothing in B's account."""
    ask = {
        "agent": "claude-code",
        "agent_input": "Deploy to production now?",
        "k": 1,
        "tool": {"name": "Bash", "input": {"command": "make deploy"}},
        "options": ["yes", "no"],
        "cwd": "/srv",
        "context": "B's deploy",
    }
    return {
        ("recording:events", "post"): event(
            "note", id=alice.event_ids[2], session_id=alice.session_id, payload={"text": "b"}
        ),
        ("memories:sync", "post"): {},
        ("memories:context", "post"): {"agent_input": "Deploy to production now?"},
        ("memories:promote-episodes", "post"): {},
        ("memories:promote-facts", "post"): {},
        ("memories:profile", "put"): {"body": f"{BOB} rewrote the profile"},
        ("memories:facts", "post"): {"text": f"{BOB} states a fact"},
        ("predictions:predict", "post"): ask,
        ("predictions:batch", "post"): {"items": [ask, ask]},
        ("accounts:api-keys", "post"): {"name": f"{BOB} second key"},
        ("memories:fact", "patch"): {"text": f"{BOB} overwrote", "importance": 0.0},
        ("predictions:feedback", "post"): {"outcome": "rejected", "actual_reply": "no"},
        ("predictions:answer", "post"): {"reply": "no"},
        ("memories:profile", "patch"): {"audit_rate": 0.5, "never_auto": [f"{BOB} pattern"]},
        # A's hook session and tool-use ids, sent by B: B's own (new) session, never A's.
        ("integrations:claude-code-hooks", "post"): {
            "session_id": f"{alice.marker}-hook",
            "hook_event_name": "PostToolUse",
            "tool_name": "Bash",
            "tool_input": {"command": f"deploy {alice.marker}"},
            "tool_use_id": f"toolu-{alice.marker}",
        },
        ("integrations:codex-hooks", "post"): {
            "session_id": f"{alice.marker}-hook",
            "hook_event_name": "PostToolUse",
            "tool_name": "Bash",
            "tool_input": {"command": f"deploy {alice.marker}"},
            "tool_use_id": f"toolu-{alice.marker}",
        },
        ("integrations:gemini-hooks", "post"): {
            "session_id": f"{alice.marker}-hook",
            "hook_event_name": "AfterTool",
            "tool_name": "Bash",
            "tool_input": {"command": f"deploy {alice.marker}"},
        },
        ("integrations:cursor-hooks", "post"): {
            "conversation_id": f"{alice.marker}-hook",
            "hook_event_name": "stop",
        },
        ("integrations:claude-code-transcripts", "post"): {
            "lines": [
                {
                    "type": "user",
                    "sessionId": f"{alice.marker}-hook",
                    "timestamp": "2026-11-20T09:00:00Z",
                    "message": {"role": "user", "content": f"{BOB} asks"},
                }
            ]
        },
        ("integrations:aider-history", "post"): {
            "text": f"# aider chat started at 2025-01-01 10:00:00\n#### {BOB} asks\n"
        },
        ("integrations:history-learn", "post"): {},
    }


def _content(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


@pytest.fixture
def alice_and_bob(user, other_user, fake_anthropic):
    alice = build_world(user, fake_anthropic, marker=ALICE)
    bob = build_world(other_user, fake_anthropic, marker=BOB)
    # Work left for B's promotion endpoints: an undistilled episode and unpromoted rows.
    event_ingest(user=other_user, events=[event("note", session_id=f"{BOB}-2") for _ in range(2)])
    raw_sync(user=other_user)
    fake_anthropic.respond_with(lambda req: tool_reply({"title": f"{BOB} e2", "summary": "s"}))
    promotion.episodes_promote(user=other_user)
    event_ingest(user=other_user, events=[event("note", session_id=f"{BOB}-3") for _ in range(2)])
    event_ingest(user=other_user, events=[event("agent_prompt", session_id=f"{BOB}-3")])
    raw_sync(user=other_user)
    # A question waiting for B's answer, for the inbox.
    fake_anthropic.respond_with(
        lambda req: tool_reply(
            {
                "candidates": [
                    {"text": f"{BOB} maybe", "reasoning": "r", "confidence": 0.1, "cited_facts": []}
                ]
            }
        )
    )
    prediction_create(user=other_user, agent="claude-code", agent_input=f"{BOB} waiting?", k=1)
    # And events not yet synced, for the sync endpoint.
    event_ingest(user=other_user, events=[event("note", session_id=f"{BOB}-4")])
    fake_anthropic.reset()
    return alice, bob


@pytest.mark.django_db
@pytest.mark.parametrize("scheme", ["jwt", "api_key"])
def test_user_b_can_neither_see_nor_touch_anything_of_user_a(
    scheme, user, other_user, alice_and_bob, client_for, fake_anthropic
):
    alice, bob = alice_and_bob
    fake_anthropic.respond_with(_answer_for(alice))
    client: APIClient = client_for(other_user, scheme)
    alice_ids = {
        "fact_id": alice.fact_ids[1],
        "prediction_id": alice.prediction_id,
        "key_id": alice.api_key_id,
        "session_id": alice.session_id,
    }
    missing_ids = {"fact_id": 10**12, "prediction_id": 10**12, "key_id": 10**12}
    missing_ids["session_id"] = "no-such-session"
    # Values the URL accepts but no row can have: still a plain 404, never a 500.
    hostile_ids = {"fact_id": 10**30, "prediction_id": 10**30, "key_id": 10**30}
    hostile_ids["session_id"] = "a\x00b"
    bob_ids = {
        "fact_id": bob.fact_ids[1],
        "prediction_id": bob.prediction_id,
        "key_id": bob.api_key_id,
        "session_id": bob.session_id,
    }
    bodies = _bodies(alice)
    before = snapshot(user)
    problems: list[str] = []
    visited: list[tuple[str, str]] = []

    def check(label: str, condition: bool, detail: str = "") -> None:
        if not condition:
            problems.append(f"{label}: {detail}")

    for endpoint, method in CASES:
        if endpoint.name in PUBLIC:
            continue
        label = f"{method.upper()} {endpoint.name}"
        visited.append((endpoint.name, method))
        body = bodies.get((endpoint.name, method), {})
        call = getattr(client, method)
        # Each call starts from the same state and is undone afterwards, so B's own deletes
        # (a fact, the whole account) cannot hide what a later endpoint would show.
        owned_kwargs = bool(set(endpoint.kwargs) - set(NOT_OWNED))
        with transaction.atomic():
            requests_before = len(fake_anthropic.requests)
            if owned_kwargs:
                response = call(_url(endpoint, alice_ids), body, format="json")
                missing = call(_url(endpoint, missing_ids), body, format="json")
                check(label, response.status_code == 404, f"{response.status_code} on A's id")
                check(label, ALICE not in _content(response), "A's data in the 404")
                hostile = call(_url(endpoint, hostile_ids), body, format="json")
                for other, what in [(missing, "a missing id"), (hostile, "an impossible id")]:
                    check(
                        label,
                        (response.status_code, response.json())
                        == (other.status_code, other.json()),
                        f"A's id answers differently from {what}: {other.status_code}",
                    )
            else:
                url = _url(endpoint, NOT_OWNED)
                if method == "get":
                    # The whole list, and parameters a careless view might read as "whose".
                    url += f"?page_size=500&user={user.pk}&user_id={user.pk}&owner={user.pk}"
                response = call(url, body, format="json")
                text = _content(response)
                check(label, response.status_code < 300, f"{response.status_code}: {text[:300]}")
                if (endpoint.name, method) == ("recording:events", "post"):
                    # B posted A's event and session ids: new in B's account, never duplicates.
                    expected = {"created": [alice.event_ids[2]], "duplicates": []}
                    check(label, response.json() == expected, f"A's ids are known: {text}")
                else:
                    check(label, ALICE not in text, f"A's data in the response: {text[:300]}")
                if method == "get" and endpoint.name not in NO_ROWS:
                    check(label, BOB in text, "B's own rows are missing: the check is vacuous")
            for sent in fake_anthropic.requests[requests_before:]:
                check(label, ALICE not in json.dumps(sent), "A's data was sent to the model")
            check(label, snapshot(user) == before, "A's rows changed")
            transaction.set_rollback(True)

        if owned_kwargs and method == "get":
            own = client.get(_url(endpoint, bob_ids))
            check(label, own.status_code == 200, f"B's own id gives {own.status_code}")

    assert not problems, "\n".join(problems)
    expected = [(ep.name, m) for ep, m in CASES if ep.name not in PUBLIC]
    assert visited == expected
    assert len(visited) >= 20
    # The promotion and predict endpoints really reached the model (the fake), so the checks
    # on what was sent to it were not vacuous.
    tools = {(r.get("tool_choice") or {}).get("name") for r in fake_anthropic.requests}
    assert {"record_episode", "record_facts", "predict_replies"} <= tools
