"""Property: whatever is posted to ingest, the answer is 2xx or a 4xx in the error shape, never a
500, and a rejected request stores nothing. Inputs are valid events with parts replaced by
arbitrary JSON (deep enough to reach the per-kind payload rules), and arbitrary JSON text."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recording.models import Event, EventKind
from tests.factories import event
from tests.helpers import api_error
from tests.recording.helpers import ingest_raw

pytestmark = pytest.mark.django_db

_text = st.text(st.characters(codec="utf-8") | st.sampled_from(["\x00", "\ud800", "\n"]))
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_text, children, max_size=4),
    max_leaves=12,
)
_fields = ["id", "session_id", "kind", "occurred_at", "source", "payload", "extra"]


@st.composite
def _mutated_event(draw):
    sent = event(draw(st.sampled_from(EventKind.values)))
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.booleans()):
            sent[draw(st.sampled_from(_fields))] = draw(_json)
        elif isinstance(sent.get("payload"), dict):
            key = draw(st.sampled_from([*sent["payload"], "text", "data", "exit_code"]))
            sent["payload"][key] = draw(_json)
    return sent


_FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)


def _check(response, before: int) -> None:
    assert response.status_code < 500, response.content[:500]
    if response.status_code >= 400:
        api_error(response)
        assert Event.objects.count() == before


@_FUZZ
@given(batch=st.lists(_mutated_event(), min_size=1, max_size=3))
def test_mutated_events_never_cause_a_server_error(user, client_for, batch):
    client = client_for(user, "jwt")
    before = Event.objects.count()
    # ensure_ascii keeps lone surrogates as \\ud800 escapes: raw JSON text, as a client sends it.
    _check(ingest_raw(client, json.dumps(batch)), before)


@_FUZZ
@given(body=st.binary(max_size=200) | _json.map(json.dumps).map(str.encode))
def test_arbitrary_bodies_never_cause_a_server_error(user, client_for, body):
    client = client_for(user, "jwt")
    before = Event.objects.count()
    _check(ingest_raw(client, body), before)
