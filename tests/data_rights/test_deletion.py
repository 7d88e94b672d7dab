"""Account data deletion (``data_rights/deletion.py``): nothing of the caller's is left behind,
nobody else's is touched."""

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
from data_rights import deletion
from data_rights.deletion import KEPT, KEYS_LABEL, account_data_delete
from recording.models import Event, RecordingSession
from recording.services import event_ingest
from tests.factories import event
from tests.helpers import assert_api_error, keyed_client
from tests.world import snapshot

pytestmark = pytest.mark.django_db


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
    client = keyed_client(alice.api_key)
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
    client = keyed_client(alice.api_key)
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
    error = assert_api_error(response, 400, "invalid_request")
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


def test_delete_needs_authentication(anon_client):
    assert anon_client.delete(reverse("account:data")).status_code == 401
