"""Memory that keeps itself fresh: raw rows at ingest, promotion scheduled per person.

These run in-process on Postgres; tests/memories/test_worker.py drives a real Celery worker.
"""

import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from clone_server import llm
from memories import upkeep
from memories.models import EpisodicMemory, MemoryUpkeep, RawMemory, SemanticMemory
from memories.upkeep import StepOutcome
from tests.factories import BASE_TIME, event
from tests.fakes.anthropic import error_reply
from tests.memories.helpers import dialogue

pytestmark = pytest.mark.django_db


def _ingest(api, events):
    return api.post(reverse("recording:events"), events, format="json")


@pytest.fixture
def automatic(settings):
    settings.CLONE_PROMOTE_AUTOMATICALLY = True


@pytest.fixture
def queued(settings, monkeypatch):
    """As with a broker: tasks are queued (recorded here), not run."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CLONE_PROMOTE_AUTOMATICALLY = True
    settings.CLONE_PROMOTE_AFTER_EVENTS = 10
    settings.CLONE_PROMOTE_IDLE_SECONDS = 60
    sent: list[dict] = []
    monkeypatch.setattr(upkeep, "_enqueue", lambda **kwargs: sent.append(kwargs), raising=True)
    return sent


# --- Fresh at once ----------------------------------------------------------------------------


def test_an_ingested_event_is_in_memory_when_the_ingest_returns(api, user):
    prompt = event("agent_prompt", payload={"agent": "claude-code", "text": "Run the migrations?"})
    reply = event("user_reply", payload={"text": "yes", "in_reply_to": prompt["id"]})
    assert _ingest(api, [prompt, reply]).status_code == 201

    raw = api.get(reverse("memories:raw")).json()["results"]
    assert {row["text"] for row in raw} == {
        'claude-code asked: "Run the migrations?"',
        'Replied to claude-code: "yes"',
    }
    bundle = api.post(
        reverse("memories:context"), {"agent_input": "Run the migrations now?"}, format="json"
    ).json()
    assert [(r["prompt"], r["reply"]) for r in bundle["relevant"]] == [
        ("Run the migrations?", "yes")
    ]


def test_a_reply_ingested_before_its_prompt_is_linked_once_the_prompt_arrives(api, user):
    prompt = event("agent_prompt", payload={"agent": "aider", "text": "Edit the files?"})
    reply = event("user_reply", payload={"text": "no", "in_reply_to": prompt["id"]})
    _ingest(api, [reply])
    _ingest(api, [prompt])
    row = RawMemory.objects.get(user=user, kind="agent_prompt")
    assert row.reply_text == "no"
    assert RawMemory.objects.get(user=user, kind="user_reply").text == 'Replied to aider: "no"'


def test_rows_made_at_ingest_are_the_rows_a_backfill_makes_from_the_stored_events(api, user):
    # The ingest hands Memory the rows it just stored; reading them back must give the same.
    prompt = event(
        "agent_prompt",
        session_id="s1",
        occurred_at=BASE_TIME + timedelta(minutes=2),
        payload={
            "agent": "aider",
            "text": "Add app.py to the chat?",
            "tool": {"name": "add_file", "input": {"path": "app.py"}},
            "options": ["yes", "no", "all"],
        },
    )
    reply = event(
        "user_reply",
        session_id="s1",
        occurred_at=BASE_TIME + timedelta(minutes=3),
        payload={"text": "yes", "in_reply_to": prompt["id"]},
    )
    turn = event("terminal_turn", session_id="s2", payload={"command": "make", "exit_code": 2})
    assert _ingest(api, [reply, turn, prompt]).status_code == 201
    fields = (
        *("event_id", "session_id", "event_key", "kind", "text", "occurred_at", "agent"),
        *("prompt_text", "reply_text", "in_reply_to", "tool", "options"),
    )

    def rows() -> list[tuple]:
        return list(RawMemory.objects.filter(user=user).order_by("event_key").values_list(*fields))

    at_ingest = rows()
    RawMemory.objects.filter(user=user).delete()
    api.post(reverse("memories:sync"))
    assert rows() == at_ingest
    assert [row[3] for row in at_ingest].count("agent_prompt") == 1
    (structure,) = [row[-2:] for row in at_ingest if row[3] == "agent_prompt"]
    assert structure == ({"name": "add_file", "input": {"path": "app.py"}}, ["yes", "no", "all"])


def test_a_duplicate_ingest_creates_no_second_raw_row(api, user):
    note = event("note", payload={"text": "prefer pnpm"})
    _ingest(api, [note])
    assert _ingest(api, [note]).status_code == 200
    assert RawMemory.objects.filter(user=user).count() == 1


def test_a_rejected_batch_leaves_no_raw_row(api, user):
    bad = event("note", payload={"text": "fine"}) | {"kind": "nonsense"}
    response = _ingest(api, [event("note"), bad])
    assert response.status_code == 400
    assert RawMemory.objects.filter(user=user).count() == 0


def test_ingest_keeps_each_persons_rows_apart(api, user, other_user):
    dialogue(other_user, "Deploy now?", "no")
    _ingest(api, [event("note", payload={"text": "mine"})])
    assert list(RawMemory.objects.filter(user=user).values_list("text", flat=True)) == [
        'Noted: "mine"'
    ]


# --- In-process promotion (no broker) -------------------------------------------------------


def test_without_a_broker_ingest_promotes_in_process_after_commit(
    api, user, automatic, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _ingest(
            api,
            [
                event("terminal_turn", payload={"command": "pytest -x", "exit_code": 0}),
                event("note", payload={"text": "prefer pnpm over npm"}),
            ],
        )
    assert response.status_code == 201
    assert EpisodicMemory.objects.filter(user=user).count() == 1
    assert not RawMemory.objects.filter(user=user, episode__isnull=True).exists()
    assert not EpisodicMemory.objects.filter(user=user, distilled_at__isnull=True).exists()
    status = api.get(reverse("memories:status")).json()
    assert status["runner"] == "in_process"
    assert status["last_promotion_at"] is not None
    assert status["raw_rows_pending"] == 0
    assert status["episodes_pending"] == 0
    assert status["next_run_at"] is None


def test_with_automatic_promotion_off_ingest_only_records(
    api, user, settings, django_capture_on_commit_callbacks
):
    settings.CLONE_PROMOTE_AUTOMATICALLY = False
    with django_capture_on_commit_callbacks(execute=True):
        _ingest(api, [event("note")])
    assert not EpisodicMemory.objects.filter(user=user).exists()
    status = api.get(reverse("memories:status")).json()
    assert status["automatic"] is False
    assert status["raw_rows_pending"] == 1
    assert status["last_sync_at"] is not None


def test_in_process_promotion_failure_is_recorded_and_not_raised(
    api, user, automatic, fake_anthropic, django_capture_on_commit_callbacks
):
    fake_anthropic.respond_with(lambda request: error_reply(401, error_type="authentication_error"))
    with django_capture_on_commit_callbacks(execute=True):
        response = _ingest(api, [event("note")])
    assert response.status_code == 201
    status = api.get(reverse("memories:status")).json()
    assert status["last_error"]["code"] == "llm_auth_failed"
    assert status["held_until"] is not None
    assert RawMemory.objects.filter(user=user).count() == 1


_FIRST_RUN_SCRIPT = """
import json
from django.contrib.auth.models import User
from rest_framework.test import APIClient
client = APIClient(SERVER_NAME="localhost")
client.force_authenticate(User.objects.create_user("first-run"))
events = [
    {"id": f"e{i}", "session_id": "s", "kind": "note", "occurred_at": f"2026-12-01T10:0{i}:00Z",
     "payload": {"text": f"note {i}"}}
    for i in range(3)
]
ingest = client.post("/api/recording/events/", events, format="json")
status = client.get("/api/memory/status/").json()
episodes = client.get("/api/memory/episodes/").json()["count"]
print(json.dumps({"ingest": ingest.status_code, "status": status, "episodes": episodes}))
"""


def test_a_first_run_on_sqlite_promotes_after_ingest_without_a_worker(tmp_path, settings):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CLONE_", "ANTHROPIC_", "DATABASE_URL"))
    }
    env |= {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "DJANGO_DEBUG": "1"}
    manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput"], env=env, check=True, capture_output=True)
    shell = subprocess.run(
        [*manage, "shell", "-c", _FIRST_RUN_SCRIPT],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(shell.stdout.strip().splitlines()[-1])
    assert result["ingest"] == 201
    assert result["episodes"] == 1
    assert result["status"]["runner"] == "in_process"
    assert result["status"]["automatic"] is True
    assert result["status"]["raw_rows_pending"] == 0
    assert result["status"]["episodes_pending"] == 0
    assert result["status"]["last_promotion_at"] is not None


# --- Debounced scheduling ---------------------------------------------------------------------


def test_many_ingests_queue_one_task_for_the_person(
    api, user, queued, django_capture_on_commit_callbacks
):
    for _ in range(5):
        with django_capture_on_commit_callbacks(execute=True):
            _ingest(api, [event("note")])
    assert len(queued) == 1
    (task,) = queued
    upkeep_row = MemoryUpkeep.objects.get(user=user)
    assert task["token"] == str(upkeep_row.task_token)
    # Under CLONE_PROMOTE_AFTER_EVENTS rows: after a quiet spell since the first sync.
    assert task["at"] > timezone.now() + timedelta(seconds=50)


def test_a_backlog_past_the_threshold_brings_the_queued_task_forward(
    api, user, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _ingest(api, [event("note")])
    with django_capture_on_commit_callbacks(execute=True):
        _ingest(api, [event("note") for _ in range(10)])
    assert len(queued) == 2
    first, second = queued
    assert second["at"] <= timezone.now()
    # The first task, when it runs, is superseded: it does nothing.
    assert upkeep.promotion_step(user_id=user.pk, token=first["token"]).outcome is (
        StepOutcome.SUPERSEDED
    )
    assert not EpisodicMemory.objects.filter(user=user).exists()


def test_another_persons_ingest_queues_their_own_task(
    api, user, other_user, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _ingest(api, [event("note")])
        dialogue(other_user, "Run it?", "yes")
    assert sorted(t["user_id"] for t in queued) == sorted([user.pk, other_user.pk])


def test_a_task_woken_before_the_quiet_spell_waits_again(
    api, user, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _ingest(api, [event("note")])
    step = upkeep.promotion_step(user_id=user.pk, token=queued[0]["token"])
    assert step.outcome is StepOutcome.NOT_DUE
    assert step.next_at > timezone.now() + timedelta(seconds=50)
    assert not EpisodicMemory.objects.filter(user=user).exists()


def test_a_due_step_promotes_and_then_releases_the_person(
    api, user, queued, settings, django_capture_on_commit_callbacks
):
    settings.CLONE_PROMOTE_IDLE_SECONDS = 0
    with django_capture_on_commit_callbacks(execute=True):
        _ingest(api, [event("note"), event("terminal_turn")])
    token = queued[0]["token"]
    step = upkeep.promotion_step(user_id=user.pk, token=token)
    # Episodes, then (none left to make) facts, in one step.
    assert (step.outcome, step.episodes) == (StepOutcome.DONE, 1)
    assert not EpisodicMemory.objects.filter(user=user, distilled_at__isnull=True).exists()
    assert MemoryUpkeep.objects.get(user=user).task_token is None
    # Running it again (a redelivered task) creates nothing twice.
    episodes = EpisodicMemory.objects.filter(user=user).count()
    facts = SemanticMemory.objects.filter(user=user).count()
    assert upkeep.promotion_step(user_id=user.pk, token=token).outcome is StepOutcome.SUPERSEDED
    assert EpisodicMemory.objects.filter(user=user).count() == episodes
    assert SemanticMemory.objects.filter(user=user).count() == facts


def test_steps_are_bounded_and_continue_while_work_remains(
    api, user, queued, settings, django_capture_on_commit_callbacks
):
    settings.CLONE_PROMOTE_IDLE_SECONDS = 0
    settings.CLONE_MEMORY_PROMOTE_MAX_ROWS = 3
    with django_capture_on_commit_callbacks(execute=True):
        _ingest(api, [event("note", occurred_at=BASE_TIME + timedelta(hours=i)) for i in range(7)])
    token = queued[0]["token"]
    outcomes = []
    for _ in range(10):
        step = upkeep.promotion_step(user_id=user.pk, token=token)
        outcomes.append(step.outcome)
        if step.outcome is StepOutcome.DONE:
            break
    assert outcomes == [StepOutcome.MORE, StepOutcome.MORE, StepOutcome.DONE]
    assert not RawMemory.objects.filter(user=user, episode__isnull=True).exists()


def test_rows_that_arrive_during_a_step_keep_the_person_scheduled(
    api, user, queued, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.CLONE_PROMOTE_IDLE_SECONDS = 0
    with django_capture_on_commit_callbacks(execute=True):
        _ingest(api, [event("note")])
    token = queued[0]["token"]
    real_promote = upkeep.episodes_promote

    def promote_while_another_event_arrives(**kwargs):
        result = real_promote(**kwargs)
        with django_capture_on_commit_callbacks(execute=True):
            _ingest(api, [event("note")])
        return result

    monkeypatch.setattr(upkeep, "episodes_promote", promote_while_another_event_arrives)
    step = upkeep.promotion_step(user_id=user.pk, token=token)
    assert step.outcome in {StepOutcome.MORE, StepOutcome.NOT_DUE}
    assert len(queued) == 1  # the ingest saw the running task and queued nothing more
    assert MemoryUpkeep.objects.get(user=user).task_token is not None


def test_an_unreachable_broker_never_fails_the_ingest_and_the_next_ingest_queues_again(
    api, user, queued, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(**kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(upkeep, "_enqueue", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        response = _ingest(api, [event("note")])
    assert response.status_code == 201
    assert RawMemory.objects.filter(user=user).count() == 1
    assert MemoryUpkeep.objects.get(user=user).task_token is None
    monkeypatch.setattr(upkeep, "_enqueue", lambda **kwargs: queued.append(kwargs))
    with django_capture_on_commit_callbacks(execute=True):
        _ingest(api, [event("note")])
    assert len(queued) == 1


def test_a_lost_task_is_replaced_by_the_next_ingest(
    api, user, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _ingest(api, [event("note")])
    MemoryUpkeep.objects.filter(user=user).update(
        scheduled_for=timezone.now() - upkeep.STALE_AFTER - timedelta(minutes=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        _ingest(api, [event("note")])
    assert len(queued) == 2
    assert queued[1]["token"] != queued[0]["token"]


def test_another_worker_holding_the_persons_lock_makes_the_step_stand_aside(
    api, user, queued, settings, django_capture_on_commit_callbacks
):
    settings.CLONE_PROMOTE_IDLE_SECONDS = 0
    with django_capture_on_commit_callbacks(execute=True):
        _ingest(api, [event("note")])
    key = upkeep._LOCK_NAMESPACE | user.pk
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [key])
        step = upkeep.promotion_step(user_id=user.pk, token=queued[0]["token"])
        assert step.outcome is StepOutcome.BUSY
        assert not EpisodicMemory.objects.filter(user=user).exists()
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
    finally:
        other.close()
    assert upkeep.promotion_step(user_id=user.pk, token=queued[0]["token"]).episodes == 1


# --- Failures ---------------------------------------------------------------------------------


def test_retry_delays_grow_with_jitter_are_capped_and_honour_retry_after(settings):
    settings.CLONE_PROMOTE_RETRY_BASE_S = 10
    settings.CLONE_PROMOTE_RETRY_MAX_S = 100
    firsts = {upkeep.retry_delay(failures=1) for _ in range(50)}
    assert all(5 <= d <= 10 for d in firsts) and len(firsts) > 1
    assert all(20 <= upkeep.retry_delay(failures=3) <= 40 for _ in range(20))
    assert all(50 <= upkeep.retry_delay(failures=30) <= 100 for _ in range(20))
    assert upkeep.retry_delay(failures=1, retry_after=42) == 42


def test_a_failure_is_recorded_and_a_final_one_holds_new_tasks(
    api, user, queued, settings, django_capture_on_commit_callbacks
):
    settings.CLONE_PROMOTE_HOLD_AFTER_ERROR_S = 600
    with django_capture_on_commit_callbacks(execute=True):
        _ingest(api, [event("note")])
    token = queued[0]["token"]
    upkeep.promotion_failed(
        user_id=user.pk, token=token, error=llm.LLMRateLimited(retry_after=7), retry_in=7
    )
    status = api.get(reverse("memories:status")).json()
    assert status["last_error"]["code"] == "llm_rate_limited"
    assert status["next_run_at"] is not None
    upkeep.promotion_failed(user_id=user.pk, token=token, error=llm.LLMAuthFailed(), retry_in=None)
    status = api.get(reverse("memories:status")).json()
    assert status["last_error"]["code"] == "llm_auth_failed"
    assert status["next_run_at"] is None
    with django_capture_on_commit_callbacks(execute=True):
        _ingest(api, [event("note")])
    assert queued[-1]["at"] >= timezone.now() + timedelta(seconds=590)


# --- The status endpoint ----------------------------------------------------------------------


def test_status_of_a_person_who_recorded_nothing(api):
    status = api.get(reverse("memories:status"))
    assert status.status_code == 200
    assert status.json() == {
        "automatic": False,
        "runner": "in_process",
        "last_sync_at": None,
        "last_promotion_at": None,
        "raw_rows_pending": 0,
        "episodes_pending": 0,
        "running": False,
        "next_run_at": None,
        "held_until": None,
        "last_error": None,
    }


def test_status_requires_authentication(anon_client):
    response = anon_client.get(reverse("memories:status"))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_status_refuses_other_methods(api):
    response = api.post(reverse("memories:status"), {}, format="json")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_status_shows_only_the_persons_own_state(api, user, other_user):
    dialogue(other_user, "Deploy?", "no")
    MemoryUpkeep.objects.create(user=other_user, last_error_code="llm_auth_failed")
    status = api.get(reverse("memories:status")).json()
    assert status["raw_rows_pending"] == 0
    assert status["last_error"] is None


def test_the_admin_lists_memory_upkeep_per_person(admin_client, user):
    MemoryUpkeep.objects.create(user=user, last_error_code="llm_timeout")
    response = admin_client.get(reverse("admin:memories_memoryupkeep_changelist"))
    assert response.status_code == 200
    assert b"llm_timeout" in response.content
    upkeep_row = MemoryUpkeep.objects.get(user=user)
    detail = admin_client.get(reverse("admin:memories_memoryupkeep_change", args=[upkeep_row.pk]))
    assert detail.status_code == 200
    assert b"raw rows not yet in an episode" in detail.content.lower()
