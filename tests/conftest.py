import ipaddress
import socket

import pytest
from django.conf import settings as django_settings
from django.test import override_settings
from rest_framework.test import APIClient

from clone_server.accounts.services import api_key_create

pytest_plugins = ["tests.fakes.anthropic"]

_real_connect = socket.socket.connect


def _loopback_only_connect(sock, address):
    """No test reaches the network: only loopback and unix sockets may be dialled."""
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        try:
            allowed = ipaddress.ip_address(host).is_loopback
        except ValueError:
            allowed = host == "localhost"
        if not allowed:
            raise RuntimeError(f"Tests may not reach the network (tried {address!r}).")
    return _real_connect(sock, address)


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing():
    # Django's production hasher costs ~0.5 s per user here; tests create hundreds of users.
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def _no_thin_evidence_rule(settings):
    """Tests of other features predict for fresh users and expect the threshold alone to decide;
    tests of the thin-evidence rule and the audit sample (tests/predictions/test_confidence.py,
    the evaluation's) set these back to the production defaults themselves."""
    settings.CLONE_MIN_LABELS_FOR_AUTO = 0
    settings.CLONE_AUDIT_RATE = 0.0


@pytest.fixture(autouse=True)
def _no_automatic_promotion(settings):
    """Tests of other features create episodes and facts when they choose to; the tests of
    background promotion (tests/memories/test_upkeep.py, test_worker.py) turn it on."""
    settings.CLONE_PROMOTE_AUTOMATICALLY = False


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    monkeypatch.setattr(socket.socket, "connect", _loopback_only_connect)


@pytest.fixture(autouse=True)
def _no_llm_key(settings):
    """Tests choose their LLM explicitly; nothing leaks in from the developer's environment."""
    settings.ANTHROPIC_API_KEY = ""
    settings.ANTHROPIC_BASE_URL = ""


@pytest.fixture(autouse=True)
def _fresh_throttle_counters(settings, request):
    """Each test counts in its own in-memory throttle cache: no counts carry over between tests,
    and a Redis named in the developer's environment is never written to (or flushed)."""
    settings.CACHES = {
        **django_settings.CACHES,
        "throttle": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"throttle-{request.node.nodeid}",
        },
    }


@pytest.fixture
def unthrottled(settings):
    """For tests that flood on purpose to test something else (the throttles have their own)."""
    settings.REST_FRAMEWORK = {
        **django_settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            scope: None for scope in django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
        },
    }


@pytest.fixture
def make_user(django_user_model):
    counter = iter(range(1, 10_000))

    def make(username: str | None = None, password: str = "correct-horse-battery"):
        name = username or f"user{next(counter)}"
        return django_user_model.objects.create_user(username=name, password=password)

    return make


@pytest.fixture
def user(make_user):
    return make_user("alice")


@pytest.fixture
def other_user(make_user):
    return make_user("bob")


@pytest.fixture
def anon_client():
    return APIClient()


def _client_for(user, scheme: str) -> APIClient:
    client = APIClient()
    if scheme == "jwt":
        from clone_server.accounts.tokens import RefreshToken

        client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    else:
        issued = api_key_create(user=user, name="test")
        client.credentials(HTTP_X_CLONE_API_KEY=issued.key)
    return client


@pytest.fixture(params=["jwt", "api_key"])
def api(request, user) -> APIClient:
    """An authenticated client for ``user``, once per auth scheme."""
    return _client_for(user, request.param)


@pytest.fixture
def client_for():
    return _client_for
