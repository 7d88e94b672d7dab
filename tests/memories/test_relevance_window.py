"""Relevance reads only the user's newest answered prompts (CLONE_MEMORY_RELEVANCE_WINDOW), so its
cost per input stays bounded as the history grows (issue 7, target 2-4)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from memories.selectors import relevant_replies
from memories.services import raw_sync
from tests.factories import BASE_TIME
from tests.memories.helpers import dialogue

pytestmark = pytest.mark.django_db


def _answered(user, count: int, *, reply: str = "yes", start_hours: int = 0) -> None:
    for i in range(count):
        dialogue(
            user, "Run the database migrations now?", f"{reply} {i}",
            at=BASE_TIME + timedelta(hours=start_hours + i),
        )  # fmt: skip


def test_answered_prompts_older_than_the_window_are_not_searched(user, settings):
    _answered(user, 3, reply="old")
    _answered(user, 3, reply="new", start_hours=10)
    raw_sync(user=user)
    settings.CLONE_MEMORY_RELEVANCE_WINDOW = 3
    found = relevant_replies(user=user, agent_inputs=["Run the database migrations now?"])[0]
    assert sorted(r["reply"] for r in found) == ["new 0", "new 1", "new 2"]


def test_a_window_larger_than_the_history_searches_all_of_it(user, settings):
    _answered(user, 4)
    raw_sync(user=user)
    settings.CLONE_MEMORY_RELEVANCE_WINDOW = 1000
    found = relevant_replies(user=user, agent_inputs=["Run the database migrations now?"])[0]
    assert len(found) == 4


def test_the_window_counts_only_this_users_prompts(user, other_user, settings):
    _answered(user, 2, reply="mine")
    _answered(other_user, 5, reply="theirs", start_hours=5)
    raw_sync(user=user)
    raw_sync(user=other_user)
    settings.CLONE_MEMORY_RELEVANCE_WINDOW = 2
    found = relevant_replies(user=user, agent_inputs=["Run the database migrations now?"])[0]
    assert sorted(r["reply"] for r in found) == ["mine 0", "mine 1"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="plans are Postgres-specific")
def test_the_window_is_read_once_by_index_whatever_the_number_of_inputs(user):
    _answered(user, 3)
    raw_sync(user=user)
    questions = ["Run the database migrations now?", "Deploy?", "Delete the logs?"]
    with CaptureQueriesContext(connection) as captured:
        relevant_replies(user=user, agent_inputs=questions)
    (query,) = captured.captured_queries
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + query["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    scans = [line for line in plan.splitlines() if "on memories_rawmemory" in line]
    # The window once, by its index; otherwise only the re-ranked candidates' texts, by id.
    assert len([line for line in scans if "raw_user_answered" in line]) == 1, plan
    assert all("raw_user_answered" in line or "rawmemory_pkey" in line for line in scans), plan
