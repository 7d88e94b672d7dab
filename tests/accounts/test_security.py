"""Credentials: a database dump reveals no usable key or token; keys are compared in constant
time, revocable and expiring; refresh tokens rotate and the old one stops working."""

import importlib
import inspect
from datetime import timedelta
from unittest import mock

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken as LibraryRefreshToken

from clone_server.accounts import services
from clone_server.accounts.models import ApiKey
from clone_server.accounts.services import api_key_authenticate, api_key_create
from clone_server.accounts.tokens import RefreshToken
from tests.helpers import assert_api_error, keyed_client

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # tests/conftest.py make_user's default


def _bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _obtain(username: str = "alice") -> dict:
    response = APIClient().post(
        reverse("accounts:token"), {"username": username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def _refresh(token: str):
    return APIClient().post(reverse("accounts:token-refresh"), {"refresh": token}, format="json")


def _sessions(client: APIClient):
    return client.get(reverse("recording:sessions"))


def database_dump() -> str:
    """Every row of every table in the database as text, like ``pg_dump --data-only``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT quote_ident(table_name) FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        )
        tables = [row[0] for row in cursor.fetchall()]
        assert len(tables) >= 15, tables  # the dump really covers the schema
        rows = []
        for table in tables:
            # SQL built as a string: table names come from information_schema, not from input.
            cursor.execute(f"SELECT row_to_json(t)::text FROM {table} t")  # noqa: S608
            rows.extend(row[0] for row in cursor.fetchall())
    return "\n".join(rows)


def _secret_parts(credential: str) -> list[str]:
    """The credential and its secret part: a JWT's signature, or an API key's random tail."""
    # An API key is clone_<lookup>_<random>, and the random part may itself contain "_".
    tail = credential.rsplit(".", 1)[-1] if "." in credential else credential.split("_", 2)[-1]
    return [credential, tail]


# --- At rest --------------------------------------------------------------------------------------


def test_a_database_dump_reveals_no_api_key_or_refresh_token(user):
    pair = _obtain()
    created = (
        _bearer(pair["access"])
        .post(reverse("accounts:api-keys"), {"name": "laptop"}, format="json")
        .json()
    )
    # The key is used and the refresh token rotated (blacklisting the old one), so every table
    # authentication writes to has been written.
    assert _sessions(keyed_client(created["key"])).status_code == 200
    rotated = _refresh(pair["refresh"]).json()

    dump = database_dump()
    assert created["prefix"] in dump  # the key's row is in the dump
    for secret in [created["key"], pair["refresh"], rotated["refresh"], rotated["access"]]:
        for part in _secret_parts(secret):
            assert part not in dump


def test_the_stored_hash_is_not_a_usable_key(user):
    issued = api_key_create(user=user, name="laptop")
    stored = ApiKey.objects.get(pk=issued.api_key.pk).hashed_key
    prefix = issued.api_key.prefix
    for candidate in [stored, f"clone_{prefix}_{stored}", f"clone_{prefix}_"]:
        response = _sessions(keyed_client(candidate))
        assert_api_error(response, 401, "authentication_failed")


# --- Compared in constant time ---------------------------------------------------------------------


def test_the_key_is_compared_in_constant_time(user):
    issued = api_key_create(user=user, name="laptop")
    stored = ApiKey.objects.get(pk=issued.api_key.pk).hashed_key
    with mock.patch.object(
        services, "constant_time_compare", wraps=services.constant_time_compare
    ) as compare:
        assert _sessions(keyed_client(issued.key)).status_code == 200
        compare.assert_called_once_with(stored, services._hash(issued.key))

        # A wrong secret behind a real prefix is still compared, in constant time, and refused.
        compare.reset_mock()
        forged = issued.key[:-4] + ("AAAA" if not issued.key.endswith("AAAA") else "BBBB")
        assert _sessions(keyed_client(forged)).status_code == 401
        compare.assert_called_once_with(stored, services._hash(forged))


def test_no_plain_equality_decides_a_key():
    """The only comparison of a stored hash goes through ``constant_time_compare``."""
    source = inspect.getsource(services.api_key_authenticate)
    assert "constant_time_compare(api_key.hashed_key" in source
    assert "hashed_key ==" not in source and "== api_key.hashed_key" not in source


# --- Revocable and expiring --------------------------------------------------------------------


def test_a_revoked_key_stops_working_at_once(user, client_for):
    issued = api_key_create(user=user, name="laptop")
    client = keyed_client(issued.key)
    assert _sessions(client).status_code == 200
    manager = client_for(user, "jwt")
    url = reverse("accounts:api-key-detail", kwargs={"key_id": issued.api_key.pk})
    assert manager.delete(url).status_code == 204
    assert _sessions(client).status_code == 401
    assert api_key_authenticate(key=issued.key) is None


def test_a_key_can_revoke_itself(user):
    issued = api_key_create(user=user, name="laptop")
    client = keyed_client(issued.key)
    url = reverse("accounts:api-key-detail", kwargs={"key_id": issued.api_key.pk})
    assert client.delete(url).status_code == 204
    assert _sessions(client).status_code == 401


def test_a_key_works_until_it_expires_and_not_after(user):
    issued = api_key_create(
        user=user, name="laptop", expires_at=timezone.now() + timedelta(minutes=5)
    )
    client = keyed_client(issued.key)
    assert _sessions(client).status_code == 200
    later = timezone.now() + timedelta(minutes=5, seconds=1)
    with mock.patch("django.utils.timezone.now", return_value=later):
        response = _sessions(client)
    assert_api_error(response, 401, "authentication_failed")


# --- JWT refresh rotation ---------------------------------------------------------------------------


def test_a_refresh_token_works_once_then_is_blacklisted(user):
    first = _obtain()["refresh"]
    second = _refresh(first)
    assert second.status_code == 200
    replay = _refresh(first)
    assert_api_error(replay, 401, "authentication_failed")
    # The chain goes on with the newest token only.
    third = _refresh(second.json()["refresh"])
    assert third.status_code == 200
    assert _refresh(second.json()["refresh"]).status_code == 401
    assert _sessions(_bearer(third.json()["access"])).status_code == 200


def test_refresh_token_of_a_deactivated_user_is_refused(user):
    refresh = _obtain()["refresh"]
    user.is_active = False
    user.save()
    assert _refresh(refresh).status_code == 401


def test_refresh_token_of_a_deleted_user_is_401_not_500(user):
    pair = _obtain()
    user.delete()
    response = _refresh(pair["refresh"])
    assert_api_error(response, 401, "authentication_failed")
    assert _sessions(_bearer(pair["access"])).status_code == 401


def test_a_refresh_record_keeps_what_revocation_needs_and_no_token(user):
    pair = _obtain()
    record = OutstandingToken.objects.get(user=user)
    assert record.token == ""
    assert record.jti == RefreshToken(pair["refresh"])["jti"]
    assert record.expires_at > timezone.now()
    _refresh(pair["refresh"])
    assert BlacklistedToken.objects.filter(token=record).exists()
    assert not OutstandingToken.objects.exclude(token="").exists()


def test_the_migration_redacts_tokens_stored_before(user):
    migration = importlib.import_module(
        "clone_server.accounts.migrations.0002_redact_stored_refresh_tokens"
    )
    LibraryRefreshToken.for_user(user)  # the library's own record keeps the whole token
    assert OutstandingToken.objects.exclude(token="").exists()
    migration.redact(django_apps, None)
    assert not OutstandingToken.objects.exclude(token="").exists()
