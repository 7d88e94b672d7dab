"""Every Recording endpoint accepts both schemes and refuses anonymous callers with 401."""

import pytest
from django.urls import reverse

from recording.services import event_ingest
from tests.factories import event
from tests.helpers import assert_api_error

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    ("post", "recording:events", [], 201),
    ("get", "recording:sessions", [], 200),
    ("get", "recording:session-events", ["s-auth"], 200),
    ("get", "recording:schema", [], 200),
]
IDS = [name.split(":")[1] for _, name, _, _ in ENDPOINTS]


@pytest.mark.parametrize(("method", "name", "args", "expected"), ENDPOINTS, ids=IDS)
def test_every_recording_endpoint_accepts_both_auth_schemes(
    api, user, method, name, args, expected
):
    event_ingest(user=user, events=[event("note", session_id="s-auth")])
    body = [event("note")] if method == "post" else None
    response = getattr(api, method)(reverse(name, args=args), body, format="json")
    assert response.status_code == expected, response.content[:300]


@pytest.mark.parametrize(("method", "name", "args", "expected"), ENDPOINTS, ids=IDS)
def test_every_recording_endpoint_refuses_anonymous_callers_with_401(
    anon_client, method, name, args, expected
):
    response = getattr(anon_client, method)(reverse(name, args=args))
    assert_api_error(response, 401, "not_authenticated")
    assert response.has_header("WWW-Authenticate")


def test_event_schema_endpoint_serves_the_canonical_schema(api):
    body = api.get(reverse("recording:schema")).json()
    assert body["title"] == "CloneEvent"
    assert body["$schema"] == "https://json-schema.org/draft/2020-12/schema"
