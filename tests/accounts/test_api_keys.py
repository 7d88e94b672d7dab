"""API keys: shown once, stored hashed, listed without secrets, revocable, expirable."""

from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from clone_server.accounts.models import ApiKey
from clone_server.accounts.services import api_key_authenticate, api_key_create
from tests.helpers import assert_api_error, keyed_client

pytestmark = pytest.mark.django_db


def _create(client, **body):
    return client.post(reverse("accounts:api-keys"), {"name": "laptop", **body}, format="json")


def _assert_401(response) -> None:
    assert_api_error(response, 401, "authentication_failed")
    assert response.has_header("WWW-Authenticate")


def test_create_returns_the_key_once_with_the_documented_shape(api, user):
    response = _create(api)
    assert response.status_code == 201
    body = response.json()
    assert {"id", "name", "prefix", "key", "created_at"} <= set(body)
    assert set(body) <= {"id", "name", "prefix", "key", "created_at", "expires_at", "last_used_at"}
    assert body["name"] == "laptop"
    assert body["key"].startswith("clone_")
    assert body["key"].startswith(f"clone_{body['prefix']}_")
    assert len(body["key"]) >= 40
    assert ApiKey.objects.get(pk=body["id"]).user == user


def test_the_new_key_authenticates(api):
    key = _create(api).json()["key"]
    assert keyed_client(key).get(reverse("recording:sessions")).status_code == 200


def test_key_is_stored_hashed_never_in_plain_text(api):
    body = _create(api).json()
    # The secret is everything after the lookup prefix (it may itself contain "_" or "-").
    secret = body["key"].removeprefix(f"clone_{body['prefix']}_")
    assert len(secret) >= 40
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_apikey WHERE id = %s", [body["id"]])
        columns = [str(value) for value in cursor.fetchone()]
    # Twelve random URL-safe characters (72 bits) cannot turn up in a column by chance.
    fragments = {secret[i : i + 12] for i in range(len(secret) - 11)}
    for column in columns:
        assert body["key"] not in column
        assert not [fragment for fragment in fragments if fragment in column], column
    assert body["prefix"] in columns


def test_list_shows_the_callers_active_keys_without_secret_or_hash(api, user, other_user):
    mine = _create(api, name="mine").json()
    revoked = api_key_create(user=user, name="revoked").api_key
    revoked.revoked_at = timezone.now()
    revoked.save()
    api_key_create(user=other_user, name="theirs")

    response = api.get(reverse("accounts:api-keys"))
    assert response.status_code == 200
    names = [k["name"] for k in response.json()["results"]]
    assert "mine" in names
    assert "revoked" not in names
    assert "theirs" not in names
    assert mine["key"] not in response.content.decode()
    for listed in response.json()["results"]:
        assert not {"key", "hashed_key"} & set(listed)


def test_revoke_is_204_then_the_key_is_401(user):
    issued = api_key_create(user=user, name="doomed")
    client = keyed_client(issued.key)
    url = reverse("accounts:api-key-detail", args=[issued.api_key.pk])
    assert client.delete(url).status_code == 204
    _assert_401(client.get(reverse("recording:sessions")))
    assert ApiKey.objects.get(pk=issued.api_key.pk).revoked_at is not None


def test_revoking_twice_is_404(api, user):
    key_id = api_key_create(user=user, name="once").api_key.pk
    url = reverse("accounts:api-key-detail", args=[key_id])
    assert api.delete(url).status_code == 204
    response = api.delete(url)
    assert_api_error(response, 404, "not_found")


def test_revoking_another_users_key_is_404_and_leaves_it_working(api, other_user):
    theirs = api_key_create(user=other_user, name="theirs")
    response = api.delete(reverse("accounts:api-key-detail", args=[theirs.api_key.pk]))
    assert_api_error(response, 404, "not_found")
    assert keyed_client(theirs.key).get(reverse("recording:sessions")).status_code == 200


def test_revoking_an_unknown_key_is_404(api):
    assert api.delete(reverse("accounts:api-key-detail", args=[999_999])).status_code == 404


def test_expired_key_is_401(user):
    issued = api_key_create(user=user, name="old", expires_at=timezone.now() + timedelta(hours=1))
    ApiKey.objects.filter(pk=issued.api_key.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    _assert_401(keyed_client(issued.key).get(reverse("recording:sessions")))


def test_key_with_future_expiry_is_created_listed_and_works(api):
    expires = (timezone.now() + timedelta(days=30)).replace(microsecond=0)
    body = _create(api, expires_at=expires.isoformat()).json()
    assert body["expires_at"] is not None
    assert keyed_client(body["key"]).get(reverse("recording:sessions")).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": None}, "name"),
        ({"expires_at": "tomorrow"}, "expires_at"),
    ],
    ids=["empty-name", "name-too-long", "null-name", "bad-expiry"],
)
def test_bad_create_input_is_400_naming_the_field(api, body, field):
    response = _create(api, **body)
    error = assert_api_error(response, 400, "invalid_request")
    assert [d["field"] for d in error["details"]] == [field]


