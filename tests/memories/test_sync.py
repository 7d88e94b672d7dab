import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from memories.models import RawMemory
from memories.services import raw_sync
from recording.models import Event
from tests.factories import BASE_TIME, event
from tests.helpers import assert_api_error
from tests.memories.helpers import dialogue, ingest

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _events_stored_without_memory():
    """Ingest creates the raw rows of new events itself (tests/memories/test_upkeep.py); sync
    is the backfill for events stored without them, as before an upgrade. Here ingest stores
    only the events."""
    from memories.upkeep import on_events_recorded
    from recording.signals import events_recorded

    events_recorded.disconnect(on_events_recorded, sender=Event, dispatch_uid="memories.raw")
    yield
    events_recorded.connect(on_events_recorded, sender=Event, dispatch_uid="memories.raw")


def test_sync_creates_one_row_per_event_then_a_second_call_creates_nothing(api, user):
    ingest(user, event("terminal_turn"), event("note"), event("agent_prompt"))
    first = api.post(reverse("memories:sync"))
    assert first.status_code == 200, first.content
    assert first.json() == {"created": 3}
    again = api.post(reverse("memories:sync"))
    assert again.json() == {"created": 0}
    assert RawMemory.objects.filter(user=user).count() == 3


def test_sync_is_incremental_over_new_events(api, user):
    ingest(user, event("note"))
    assert api.post(reverse("memories:sync")).json() == {"created": 1}
    ingest(user, event("note"), event("terminal_turn"))
    assert api.post(reverse("memories:sync")).json() == {"created": 2}


def test_sync_never_touches_another_users_events(api, user, other_user):
    ingest(other_user, event("note"), event("note"))
    ingest(user, event("note"))
    assert api.post(reverse("memories:sync")).json() == {"created": 1}
    assert RawMemory.objects.filter(user=other_user).count() == 0


def test_sync_requires_authentication(anon_client):
    response = anon_client.post(reverse("memories:sync"))
    assert_api_error(response, 401, "not_authenticated")


@pytest.mark.parametrize(
    ("kind", "payload", "text"),
    [
        (
            "terminal_turn",
            {"command": "pytest -x", "exit_code": 1, "cwd": "~/shop"},
            'Ran "pytest -x" in ~/shop (exit 1).',
        ),
        ("terminal_turn", {"command": "ls"}, 'Ran "ls".'),
        (
            "agent_prompt",
            {"agent": "claude-code", "text": "Run the migrations now?"},
            'claude-code asked: "Run the migrations now?"',
        ),
        (
            "desktop_frame",
            {"app": "Code", "window_title": "shop — models.py"},
            'Looked at "shop — models.py" in Code.',
        ),
        ("desktop_frame", {"app": "Slack"}, "Used Slack."),
        (
            "integration_webhook",
            {"integration": "github", "event": "pull_request", "data": {}},
            'github reported "pull_request".',
        ),
        ("note", {"text": "Prefer pnpm\nover npm."}, 'Noted: "Prefer pnpm over npm."'),
    ],
    ids=["terminal", "terminal-bare", "prompt", "frame", "frame-no-title", "webhook", "note"],
)
def test_each_kind_is_normalized_to_one_sentence(user, kind, payload, text):
    ingest(user, event(kind, payload=payload))
    raw_sync(user=user)
    assert RawMemory.objects.get(user=user).text == text


def test_long_texts_are_cut_in_the_sentence_but_kept_for_relevance(user):
    long = "word " * 400
    dialogue(user, long, "ok")
    raw_sync(user=user)
    prompt = RawMemory.objects.get(user=user, kind="agent_prompt")
    assert len(prompt.text) < 400
    assert prompt.text.endswith('…"')
    assert prompt.prompt_text == long.strip()


def test_reply_names_the_agent_and_fills_the_prompts_reply(user):
    dialogue(user, "Run the migrations now?", "yes, but back up the db first")
    raw_sync(user=user)
    reply = RawMemory.objects.get(user=user, kind="user_reply")
    assert reply.text == 'Replied to claude-code: "yes, but back up the db first"'
    prompt = RawMemory.objects.get(user=user, kind="agent_prompt")
    assert prompt.agent == "claude-code"
    assert prompt.reply_text == "yes, but back up the db first"


