"""Background promotion on a real Celery worker, with Redis on loopback as the broker.

The test process ingests through the API (the ingest queues the task on Redis after it commits);
workers started here (``celery -A clone_server worker``, one process each) promote through the
fake Messages API. Skipped, saying why, when Redis is not running.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse

from clone_server.celery import app as celery_app
from memories.models import EpisodicMemory, MemoryUpkeep, RawMemory, SemanticMemory
from tests.factories import BASE_TIME, event
from tests.fakes.anthropic import error_reply, tool_reply

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

BROKER_URL = os.environ.get("CLONE_TEST_BROKER_URL", "redis://127.0.0.1:6379/14")
IDLE_SECONDS = 0.5


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _wait_for(
    condition: Callable[[], bool],
    *,
    timeout: float = 30.0,
    what: str = "",
    logs: Callable[[], str] | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    shown = f"\n--- worker log ---\n{logs()[-4000:]}" if logs else ""
    raise AssertionError(f"timed out waiting for {what or condition.__name__}{shown}")


class Model:
    """The fake Messages API's answers for promotion: an episode per group, a fact per batch;
    counts how many promotion calls are in flight at once."""

    def __init__(self, fake) -> None:
        self.fake = fake
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0
        self.delay_s = 0.0
        fake.respond_with(self.answer)

    def answer(self, request: dict):
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            time.sleep(self.delay_s)
        finally:
            with self.lock:
                self.in_flight -= 1
        if request["tool_choice"]["name"] == "record_facts":
            shown = request["messages"][0]["content"].split("New episodes:\n", 1)[1]
            ids = [episode["id"] for episode in json.loads(shown)]
            fact = {
                "kind": "habit",
                "text": f"Works in episodes {ids}",
                "importance": 0.5,
                "tags": [],
                "source_episode_ids": ids,
            }
            return tool_reply({"new": [fact], "reinforce": []})
        return tool_reply({"title": "A session", "summary": "The person worked."})


@pytest.fixture
def broker(settings):
    """Queue on Redis (its own database number, emptied) instead of running in-process."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(BROKER_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"Redis is not running at {BROKER_URL}; the worker tests need it")
    client.flushdb()
    settings.CLONE_BROKER_URL = BROKER_URL
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CLONE_PROMOTE_AUTOMATICALLY = True
    settings.CLONE_PROMOTE_IDLE_SECONDS = IDLE_SECONDS
    settings.CLONE_PROMOTE_AFTER_EVENTS = 50
    saved = {key: celery_app.conf[key] for key in ("broker_url", "task_always_eager")}
    celery_app.conf.update(broker_url=BROKER_URL, task_always_eager=False)
    _forget_connections()
    try:
        yield client
    finally:
        celery_app.conf.update(saved)
        _forget_connections()
        client.flushdb()


def _forget_connections() -> None:
    """Drop pooled broker connections, so the next publish connects to the broker now set."""
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def api(user, client_for):
    """One auth scheme is enough here: these tests are about the worker."""
    return client_for(user, "api_key")


@pytest.fixture
def model(fake_anthropic) -> Model:
    return Model(fake_anthropic)


class Workers:
    def __init__(self, fake, logs: Path) -> None:
        self.fake = fake
        self.logs = logs
        self.started: list[subprocess.Popen] = []

    def start(self, **env: str) -> subprocess.Popen:
        name = f"w{len(self.started)}"
        log = (self.logs / f"{name}.log").open("w")
        worker = subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "clone_server", "worker"),
                *("--pool", "solo", "--without-heartbeat", "--without-gossip"),
                *("--without-mingle", "-n", f"{name}@%h", "--loglevel", "INFO"),
            ],
            cwd=settings.BASE_DIR,
            env={
                **os.environ,
                "DATABASE_URL": _database_url(),
                "DJANGO_SECRET_KEY": "test-only-not-a-secret",
                "CLONE_BROKER_URL": BROKER_URL,
                "CLONE_LLM_PROVIDER": "anthropic",
                "ANTHROPIC_API_KEY": "sk-test",
                "ANTHROPIC_BASE_URL": self.fake.base_url,
                # Failures reach the task (its retries are under test), not the SDK's.
                "CLONE_LLM_MAX_RETRIES": "0",
                "CLONE_LLM_MAX_RETRY_WAIT_S": "0",
                "CLONE_PROMOTE_IDLE_SECONDS": str(IDLE_SECONDS),
                "CLONE_PROMOTE_AFTER_EVENTS": "50",
                "CLONE_PROMOTE_RETRY_BASE_S": "0.2",
                "CLONE_PROMOTE_RETRY_MAX_S": "1",
                **env,
            },
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started.append(worker)
        return worker

    def log(self, worker: subprocess.Popen) -> str:
        return (self.logs / f"w{self.started.index(worker)}.log").read_text()

    def all_logs(self) -> str:
        return "\n".join(map(self.log, self.started))

    def kill(self, worker: subprocess.Popen) -> None:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()

    def stop_all(self) -> None:
        for worker in self.started:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
                try:
                    worker.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    self.kill(worker)


@pytest.fixture
def workers(broker, fake_anthropic, tmp_path) -> Iterator[Workers]:
    started = Workers(fake_anthropic, tmp_path)
    try:
        yield started
    finally:
        started.stop_all()


def _ingest(api, events) -> None:
    response = api.post(reverse("recording:events"), events, format="json")
    assert response.status_code == 201, response.content


