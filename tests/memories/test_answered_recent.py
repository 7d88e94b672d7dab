"""The person's newest answered prompts with their request's structure: the read every predict
makes (``memories.selectors.answered_prompts_recent``), one statement on Postgres."""

import importlib
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from memories import selectors
from memories.selectors import answered_prompts_recent
from memories.services import raw_sync
from tests.factories import BASE_TIME, event
from tests.memories.helpers import dialogue, ingest

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="Postgres path")


def _structured(user, n: int, *, at, payload: dict, reply: str = "yes") -> None:
    prompt = event(
        "agent_prompt",
        session_id="s-1",
        occurred_at=at,
        payload={"agent": "claude-code", "text": f"Bash: step {n}", **payload},
    )
    answer = event(
        "user_reply",
        session_id="s-1",
        occurred_at=at + timedelta(seconds=5),
        payload={"text": reply, "in_reply_to": prompt["id"]},
    )
    ingest(user, prompt, answer)


@pytest.fixture
def history(user, other_user):
    """Answered prompts of every shape: a tool with options, a tool without, options without a
    tool, a plain question, a time with microseconds, an unanswered prompt; and another
    person's answers."""
    _structured(
        user,
        0,
        at=BASE_TIME,
        payload={"tool": {"name": "Bash", "input": {"command": "npm test"}}, "options": ["y", "n"]},
    )
    _structured(
        user,
        1,
        at=BASE_TIME + timedelta(minutes=1, microseconds=250_000),
        payload={"tool": {"name": "Edit", "input": {"file_path": "src/app.py"}}},
        reply="no",
    )
    _structured(user, 2, at=BASE_TIME + timedelta(minutes=2), payload={"options": ["a", "b"]})
    dialogue(user, "Deploy to staging?", "go ahead", at=BASE_TIME + timedelta(minutes=3))
    dialogue(user, "Unanswered?", None, at=BASE_TIME + timedelta(minutes=4))
    dialogue(other_user, "Theirs?", "theirs", at=BASE_TIME + timedelta(minutes=5))
    raw_sync(user=user)
    raw_sync(user=other_user)


def test_newest_first_with_their_structure_and_only_this_persons(user, history):
    found = answered_prompts_recent(user=user, limit=10)
    assert [(d["prompt"], d["reply"]) for d in found] == [
        ("Deploy to staging?", "go ahead"),
        ("Bash: step 2", "yes"),
        ("Bash: step 1", "no"),
        ("Bash: step 0", "yes"),
    ]
    deploy, options_only, edit, bash = found
    assert (deploy["tool"], deploy["options"]) == (None, None)
    assert (options_only["tool"], options_only["options"]) == (None, ["a", "b"])
    assert edit["tool"] == {"name": "Edit", "input": {"file_path": "src/app.py"}}
    assert edit["options"] is None
    assert bash["tool"] == {"name": "Bash", "input": {"command": "npm test"}}
    assert bash["options"] == ["y", "n"]
    assert bash["agent"] == "claude-code"
    assert bash["occurred_at"] == BASE_TIME.isoformat()
    assert (
        edit["occurred_at"] == (BASE_TIME + timedelta(minutes=1, microseconds=250_000)).isoformat()
    )


def test_the_limit_keeps_the_newest(user, history):
    found = answered_prompts_recent(user=user, limit=2)
    assert [d["prompt"] for d in found] == ["Deploy to staging?", "Bash: step 2"]
    assert answered_prompts_recent(user=user, limit=0) == []


def test_a_person_with_no_answers_reads_as_empty_in_one_query(other_user, user):
    with CaptureQueriesContext(connection) as captured:
        assert answered_prompts_recent(user=user, limit=300) == []
    assert len(captured.captured_queries) == 1


@postgres_only
def test_the_postgres_statement_reads_what_the_orm_reads(user, history):
    """The one statement and the portable query give the same rows, times included."""
    assert selectors._answered_postgres(user=user, limit=10) == selectors._answered_orm(
        user=user, limit=10
    )


@postgres_only
def test_the_read_walks_the_answered_prompts_index_and_reads_no_event(user, history):
    """The plan on tables Postgres has not analysed (a fresh import): the answered prompts by
    their partial index, newest first, stopping at the limit; no event is read."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + selectors._answered_sql(), {"user": user.pk, "limit": 300})
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Scan Backward using raw_user_answered" in plan, plan
    assert "recording_event" not in plan and "Join" not in plan, plan


def test_rows_synced_before_the_structure_was_copied_get_it_from_their_events(user, history):
    """The migration that added ``tool`` and ``options`` to raw rows fills them from the events
    of the rows that existed before it."""
    from django.apps import apps

    from memories.models import RawMemory

    backfill = importlib.import_module("memories.migrations.0008_raw_request_structure").backfill
    before = answered_prompts_recent(user=user, limit=10)
    RawMemory.objects.update(tool=None, options=None)
    assert all(d["tool"] is None for d in answered_prompts_recent(user=user, limit=10))
    if connection.vendor == "postgresql":
        with connection.schema_editor() as editor:
            backfill(apps, editor)
    else:  # SQLite cannot open a schema editor inside the test's transaction; this path needs none
        backfill(apps, SimpleNamespace(connection=connection))
    assert answered_prompts_recent(user=user, limit=10) == before
    assert RawMemory.objects.exclude(kind="agent_prompt").filter(tool__isnull=False).count() == 0