def test_missing_name_is_400(api):
    response = api.post(reverse("accounts:api-keys"), {}, format="json")
    error = assert_api_error(response, 400, "invalid_request")
    assert [d["field"] for d in error["details"]] == ["name"]


def test_expiry_in_the_past_is_400(api):
    response = _create(api, expires_at=(timezone.now() - timedelta(minutes=1)).isoformat())
    assert_api_error(response, 400, "invalid_request")


def test_last_used_at_is_recorded_and_written_at_most_once_a_minute(
    user, django_assert_num_queries
):
    issued = api_key_create(user=user, name="script")
    assert issued.api_key.last_used_at is None
    client = keyed_client(issued.key)
    client.get(reverse("recording:sessions"))
    first_use = ApiKey.objects.get(pk=issued.api_key.pk).last_used_at
    assert first_use is not None
    assert timezone.now() - first_use < timedelta(seconds=30)
    with django_assert_num_queries(2):  # key lookup, count of an empty list: no second write
        client.get(reverse("recording:sessions"))
    assert ApiKey.objects.get(pk=issued.api_key.pk).last_used_at == first_use


def test_last_used_at_is_refreshed_after_a_minute(user):
    issued = api_key_create(user=user, name="script")
    stale = timezone.now() - timedelta(minutes=5)
    ApiKey.objects.filter(pk=issued.api_key.pk).update(last_used_at=stale)
    keyed_client(issued.key).get(reverse("recording:sessions"))
    assert ApiKey.objects.get(pk=issued.api_key.pk).last_used_at > stale


@pytest.mark.parametrize(
    "key_of",
    [
        lambda issued: "nope",
        lambda issued: "clone_",
        lambda issued: "clone_abc",
        lambda issued: f"clone_{issued.api_key.prefix}_",
        lambda issued: f"clone_{issued.api_key.prefix}_wrong-secret",
        lambda issued: issued.key[:-1] + ("A" if issued.key[-1] != "A" else "B"),
        lambda issued: "clone_00000000_" + issued.key.rsplit("_", 1)[1],
    ],
    ids=[
        "no-prefix",
        "bare-prefix",
        "short",
        "no-secret",
        "wrong-secret",
        "one-char-off",
        "bad-id",
    ],
)
def test_malformed_or_wrong_key_is_401(user, key_of):
    issued = api_key_create(user=user, name="real")
    _assert_401(keyed_client(key_of(issued)).get(reverse("recording:sessions")))


def test_key_of_a_deactivated_user_is_401(user):
    issued = api_key_create(user=user, name="k")
    user.is_active = False
    user.save()
    _assert_401(keyed_client(issued.key).get(reverse("recording:sessions")))


def test_authenticate_service_strips_nothing_and_rejects_revoked_keys(user):
    issued = api_key_create(user=user, name="svc")
    assert api_key_authenticate(key=issued.key).pk == issued.api_key.pk
    ApiKey.objects.filter(pk=issued.api_key.pk).update(revoked_at=timezone.now())
    assert api_key_authenticate(key=issued.key) is None


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", reverse("accounts:api-keys")),
        ("post", reverse("accounts:api-keys")),
        ("delete", reverse("accounts:api-key-detail", args=[1])),
    ],
    ids=["list", "create", "revoke"],
)
def test_key_management_needs_authentication(anon_client, method, url):
    response = getattr(anon_client, method)(url)
    assert_api_error(response, 401, "not_authenticated")


def test_key_lists_are_a_constant_number_of_queries(api, user, django_assert_num_queries):
    for i in range(5):
        api_key_create(user=user, name=f"k{i}")
    api.get(reverse("accounts:api-keys"))
    with django_assert_num_queries(3):  # authentication, count, page
        api.get(reverse("accounts:api-keys"))


def test_a_colliding_lookup_prefix_is_drawn_again(user, monkeypatch):
    from clone_server.accounts import services

    taken = api_key_create(user=user, name="first").api_key.prefix
    draws = iter([taken, "0123abcd"])
    monkeypatch.setattr(services.secrets, "token_hex", lambda n: next(draws))
    issued = api_key_create(user=user, name="second")
    assert issued.api_key.prefix == "0123abcd"
    assert api_key_authenticate(key=issued.key).pk == issued.api_key.pk
