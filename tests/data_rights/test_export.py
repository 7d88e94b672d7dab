"""Account export (``data_rights/export.py``): everything of the caller's, and no secret."""

import json
import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from clone_server.accounts.models import ApiKey
from clone_server.owned_rows import user_owned_models
from data_rights import export
from data_rights.export import NOT_EXPORTED
from memories.models import SemanticMemory
from recording.services import event_ingest
from tests.factories import event
from tests.helpers import keyed_client

pytestmark = pytest.mark.django_db


def _export(client: APIClient) -> tuple[object, dict]:
    response = client.get(reverse("account:export"))
    assert response.status_code == 200, response.content
    assert response.streaming
    raw = b"".join(response.streaming_content)
    return response, json.loads(raw)


def test_export_holds_every_tier_of_the_callers_data_and_nothing_of_anyone_else(api, user, worlds):
    alice, _ = worlds
    response, body = _export(api)
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith('attachment; filename="clone-export-')
    assert body["format"] == "clone-export/1"
    assert body["user"]["username"] == "alice"
    assert body["user"]["date_joined"]
    assert "password" not in body["user"]

    assert [s["external_id"] for s in body["sessions"]] == [alice.session_id]
    assert {e["event_id"] for e in body["events"]} == set(alice.event_ids)
    assert {e["session_external_id"] for e in body["events"]} == {alice.session_id}
    note = next(e for e in body["events"] if e["kind"] == "note")
    assert note["payload"] == {"text": "ALICEMARK keeps secrets in the vault"}

    memory = body["memory"]
    assert memory["profile"]["body"] == "ALICEMARK is a careful engineer."
    assert memory["profile"]["calibration"] == {"a": 1.5, "b": -0.25, "n": 7}
    facts = {f["id"]: f for f in memory["facts"]}
    assert set(facts) == set(alice.fact_ids)
    stated, derived = alice.fact_ids
    assert facts[derived]["source_episode_ids"] == [alice.episode_id]
    assert facts[stated]["source_episode_ids"] == []
    assert [e["id"] for e in memory["episodes"]] == [alice.episode_id]
    assert len(memory["raw"]) == 3
    assert "search" not in memory["raw"][0]

    [prediction] = body["predictions"]
    assert prediction["id"] == alice.prediction_id
    assert prediction["outcome"] == "edited"
    assert prediction["actual_reply"] == "ALICEMARK later"
    assert prediction["raw_confidence"] == 0.9
    assert prediction["cited_facts"] == [derived]
    assert prediction["decay_applied"]
    assert prediction["tool"] == {"name": "Bash", "input": {"command": "make deploy-ALICEMARK"}}
    assert prediction["options"] == ["yes", "no"]
    assert (prediction["cwd"], prediction["context"]) == (
        "/srv/ALICEMARK",
        "ALICEMARK finished the release notes",
    )
    assert prediction["escalation_reason"] in {"", "below_threshold"}
    assert prediction["answered_by"] in {"clone", "person"}
    assert prediction["prompt_event_id"] is not None

    keys = {k["name"] for k in body["api_keys"]}
    assert "ALICEMARK laptop" in keys
    for key in body["api_keys"]:
        assert {"prefix", "created_at", "expires_at", "last_used_at", "revoked_at"} <= set(key)
        assert "hashed_key" not in key
    assert len(body["refresh_tokens"]) >= 2
    assert any(t["blacklisted_at"] for t in body["refresh_tokens"])

    text = json.dumps(body)
    assert "BOBMARK" not in text
    for row in body["events"] + memory["facts"] + body["predictions"]:
        assert "user_id" not in row


def test_export_never_contains_a_secret(user, worlds):
    alice, _ = worlds
    response = keyed_client(alice.api_key).get(reverse("account:export"))
    raw = b"".join(response.streaming_content).decode()
    hashed = ApiKey.objects.get(pk=alice.api_key_id).hashed_key
    assert alice.api_key not in raw
    assert hashed not in raw
    assert "hashed_key" not in raw
    assert alice.refresh not in raw and alice.used_refresh not in raw
    assert '"token"' not in raw


def test_export_of_a_new_account_is_valid_and_empty(api):
    _, body = _export(api)
    assert body["sessions"] == body["events"] == body["predictions"] == []
    assert body["memory"] == {"profile": None, "facts": [], "episodes": [], "raw": []}


def test_export_covers_every_user_owned_table(api, user, worlds):
    """A table added later with a user link lands in ``other``: nothing can be missed."""
    _, body = _export(api)
    named = {
        "recording.RecordingSession",
        "recording.Event",
        "memories.UserProfile",
        "memories.SemanticMemory",
        "memories.EpisodicMemory",
        "memories.RawMemory",
        "predictions.Prediction",
        "accounts.ApiKey",
        "token_blacklist.OutstandingToken",
    }
    labels = {m._meta.label for m in user_owned_models()}
    assert named <= labels
    assert set(body["other"]) == labels - named - set(NOT_EXPORTED)
    assert set(NOT_EXPORTED) == {"admin.LogEntry"}


def test_export_streams_in_bounded_chunks_with_constant_queries(api, user, worlds, monkeypatch):
    """Small chunks exercise every chunk boundary; the query count does not grow with rows."""
    monkeypatch.setattr(export, "CHUNK_SIZE", 2)
    monkeypatch.setattr(export, "_FLUSH_CHARS", 100)
    alice, _ = worlds
    event_ingest(user=user, events=[event("note", session_id="bulk") for _ in range(9)])
    response = api.get(reverse("account:export"))
    pieces = list(response.streaming_content)
    assert len(pieces) > 5  # written out piece by piece, not built whole
    body = json.loads(b"".join(pieces))
    assert len(body["events"]) == 12
    derived = alice.fact_ids[1]
    assert next(f for f in body["memory"]["facts"] if f["id"] == derived)["source_episode_ids"] == [
        alice.episode_id
    ]

    def queries_for_export() -> int:
        with CaptureQueriesContext(connection) as ctx:
            b"".join(api.get(reverse("account:export")).streaming_content)
        return len(ctx.captured_queries)

    monkeypatch.setattr(export, "CHUNK_SIZE", 1000)
    before = queries_for_export()
    event_ingest(user=user, events=[event("note", session_id="bulk2") for _ in range(50)])
    for n in range(20):
        SemanticMemory.objects.create(user=user, text=f"fact {n}")
    assert queries_for_export() == before


def test_export_needs_authentication(anon_client):
    assert anon_client.get(reverse("account:export")).status_code == 401


@pytest.mark.django_db(transaction=True)
def test_export_reads_one_snapshot_while_the_person_keeps_recording(user, monkeypatch):
    """An event stored while the export is streaming is not half in it: the export reads the
    database as it was when it started (REPEATABLE READ on Postgres)."""
    monkeypatch.setattr(export, "_FLUSH_CHARS", 1)
    event_ingest(user=user, events=[event("note", id="before", session_id="s")])
    pieces = export.account_export(user=user)
    seen = ""
    while '"events"' not in seen:  # the sessions were read: the snapshot is taken
        seen += next(pieces).decode()

    def record_more():
        try:
            event_ingest(user=user, events=[event("note", id="during", session_id="s")])
        finally:
            connection.close()

    worker = threading.Thread(target=record_more)
    worker.start()
    worker.join()
    body = json.loads(seen + b"".join(pieces).decode())
    assert [e["event_id"] for e in body["events"]] == ["before"]
    assert body["sessions"][0]["event_count"] == 1
    assert not connection.in_atomic_block  # the export's transaction ended with it