def _session(name: str, count: int, *, start=BASE_TIME) -> list[dict]:
    return [
        event(
            "terminal_turn",
            session_id=name,
            occurred_at=start + timedelta(seconds=i),
            payload={"command": f"make step-{i}", "exit_code": 0},
        )
        for i in range(count)
    ]


def _promoted(user) -> bool:
    upkeep = MemoryUpkeep.objects.filter(user=user).first()
    return (
        upkeep is not None
        and upkeep.task_token is None
        and not RawMemory.objects.filter(user=user, episode__isnull=True).exists()
        and not EpisodicMemory.objects.filter(user=user, distilled_at__isnull=True).exists()
    )


def _one_home_per_row(user) -> None:
    """Every raw row in exactly one episode; every episode distilled once into one fact."""
    assert not RawMemory.objects.filter(user=user, episode__isnull=True).exists()
    episodes = EpisodicMemory.objects.filter(user=user)
    facts = SemanticMemory.objects.filter(user=user)
    sources = [e.pk for fact in facts for e in fact.source_episodes.all()]
    assert sorted(sources) == sorted(episodes.values_list("pk", flat=True))


def test_ingest_alone_brings_episodes_and_facts(api, user, workers, model):
    workers.start()
    _ingest(api, _session("a", 5) + _session("b", 3, start=BASE_TIME + timedelta(days=1)))
    _wait_for(lambda: _promoted(user), what="promotion by the worker", logs=workers.all_logs)
    assert EpisodicMemory.objects.filter(user=user).count() == 2
    _one_home_per_row(user)
    status = api.get(reverse("memories:status")).json()
    assert status["runner"] == "worker"
    assert status["last_promotion_at"] is not None
    assert (status["raw_rows_pending"], status["episodes_pending"]) == (0, 0)
    assert status["next_run_at"] is None


def test_a_hundred_ingests_run_one_task_at_a_time_for_the_person(api, user, workers, model):
    model.delay_s = 0.05
    workers.start()
    workers.start()
    for i in range(100):
        _ingest(api, [event("note", session_id="s", payload={"text": f"note {i}"})])
    _wait_for(
        lambda: _promoted(user),
        timeout=60,
        what="promotion of 100 ingests",
        logs=workers.all_logs,
    )
    _one_home_per_row(user)
    assert model.most_in_flight == 1  # two workers, never both on this person
    runs = sum(log.count("memory_promote[") for log in map(workers.log, workers.started))
    # Debounced: a handful of task runs (each logs received + succeeded), not one per ingest.
    assert runs < 2 * 20, runs


def test_a_rate_limit_is_retried_after_retry_after_then_succeeds(
    api, user, workers, model, fake_anthropic
):
    fake_anthropic.queue(
        error_reply(429, error_type="rate_limit_error", headers={"retry-after": "1"})
    )
    workers.start()
    _ingest(api, _session("a", 3))
    _wait_for(lambda: _promoted(user), what="promotion after the rate limit", logs=workers.all_logs)
    assert fake_anthropic.calls >= 2
    _one_home_per_row(user)
    status = api.get(reverse("memories:status")).json()
    assert status["last_error"]["code"] == "llm_rate_limited"
    upkeep = MemoryUpkeep.objects.get(user=user)
    assert upkeep.last_promoted_at > upkeep.last_error_at
    assert upkeep.last_promoted_at - upkeep.last_error_at >= timedelta(seconds=1)


def test_a_refused_key_is_not_retried_and_shows_in_the_status(api, user, workers, fake_anthropic):
    fake_anthropic.respond_with(lambda request: error_reply(401, error_type="authentication_error"))
    workers.start()
    _ingest(api, _session("a", 3))

    def failed() -> bool:
        return api.get(reverse("memories:status")).json()["last_error"] is not None

    _wait_for(failed, what="the failure in the status", logs=workers.all_logs)
    time.sleep(2.0)  # several retry delays: none may come
    assert fake_anthropic.calls == 1
    status = api.get(reverse("memories:status")).json()
    assert status["last_error"]["code"] == "llm_auth_failed"
    assert status["held_until"] is not None
    assert status["next_run_at"] is None
    assert status["raw_rows_pending"] == 3
    assert not EpisodicMemory.objects.filter(user=user).exists()


def test_a_worker_killed_mid_promotion_leaves_nothing_half_written(
    api, user, workers, model, fake_anthropic
):
    # A short visibility timeout, so the broker hands the unacknowledged task on quickly.
    visibility_s = 3
    env = {"CLONE_BROKER_VISIBILITY_TIMEOUT": str(visibility_s)}
    model.delay_s = 30.0
    first = workers.start(**env)
    _ingest(api, _session("a", 4) + _session("b", 4, start=BASE_TIME + timedelta(days=1)))
    _wait_for(lambda: model.in_flight == 1, what="a model call in flight")
    workers.kill(first)
    assert not EpisodicMemory.objects.filter(user=user).exists()
    assert RawMemory.objects.filter(user=user, episode__isnull=True).count() == 8
    model.delay_s = 0.0
    # A worker sweeps unacknowledged messages once as it starts, then only every 100 s (kombu's
    # restore interval x throttle): start it once the task has outlived its visibility timeout,
    # so that first sweep is the one that hands it on.
    time.sleep(visibility_s + 1)
    workers.start(**env)
    _wait_for(
        lambda: _promoted(user),
        timeout=60,
        what="the redelivered task",
        logs=workers.all_logs,
    )
    assert EpisodicMemory.objects.filter(user=user).count() == 2
    _one_home_per_row(user)
