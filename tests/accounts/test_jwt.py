"""JWT: obtain, refresh with rotation and blacklisting, and every way a bearer token can fail."""

from datetime import timedelta

import jwt
import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from tests.helpers import assert_api_error

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # tests/conftest.py make_user's default


def _obtain(username: str, password: str):
    return APIClient().post(
        reverse("accounts:token"), {"username": username, "password": password}, format="json"
    )


def _refresh(refresh: str):
    return APIClient().post(reverse("accounts:token-refresh"), {"refresh": refresh}, format="json")


def _bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _assert_401(response, code: str) -> None:
    assert_api_error(response, 401, code)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_token_pair_for_good_credentials_and_the_access_token_works(user):
    response = _obtain("alice", PASSWORD)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh"}
    assert _bearer(body["access"]).get(reverse("recording:sessions")).status_code == 200


def test_access_token_lives_sixty_minutes(user):
    access = AccessToken(_obtain("alice", PASSWORD).json()["access"])
    assert access["exp"] - access["iat"] == 60 * 60


@pytest.mark.parametrize(
    ("username", "password"),
    [("alice", "wrong-password"), ("nobody", PASSWORD), ("ALICE", PASSWORD)],
    ids=["bad-password", "unknown-user", "wrong-case-username"],
)
def test_bad_credentials_are_401_json(user, username, password):
    response = _obtain(username, password)
    _assert_401(response, "authentication_failed")


def test_inactive_user_cannot_obtain_a_token(user):
    user.is_active = False
    user.save()
    _assert_401(_obtain("alice", PASSWORD), "authentication_failed")


@pytest.mark.parametrize(
    "body", [{}, {"username": "alice"}, {"password": PASSWORD}], ids=["empty", "no-pw", "no-user"]
)
def test_missing_login_fields_are_400_naming_the_fields(user, body):
    response = APIClient().post(reverse("accounts:token"), body, format="json")
    error = assert_api_error(response, 400, "invalid_request")
    assert {d["field"] for d in error["details"]} == {"username", "password"} - set(body)


def test_refresh_gives_a_new_access_and_rotates_the_refresh_token(user):
    pair = _obtain("alice", PASSWORD).json()
    response = _refresh(pair["refresh"])
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh"}
    assert body["refresh"] != pair["refresh"]
    assert _bearer(body["access"]).get(reverse("recording:sessions")).status_code == 200
    # The rotated-out refresh token is blacklisted; the new one keeps working.
    _assert_401(_refresh(pair["refresh"]), "authentication_failed")
    assert _refresh(body["refresh"]).status_code == 200


@pytest.mark.parametrize(
    "token_of",
    [
        lambda user: "garbage",
        lambda user: str(RefreshToken.for_user(user).access_token),
        lambda user: jwt.encode({"token_type": "refresh", "user_id": user.pk}, "other-key"),
    ],
    ids=["garbage", "access-token-as-refresh", "foreign-signature"],
)
def test_unusable_refresh_token_is_401(user, token_of):
    _assert_401(_refresh(token_of(user)), "authentication_failed")


def test_missing_credentials_are_401_not_authenticated_with_challenge(anon_client):
    _assert_401(anon_client.get(reverse("recording:sessions")), "not_authenticated")


def _expired_access(user) -> str:
    token = AccessToken.for_user(user)
    token.set_exp(from_time=timezone.now() - timedelta(hours=2), lifetime=timedelta(minutes=60))
    return str(token)


@pytest.mark.parametrize(
    "header_of",
    [
        lambda user: "Bearer garbage",
        lambda user: "Bearer ",
        lambda user: f"Bearer {_expired_access(user)}",
        lambda user: f"Bearer {RefreshToken.for_user(user)}",
        lambda user: (
            "Bearer "
            + jwt.encode({"token_type": "access", "user_id": user.pk, "jti": "x"}, "other-key")
        ),
    ],
    ids=["garbage", "empty", "expired", "refresh-as-access", "foreign-signature"],
)
def test_bad_bearer_token_is_401_with_error_shape_and_challenge(user, header_of):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header_of(user))
    _assert_401(client.get(reverse("recording:sessions")), "authentication_failed")


def test_token_of_a_deactivated_user_is_401(user):
    access = str(RefreshToken.for_user(user).access_token)
    user.is_active = False
    user.save()
    _assert_401(_bearer(access).get(reverse("recording:sessions")), "authentication_failed")


def test_unknown_authorization_scheme_is_401(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic YWxpY2U6cHc=")
    _assert_401(client.get(reverse("recording:sessions")), "not_authenticated")
