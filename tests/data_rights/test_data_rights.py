"""Data rights: the export holds everything and no secret; the delete leaves nothing behind."""

import json
import threading

import pytest
from django.apps import apps
from django.db import connection, models
from django.db.models import signals
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from clone_server import owned_rows
from clone_server.accounts.models import ApiKey
from clone_server.owned_rows import user_owned_models, user_rows
from data_rights import deletion, export
from data_rights.deletion import KEPT, KEYS_LABEL, account_data_delete
from data_rights.export import NOT_EXPORTED
from memories.models import SemanticMemory
from recording.models import Event, RecordingSession
from recording.services import event_ingest
from tests.factories import event
from tests.recording.helpers import error_of
from tests.world import build_world, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def worlds(user, other_user, fake_anthropic):
    # Foreign keys checked at each statement, not at a commit the test never reaches: a delete
    # that left a dangling reference fails here instead of passing unseen.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    return build_world(user, fake_anthropic, marker="ALICEMARK"), build_world(
        other_user, fake_anthropic, marker="BOBMARK"
    )


def _keyed(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_X_CLONE_API_KEY=key)
    return client


def _export(client: APIClient) -> tuple[object, dict]:
    response = client.get(reverse("account:export"))
    assert response.status_code == 200, response.content
    assert response.streaming
    raw = b"".join(response.streaming_content)
    return response, json.loads(raw)


# --- Export -------------------------------------------------------------------------------------


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
    response = _keyed(alice.api_key).get(reverse("account:export"))
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


# --- Delete -------------------------------------------------------------------------------------


def _referencing_rows(pks: dict[type[models.Model], set]) -> dict[str, int]:
    """Rows anywhere (auto-created tables included) whose foreign key points at one of ``pks``."""
    found: dict[str, int] = {}
    for model in apps.get_models(include_auto_created=True):
        for field in model._meta.concrete_fields:
            target = field.related_model if field.is_relation else None
            if pks.get(target):
                count = model._default_manager.filter(
                    **{f"{field.attname}__in": pks[target]}
                ).count()
                if count:
                    found[f"{model._meta.label}.{field.name}"] = count
    return found


def test_delete_leaves_nothing_of_the_caller_in_any_table_and_spares_others(
    api, user, other_user, worlds
):
    bob_before = snapshot(other_user)
    owned = user_owned_models()
    assert len(owned) >= 9  # discovery works: the known tables at least
    alice_pks = {m: set(user_rows(user=user, model=m).values_list("pk", flat=True)) for m in owned}
    assert all(alice_pks[m] for m in owned if m._meta.label not in KEPT)  # the world is full

    response = api.delete(reverse("account:data"))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["kept"] == sorted(
        label for label in {*KEPT, KEYS_LABEL} if label in {m._meta.label for m in owned}
    )
    assert body["deleted"]["recording.Event"] == 3
    assert body["deleted"]["memories.SemanticMemory"] == 2
    assert body["deleted"]["memories.SemanticMemory_source_episodes"] == 1
    assert body["deleted"]["predictions.Prediction"] == 1

    for model in owned:
        label = model._meta.label
        left = user_rows(user=user, model=model).count()
        if label in body["kept"]:
            continue
        assert left == 0, f"{label}: {left} rows of the caller left"
    deleted_pks = {m: p for m, p in alice_pks.items() if m._meta.label not in body["kept"]}
    assert _referencing_rows(deleted_pks) == {}
    assert snapshot(other_user) == bob_before


def test_kept_tables_are_only_credentials_and_audit():
    """Nothing hides in the kept list: it names account and credential tables only."""
    assert set(KEPT) | {KEYS_LABEL} == {
        "auth.User_groups",
        "auth.User_user_permissions",
        "admin.LogEntry",
        "token_blacklist.OutstandingToken",
        "accounts.ApiKey",
    }


@pytest.mark.parametrize("query", ["", "?include_keys=0", "?include_keys=false"])
def test_after_delete_the_account_and_keys_still_work_and_start_fresh(user, worlds, query):
    alice, _ = worlds
    client = _keyed(alice.api_key)
    assert client.delete(reverse("account:data") + query).status_code == 200
    assert client.get(reverse("recording:sessions")).json()["results"] == []
    # The same event ids are new again: nothing remembers them.
    again = client.post(
        reverse("recording:events"), event("note", id=alice.event_ids[2]), format="json"
    )
    assert again.status_code == 201
    refreshed = APIClient().post(
        reverse("accounts:token-refresh"), {"refresh": alice.refresh}, format="json"
    )
    assert refreshed.status_code == 200


