"""The Anthropic provider gets the structured request: checked in the body the real SDK sends to
the loopback fake."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from memories.services import fact_create, raw_sync
from predictions.services import PredictItem, prediction_batch_create, prediction_create
from recording.services import event_ingest
from tests.fakes.anthropic import tool_reply
from tests.predictions.helpers import candidates_answer

pytestmark = pytest.mark.django_db


def _decisions(user, *, start, commands, prefix="a"):
    events = []
    for i, (command, reply) in enumerate(commands):
        at = start + timedelta(minutes=2 * i)
        events += [
            {
                "id": f"{prefix}p{i}",
                "session_id": "s1",
                "kind": "agent_prompt",
                "occurred_at": at.isoformat(),
                "payload": {
                    "agent": "claude-code",
                    "text": f"Bash: {command}",
                    "tool": {"name": "Bash", "input": {"command": command}},
                    "options": ["yes", "no"],
                },
            },
            {
                "id": f"{prefix}r{i}",
                "session_id": "s1",
                "kind": "user_reply",
                "occurred_at": (at + timedelta(seconds=20)).isoformat(),
                "payload": {"text": reply, "in_reply_to": f"{prefix}p{i}"},
            },
        ]
    event_ingest(user=user, events=events)
    raw_sync(user=user)


def _user_text(request) -> str:
    return "\n".join(
        block["text"] if isinstance(block, dict) else str(block)
        for message in request["messages"]
        for block in (
            message["content"] if isinstance(message["content"], list) else [message["content"]]
        )
    )


def test_the_prompt_carries_request_options_context_similar_decisions_and_this_session(
    user, fake_anthropic
):
    fact_create(user=user, text="Runs the tests before every push.", importance=0.8)
    now = timezone.now()
    _decisions(
        user,
        start=now - timedelta(days=3),
        commands=[("git push origin main", "yes"), ("git push origin dev", "no")],
    )
    _decisions(  # a few minutes ago: this session
        user,
        start=now - timedelta(minutes=10),
        commands=[("npm run lint", "yes please")],
        prefix="b",
    )
    fake_anthropic.queue(tool_reply(candidates_answer(("yes", 0.7, []))))
    prediction_create(
        user=user,
        agent="claude-code",
        agent_input="Bash: git push origin feature",
        tool={"name": "Bash", "input": {"command": "git push origin feature"}},
        options=["yes", "no", "always"],
        context="Tests pass; pushing the branch for review.",
    )
    request = fake_anthropic.requests[-1]
    text = _user_text(request)
    assert '{"input": {"command": "git push origin feature"}, "name": "Bash"}' in text
    assert '["yes", "no", "always"]' in text
    assert "Tests pass; pushing the branch for review." in text
    similar = text.split("<decisions_on_similar_requests>")[1].split("</decisions")[0]
    assert "git push origin main" in similar and "git push origin dev" in similar
    # The same command head first, then the rest of the same tool.
    assert similar.index("git push origin") < similar.index("npm run lint")
    session = text.split("<earlier_in_this_session>")[1].split("</earlier")[0]
    assert "npm run lint" in session and "yes please" in session
    # The shared bundle stays in the cached system prefix, not in the per-request message.
    system = request["system"]
    cached = [block for block in system if "cache_control" in block]
    assert cached and "Runs the tests before every push." in cached[-1]["text"]
    assert "Runs the tests before every push." not in text


def test_a_batch_sends_each_items_structure_and_one_cached_bundle(user, fake_anthropic):
    _decisions(user, start=datetime(2026, 11, 1, tzinfo=UTC), commands=[("make deploy", "no")] * 1)
    fake_anthropic.respond_with(lambda request: tool_reply(candidates_answer(("no", 0.6, []))))
    items = [
        PredictItem(
            agent="claude-code",
            agent_input=f"Bash: make {target}",
            tool={"name": "Bash", "input": {"command": f"make {target}"}},
            options=["yes", "no"],
        )
        for target in ("deploy", "test")
    ]
    prediction_batch_create(user=user, items=items)
    bodies = sorted(_user_text(r) for r in fake_anthropic.requests)
    assert len(bodies) == 2
    assert all('["yes", "no"]' in body for body in bodies)
    assert any('"command": "make deploy"' in body for body in bodies)
    assert any('"command": "make test"' in body for body in bodies)
    systems = {json.dumps(r["system"], sort_keys=True) for r in fake_anthropic.requests}
    assert len(systems) == 1  # the same cached prefix for every item


def _relevance_reads(queries) -> int:
    return sum("WITH win AS MATERIALIZED" in q["sql"] for q in queries.captured_queries)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the Postgres relevance statement")
def test_decisions_on_like_requests_take_the_place_of_similarly_worded_prompts(
    user, fake_anthropic
):
    """As for the local provider: a request with a tool is shown to the model with the person's
    decisions on like requests, and the replies to similarly worded prompts (the relevance
    search, a query of its own) only when no decision bears on it."""
    _decisions(
        user,
        start=timezone.now() - timedelta(days=2),
        commands=[("git push origin main", "yes"), ("git push origin dev", "no")],
    )
    fake_anthropic.respond_with(lambda request: tool_reply(candidates_answer(("yes", 0.6, []))))
    with CaptureQueriesContext(connection) as like:
        prediction_create(
            user=user,
            agent="claude-code",
            agent_input="Bash: git push origin feature",
            tool={"name": "Bash", "input": {"command": "git push origin feature"}},
            options=["yes", "no"],
        )
    text = _user_text(fake_anthropic.requests[-1])
    assert "git push origin main" in text.split("<decisions_on_similar_requests>")[1]
    assert "<similar_past_prompts>" not in text
    assert _relevance_reads(like) == 0
    # A first request of its kind (no WebFetch answered yet): the similarly worded prompts.
    with CaptureQueriesContext(connection) as first:
        prediction_create(
            user=user,
            agent="claude-code",
            agent_input="Bash: git push origin feature --tags",
            tool={"name": "WebFetch", "input": {"url": "https://example.org/push"}},
            options=["yes", "no"],
        )
    text = _user_text(fake_anthropic.requests[-1])
    assert "<decisions_on_similar_requests>" not in text
    past = text.split("<similar_past_prompts>")[1].split("</similar_past_prompts>")[0]
    assert "git push origin" in past
    assert _relevance_reads(first) == 1