def test_reply_synced_in_a_later_call_is_linked_to_the_earlier_prompt(user):
    p = event("agent_prompt", payload={"agent": "cursor", "text": "Delete the branch?"})
    ingest(user, p)
    raw_sync(user=user)
    assert RawMemory.objects.get(user=user, kind="agent_prompt").reply_text is None
    ingest(user, event("user_reply", payload={"text": "no", "in_reply_to": p["id"]}))
    assert raw_sync(user=user) == 1
    assert RawMemory.objects.get(user=user, kind="agent_prompt").reply_text == "no"


def test_reply_synced_before_its_prompt_is_linked_when_the_prompt_arrives(user):
    ingest(user, event("user_reply", payload={"text": "sure", "in_reply_to": "late-prompt"}))
    raw_sync(user=user)
    ingest(
        user,
        event("agent_prompt", id="late-prompt", payload={"agent": "cursor", "text": "Format it?"}),
    )
    raw_sync(user=user)
    assert RawMemory.objects.get(user=user, kind="agent_prompt").reply_text == "sure"
    reply = RawMemory.objects.get(user=user, kind="user_reply")
    assert (reply.agent, reply.text) == ("cursor", 'Replied to cursor: "sure"')


def test_a_later_reply_to_the_same_prompt_wins(user):
    p = event("agent_prompt", occurred_at=BASE_TIME, payload={"agent": "a", "text": "Go?"})
    first = event(
        "user_reply",
        occurred_at=BASE_TIME + timedelta(seconds=1),
        payload={"text": "wait", "in_reply_to": p["id"]},
    )
    ingest(user, p, first)
    raw_sync(user=user)
    ingest(
        user,
        event(
            "user_reply",
            occurred_at=BASE_TIME + timedelta(seconds=9),
            payload={"text": "go now", "in_reply_to": p["id"]},
        ),
    )
    raw_sync(user=user)
    assert RawMemory.objects.get(user=user, kind="agent_prompt").reply_text == "go now"


def test_reply_to_another_users_prompt_id_is_not_linked(user, other_user):
    theirs = dialogue(other_user, "Push to main?", None)
    ingest(user, event("user_reply", payload={"text": "yes", "in_reply_to": theirs}))
    raw_sync(user=other_user)
    raw_sync(user=user)
    assert RawMemory.objects.get(user=other_user).reply_text is None
    assert RawMemory.objects.get(user=user).text == 'Replied: "yes"'


def test_sync_works_in_chunks_and_picks_up_every_event(
    user, settings, django_assert_max_num_queries
):
    settings.CLONE_MEMORY_SYNC_CHUNK = 3
    ingest(user, *[event("note") for _ in range(10)])
    assert raw_sync(user=user) == 10
    assert set(RawMemory.objects.values_list("event_id", flat=True)) == set(
        Event.objects.filter(user=user).values_list("id", flat=True)
    )


def test_sync_chunk_queries_do_not_grow_with_chunk_size(user, settings, django_assert_num_queries):
    settings.CLONE_MEMORY_SYNC_CHUNK = 1000
    prompts = []
    for i in range(30):
        prompts.append(event("agent_prompt", payload={"agent": "a", "text": f"q{i}"}))
    replies = [event("user_reply", payload={"text": "y", "in_reply_to": p["id"]}) for p in prompts]
    ingest(user, *prompts, *replies)
    # select chunk, agent lookup, savepoint, insert, prompt link, reply agents, release,
    # final empty select
    with django_assert_num_queries(8):
        assert raw_sync(user=user) == 60


@pytest.mark.django_db(transaction=True)
def test_concurrent_syncs_never_create_a_row_twice(user):
    ingest(user, *[event("note") for _ in range(200)])
    counts: list[int] = []
    barrier = threading.Barrier(2)

    def run():
        try:
            barrier.wait()
            counts.append(raw_sync(user=user))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts) == 200
    assert RawMemory.objects.filter(user=user).count() == 200


def test_sync_memory_command_syncs_every_user_or_one(user, other_user):
    ingest(user, event("note"))
    ingest(other_user, event("note"), event("note"))
    call_command("sync_memory", "--user", "bob")
    assert RawMemory.objects.filter(user=other_user).count() == 2
    assert RawMemory.objects.filter(user=user).count() == 0
    call_command("sync_memory")
    assert RawMemory.objects.filter(user=user).count() == 1


def test_sync_memory_command_rejects_an_unknown_user(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="nobody"):
        call_command("sync_memory", "--user", "nobody")
