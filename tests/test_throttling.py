"""Per-user scoped throttles: 429 with Retry-After, per user, per scope, shared across workers."""

import json
import os
import subprocess
import sys
import uuid

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from recording.models import Event
from tests.factories import event
from tests.helpers import assert_api_error

pytestmark = pytest.mark.django_db

REDIS_URL = os.environ.get("CLONE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def rates(settings):
    """Set tiny per-day rates (a day-long window: no test straddles a window boundary)."""

    def set_rates(**per_day: int) -> None:
        defaults = {"ingest": 1000, "predict": 1000, "promote": 1000}
        settings.REST_FRAMEWORK = {
            **django_settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {
                scope: f"{n}/day" for scope, n in {**defaults, **per_day}.items()
            },
        }

    return set_rates


def _ingest(client):
    return client.post(reverse("recording:events"), event("note"), format="json")


def _promote(client):
    return client.post(reverse("memories:promote-episodes"), {}, format="json")


def test_exceeding_the_rate_gives_429_with_retry_after_and_the_error_shape(rates, api):
    rates(ingest=2)
    assert [_ingest(api).status_code for _ in range(2)] == [201, 201]

    response = _ingest(api)

    assert_api_error(response, 429, "throttled")
    assert set(response.json()) == {"error"}
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 86_400
    assert Event.objects.count() == 2  # the throttled request stored nothing


def test_the_limit_is_per_user_so_another_user_is_unaffected(rates, user, other_user, client_for):
    rates(ingest=1)
    alice, bob = client_for(user, "jwt"), client_for(other_user, "jwt")
    assert _ingest(alice).status_code == 201
    assert _ingest(alice).status_code == 429

    assert _ingest(bob).status_code == 201


def test_the_limit_counts_the_user_across_both_auth_schemes(rates, user, client_for):
    # Keyed on the user, not the credential or the address: a second key buys no extra quota.
    rates(ingest=2)
    assert _ingest(client_for(user, "jwt")).status_code == 201
    assert _ingest(client_for(user, "api_key")).status_code == 201

    assert _ingest(client_for(user, "api_key")).status_code == 429


def test_each_scope_has_its_own_count(rates, user, client_for):
    rates(ingest=1, promote=1)
    client = client_for(user, "jwt")
    assert _ingest(client).status_code == 201
    assert _ingest(client).status_code == 429

    assert _promote(client).status_code == 200
    assert _promote(client).status_code == 429
    # Endpoints without a scope are not throttled at all.
    assert client.get(reverse("recording:sessions")).status_code == 200


def test_predict_and_batch_share_the_predict_scope(rates, user, client_for, settings):
    settings.CLONE_LLM_PROVIDER = "local"
    rates(predict=1)
    client = client_for(user, "jwt")
    body = {"agent": "claude-code", "agent_input": "Run the tests?"}
    assert client.post(reverse("predictions:predict"), body, format="json").status_code == 201

    batch = client.post(reverse("predictions:batch"), {"items": [body]}, format="json")

    assert_api_error(batch, 429, "throttled")


def test_rates_come_from_settings(rates, user, client_for):
    rates(ingest=3)
    client = client_for(user, "jwt")
    codes = [_ingest(client).status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]


def test_an_unreachable_throttle_cache_allows_the_request(rates, api, settings):
    # A throttle outage must not become an API outage: fail open (and log).
    rates(ingest=1)
    settings.CACHES = {
        **django_settings.CACHES,
        "throttle": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        },
    }
    assert [_ingest(api).status_code for _ in range(2)] == [201, 201]


# --- Shared across workers: real Redis ---------------------------------------------------------

_OTHER_WORKER = """
import json, sys
import django
django.setup()
from types import SimpleNamespace
from clone_server.throttling import UserScopedRateThrottle

user = SimpleNamespace(pk=int(sys.argv[1]), is_authenticated=True)
request = SimpleNamespace(user=user, META={})
view = SimpleNamespace(throttle_scope="ingest")
print(json.dumps([UserScopedRateThrottle().allow_request(request, view) for _ in range(3)]))
"""


def _redis_or_skip():
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"Redis is not reachable at {REDIS_URL} (make services starts it)")
    return client


def test_two_workers_on_redis_share_one_count(rates, user, client_for, settings):
    redis_client = _redis_or_skip()
    prefix = f"test-{uuid.uuid4().hex}"
    settings.CACHES = {
        **django_settings.CACHES,
        "throttle": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": prefix,
        },
    }
    rates(ingest=5)
    # The "other worker" is a separate process with its own settings, cache client and
    # connections, pointed at the same Redis; it spends 3 of the user's 5 requests.
    env = {
        **os.environ,
        "CLONE_THROTTLE_CACHE_URL": f"{REDIS_URL}?key_prefix={prefix}",
        "CLONE_THROTTLE_INGEST": "5/day",
        "DJANGO_SETTINGS_MODULE": "clone_server.settings",
        "DJANGO_SECRET_KEY": "test-only-not-a-secret",
    }
    try:
        other = subprocess.run(
            [sys.executable, "-c", _OTHER_WORKER, str(user.pk)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
            cwd=django_settings.BASE_DIR,
        )
        assert json.loads(other.stdout.strip().splitlines()[-1]) == [True, True, True]

        client = client_for(user, "jwt")
        codes = [_ingest(client).status_code for _ in range(3)]

        assert codes == [201, 201, 429]
    finally:
        for key in redis_client.scan_iter(f"{prefix}:*"):
            redis_client.delete(key)
