"""The refresh token as an HttpOnly cookie for the browser app, and sign-out."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from clone_server.accounts.refresh_cookie import COOKIE_NAME
from tests.helpers import assert_api_error

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # tests/conftest.py make_user's default
COOKIE = {"HTTP_X_CLONE_TOKEN_TRANSPORT": "cookie"}


def _obtain(client: APIClient, **headers):
    return client.post(
        reverse("accounts:token"),
        {"username": "alice", "password": PASSWORD},
        format="json",
        **headers,
    )


def _works(access: str) -> bool:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client.get(reverse("recording:sessions")).status_code == 200


def test_token_sets_an_httponly_strict_cookie_scoped_to_the_refresh_path(user):
    response = _obtain(APIClient())
    assert response.status_code == 200
    cookie = response.cookies[COOKIE_NAME]
    assert cookie.value == response.json()["refresh"]  # the body form stays for other clients
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == reverse("accounts:token-refresh")
    assert not cookie["secure"]  # plain HTTP here
    assert int(cookie["max-age"]) == 7 * 24 * 3600


def test_cookie_is_secure_over_https(user):
    response = _obtain(APIClient(), secure=True)
    assert response.cookies[COOKIE_NAME]["secure"] is True


def test_cookie_transport_keeps_the_refresh_token_out_of_the_body(user):
    response = _obtain(APIClient(), **COOKIE)
    assert set(response.json()) == {"access"}
    assert response.cookies[COOKIE_NAME].value


def test_refresh_from_the_cookie_rotates_it(user):
    client = APIClient()
    first = _obtain(client, **COOKIE).cookies[COOKIE_NAME].value

    response = client.post(reverse("accounts:token-refresh"), {}, format="json", **COOKIE)

    assert response.status_code == 200, response.content
    assert set(response.json()) == {"access"}
    assert _works(response.json()["access"])
    rotated = response.cookies[COOKIE_NAME].value
    assert rotated and rotated != first
    # The old one was blacklisted by the rotation.
    replay = APIClient()
    replay.cookies[COOKIE_NAME] = first
    stale = replay.post(reverse("accounts:token-refresh"), {}, format="json", **COOKIE)
    assert stale.status_code == 401


def test_the_cookie_is_not_read_without_the_transport_header(user):
    client = APIClient()
    _obtain(client, **COOKIE)
    response = client.post(reverse("accounts:token-refresh"), {}, format="json")
    assert_api_error(response, 400, "invalid_request")


def test_refresh_without_cookie_or_body_is_a_400(user):
    response = APIClient().post(reverse("accounts:token-refresh"), {}, format="json", **COOKIE)
    assert response.status_code == 400


def test_sign_out_blacklists_the_cookie_and_clears_it(user):
    client = APIClient()
    _obtain(client, **COOKIE)

    response = client.post(reverse("accounts:token-revoke"), {}, format="json", **COOKIE)

    assert response.status_code == 204
    assert response.cookies[COOKIE_NAME].value == ""
    assert response.cookies[COOKIE_NAME]["path"] == reverse("accounts:token-refresh")
    # The token that cookie held no longer refreshes.
    stale = client.post(reverse("accounts:token-refresh"), {}, format="json", **COOKIE)
    assert stale.status_code in (400, 401)


def test_sign_out_with_a_body_token_blacklists_it(user):
    refresh = _obtain(APIClient()).json()["refresh"]
    response = APIClient().post(
        reverse("accounts:token-revoke"), {"refresh": refresh}, format="json"
    )
    assert response.status_code == 204
    again = APIClient().post(reverse("accounts:token-refresh"), {"refresh": refresh}, format="json")
    assert again.status_code == 401


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 400, "invalid_request"),
        ({"refresh": ""}, 400, "invalid_request"),
        ({"refresh": 12}, 400, "invalid_request"),
        ({"refresh": "not-a-token"}, 401, "token_not_valid"),
    ],
    ids=["missing", "empty", "not-a-string", "garbage"],
)
def test_sign_out_with_bad_input_is_a_clear_error(body, status, code):
    response = APIClient().post(reverse("accounts:token-revoke"), body, format="json")
    assert_api_error(response, status, code)


def test_an_access_token_cannot_sign_out(user):
    access = _obtain(APIClient()).json()["access"]
    response = APIClient().post(
        reverse("accounts:token-revoke"), {"refresh": access}, format="json"
    )
    assert response.status_code == 401


def test_access_tokens_name_the_user_also_after_a_refresh(user):
    import jwt

    client = APIClient()
    first = _obtain(client, **COOKIE).json()["access"]
    again = client.post(reverse("accounts:token-refresh"), {}, format="json", **COOKIE).json()
    for token in (first, again["access"]):
        assert jwt.decode(token, options={"verify_signature": False})["username"] == "alice"
