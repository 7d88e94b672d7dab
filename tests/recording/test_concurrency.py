"""Retries racing: concurrent posts of the same ids on real Postgres transactions."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from clone_server.accounts.services import api_key_create
from recording.models import Event, RecordingSession
from tests.factories import event
from tests.recording.helpers import ingest


def _race(user, batches: list[list[dict]]) -> list[tuple[int, dict]]:
    """POST each batch from its own thread (own DB connection), all released at once."""
    key = api_key_create(user=user, name="race").key
    barrier = threading.Barrier(len(batches))
    results: list[tuple[int, dict] | None] = [None] * len(batches)
    failures: list[BaseException] = []

    def post(slot: int, batch: list[dict]) -> None:
        try:
            client = APIClient(raise_request_exception=False)
            client.credentials(HTTP_X_CLONE_API_KEY=key)
            barrier.wait(timeout=30)
            response = ingest(client, batch)
            results[slot] = (response.status_code, response.json())
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(i, b)) for i, b in enumerate(batches)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    assert all(result is not None for result in results)
    return results


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("threads", [2, 8], ids=["2-threads", "8-threads"])
def test_concurrent_posts_of_the_same_batch_store_each_event_exactly_once(user, threads):
    batch = [event("note", session_id=f"s{i % 3}") for i in range(200)]
    ids = {e["id"] for e in batch}

    results = _race(user, [batch] * threads)

    assert all(status in (200, 201) for status, _ in results), results
    created = [body["created"] for _, body in results]
    all_created = [event_id for chunk in created for event_id in chunk]
    assert sorted(all_created) == sorted(ids)  # a partition: every id created exactly once
    for (status, body), chunk in zip(results, created, strict=True):
        assert set(chunk) | set(body["duplicates"]) == ids
        assert status == (201 if chunk else 200)
    assert Event.objects.filter(user=user).count() == len(ids)
    counts = RecordingSession.objects.filter(user=user).values_list("event_count", flat=True)
    assert sum(counts) == len(ids)


@pytest.mark.django_db(transaction=True)
def test_concurrent_overlapping_batches_across_shared_sessions_never_fail(user):
    # Different but overlapping id sets, over sessions shared in different orders: no deadlock.
    pool = [event("note", session_id=f"s{i % 4}") for i in range(120)]
    batches = [pool[i * 15 : i * 15 + 60] for i in range(5)] + [pool[::-1]]

    results = _race(user, batches)

    assert all(status in (200, 201) for status, _ in results), results
    all_created = [event_id for _, body in results for event_id in body["created"]]
    assert sorted(all_created) == sorted(e["id"] for e in pool)
    assert Event.objects.filter(user=user).count() == len(pool)
    counts = dict(
        RecordingSession.objects.filter(user=user).values_list("external_id", "event_count")
    )
    assert counts == {f"s{i}": 30 for i in range(4)}