def test_a_revoked_refresh_token_stays_revoked_after_delete(user, worlds):
    alice, _ = worlds
    account_data_delete(user=user, include_keys=True)
    response = APIClient().post(
        reverse("accounts:token-refresh"), {"refresh": alice.used_refresh}, format="json"
    )
    assert response.status_code == 401


@pytest.mark.parametrize("flag", ["1", "true"])
def test_include_keys_deletes_the_keys_too(user, worlds, flag):
    alice, _ = worlds
    client = _keyed(alice.api_key)
    response = client.delete(reverse("account:data") + f"?include_keys={flag}")
    assert response.status_code == 200
    assert response.json()["deleted"]["accounts.ApiKey"] == 1
    assert KEYS_LABEL not in response.json()["kept"]
    assert not ApiKey.objects.filter(user=user).exists()
    assert client.get(reverse("recording:sessions")).status_code == 401


@pytest.mark.parametrize(
    "query",
    [
        "include_keys=maybe",
        "include_keys=2",
        "include_keys=",
        "include_keys=on",
        "include_keys=1&include_keys=x",
    ],
    ids=["word", "number", "empty", "html-checkbox", "one-bad-of-two"],
)
def test_bad_include_keys_is_400_and_deletes_nothing(api, user, worlds, query):
    before = snapshot(user)
    response = api.delete(reverse("account:data") + f"?{query}")
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid_request"
    assert error["details"][0]["field"] == "include_keys"
    assert snapshot(user) == before


def test_delete_is_all_or_nothing(user, worlds, monkeypatch):
    before = snapshot(user)
    real = deletion.rows_delete

    def failing(queryset):
        if queryset.model._meta.label == "recording.Event":
            raise RuntimeError("disk full")
        return real(queryset)

    monkeypatch.setattr(deletion, "rows_delete", failing)
    with pytest.raises(RuntimeError):
        account_data_delete(user=user)
    assert snapshot(user) == before


def test_clone_tables_are_deleted_set_based_in_constant_queries(
    user, worlds, django_assert_max_num_queries
):
    """No row is loaded to delete it: the statements do not grow with the account."""
    assert all(owned_rows.set_based(m) for m in user_owned_models())
    event_ingest(user=user, events=[event("note", session_id=f"s{n % 7}") for n in range(300)])
    with CaptureQueriesContext(connection) as ctx:
        account_data_delete(user=user)
    assert len(ctx.captured_queries) <= 40
    assert not any(q["sql"].startswith("SELECT") for q in ctx.captured_queries[1:])


def test_cascades_are_followed_whatever_the_order_tables_are_deleted_in(
    user, other_user, worlds, monkeypatch
):
    """Sessions first: their events, raw rows and episode links go by cascade, as a table
    discovered later (in any order) would."""
    bob_before = snapshot(other_user)
    monkeypatch.setattr(
        deletion,
        "delete_order",
        lambda owned: sorted(owned, key=lambda m: m is not RecordingSession),
    )
    result = account_data_delete(user=user)
    assert result["deleted"]["recording.RecordingSession"] == 1
    assert result["deleted"]["recording.Event"] == 3
    assert result["deleted"]["memories.RawMemory"] == 3
    for model in user_owned_models():
        if model._meta.label not in result["kept"]:
            assert not user_rows(user=user, model=model).exists(), model
    assert snapshot(other_user) == bob_before


def test_a_table_with_delete_signals_goes_through_the_collector_in_batches(
    user, worlds, monkeypatch
):
    """Should a table ever get delete signals, they still fire, in bounded batches."""
    monkeypatch.setattr(owned_rows, "BATCH_SIZE", 2)
    event_ingest(user=user, events=[event("note", session_id=f"s{n % 3}") for n in range(7)])
    seen: list[str] = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance.event_id)

    signals.pre_delete.connect(receiver, sender=Event, weak=False)
    try:
        assert not owned_rows.set_based(Event)
        assert not owned_rows.set_based(RecordingSession)  # it cascades to events
        result = account_data_delete(user=user)
    finally:
        signals.pre_delete.disconnect(receiver, sender=Event)
    assert result["deleted"]["recording.Event"] == 10
    assert result["deleted"]["recording.RecordingSession"] == 4
    assert len(seen) == 10
    for model in user_owned_models():
        if model._meta.label not in result["kept"]:
            assert not user_rows(user=user, model=model).exists()


def test_account_endpoints_need_authentication(anon_client):
    assert anon_client.get(reverse("account:export")).status_code == 401
    assert anon_client.delete(reverse("account:data")).status_code == 401


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
