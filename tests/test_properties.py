"""Property tests for the event schema and the ingest path.

Any JSON value (or any bytes) posted to the ingest endpoint is either stored (201/200) or refused
with a 4xx in the error shape, never a 500, and a refusal stores nothing. Valid events, generated
from the schema's own rules, round-trip exactly: the payload is identical and ``occurred_at`` is
the same instant.
"""

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from recording.models import Event
from tests.factories import event
from tests.helpers import api_error, assert_api_error

pytestmark = pytest.mark.django_db

PROPERTY_SETTINGS = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    # No shrinking: it can take minutes in CI; the failing example is printed as found.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

EVENTS = "recording:events"


@pytest.fixture
def client(user, client_for, unthrottled):
    # Hundreds of posts by one user: not what the throttle tests are about.
    return client_for(user, "jwt")


def _post_raw(client, body: bytes | str, content_type: str = "application/json"):
    return client.post(reverse(EVENTS), data=body, content_type=content_type)


def _assert_stored_or_cleanly_refused(response, stored_before: int) -> None:
    assert response.status_code < 500, response.content[:300]
    if response.status_code in (200, 201):
        return
    assert 400 <= response.status_code < 500
    api_error(response)
    assert Event.objects.count() == stored_before  # a refusal stores nothing


# --- Strategies ---------------------------------------------------------------------------------

# Text Postgres can store: no NUL, no lone surrogates.
storable_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=40,
)
any_text = st.text(max_size=40)  # NUL and lone surrogates included

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | any_text
)
any_json = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(any_text, children, max_size=5)
    ),
    max_leaves=25,
)
storable_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | storable_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(storable_text, children, max_size=4)
    ),
    max_leaves=20,
)

identifier = st.from_regex(r"\A[A-Za-z0-9._:-]{1,60}\Z")
name = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=200,
)
nonblank = storable_text.filter(bool)


@st.composite
def occurred_at(draw) -> str:
    """RFC 3339 with every allowed offset form: Z, z, +hh:mm, -hh:mm; T or t; micro-seconds."""
    moment = draw(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(9998, 12, 31)))
    minutes = draw(st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59))
    text = moment.isoformat(timespec=draw(st.sampled_from(["seconds", "microseconds"])))
    if draw(st.booleans()):
        text = text.replace("T", "t")
    if minutes == 0 and draw(st.booleans()):
        return text + draw(st.sampled_from(["Z", "z"]))
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{text}{sign}{hours:02d}:{mins:02d}"


def _with_extra(required: st.SearchStrategy) -> st.SearchStrategy:
    # Payloads allow fields beyond the documented ones; they must come back untouched.
    extra = st.dictionaries(
        storable_text.filter(lambda k: k not in _KNOWN), storable_json, max_size=3
    )
    return st.tuples(required, extra).map(lambda pair: {**pair[1], **pair[0]})


_KNOWN = {
    "agent", "text", "in_reply_to", "command", "output", "exit_code", "cwd", "app",
    "window_title", "integration", "event", "data",
}  # fmt: skip

PAYLOADS = {
    "agent_prompt": st.fixed_dictionaries({"agent": name, "text": nonblank}),
    "user_reply": st.fixed_dictionaries({"text": storable_text, "in_reply_to": identifier}),
    "terminal_turn": st.fixed_dictionaries(
        {"command": nonblank},
        optional={
            "output": storable_text,
            "exit_code": st.integers(min_value=-(2**31), max_value=2**31 - 1),
            "cwd": storable_text,
        },
    ),
    "desktop_frame": st.fixed_dictionaries(
        {"app": name}, optional={"window_title": storable_text, "text": storable_text}
    ),
    "integration_webhook": st.fixed_dictionaries(
        {
            "integration": name,
            "event": name,
            "data": st.dictionaries(storable_text, storable_json, max_size=4),
        }
    ),
    "note": st.fixed_dictionaries({"text": nonblank}),
}


@st.composite
def valid_event(draw) -> dict:
    kind = draw(st.sampled_from(sorted(PAYLOADS)))
    produced = {
        "id": draw(identifier),
        "kind": kind,
        "occurred_at": draw(occurred_at()),
        "payload": draw(_with_extra(PAYLOADS[kind])),
    }
    if draw(st.booleans()):
        produced["source"] = draw(name.filter(lambda s: len(s) <= 64))
    return produced


# --- Properties ---------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(value=any_json)
def test_any_json_value_is_stored_or_refused_with_the_error_shape(client, value):
    stored_before = Event.objects.count()
    response = _post_raw(client, json.dumps(value))
    _assert_stored_or_cleanly_refused(response, stored_before)


@st.composite
def mutated_event(draw) -> object:
    """A valid event with one field (top-level or in the payload) replaced by any JSON value,
    or removed, or with a field added: the near misses a buggy client sends."""
    produced = draw(valid_event())
    target = produced if draw(st.booleans()) else produced["payload"]
    key = draw(st.sampled_from([*sorted(target), "unexpected"]))
    action = draw(st.sampled_from(["replace", "remove"]))
    if action == "remove":
        target.pop(key, None)
    else:
        target[key] = draw(any_json)
    return produced


@PROPERTY_SETTINGS
@given(value=mutated_event(), batch=st.booleans())
def test_near_miss_events_are_stored_or_refused_with_the_error_shape(client, value, batch):
    stored_before = Event.objects.count()
    response = _post_raw(client, json.dumps([value] if batch else value))
    _assert_stored_or_cleanly_refused(response, stored_before)


@PROPERTY_SETTINGS
@given(body=st.binary(max_size=200))
def test_any_bytes_are_stored_or_refused_with_the_error_shape(client, body):
    stored_before = Event.objects.count()
    response = _post_raw(client, body)
    _assert_stored_or_cleanly_refused(response, stored_before)


@PROPERTY_SETTINGS
@given(events=st.lists(valid_event(), min_size=1, max_size=5, unique_by=lambda e: e["id"]))
def test_valid_events_round_trip_exactly(client, events):
    # Fresh ids and session per example: examples share one database transaction.
    session = f"prop-{uuid.uuid4().hex}"
    for produced in events:
        produced["id"] = f"{uuid.uuid4().hex}.{produced['id']}"
        produced["session_id"] = session

    response = _post_raw(client, json.dumps(events))

    assert response.status_code == 201, response.content[:500]
    assert sorted(response.json()["created"]) == sorted(e["id"] for e in events)
    listed = _as_json_numbers(
        client.get(reverse("recording:session-events", args=[session]), {"page_size": 500}).content
    )["results"]
    stored = {e["id"]: e for e in listed}
    assert set(stored) == {e["id"] for e in events}
    for produced in events:
        back = stored[produced["id"]]
        assert back["payload"] == _as_json_numbers(json.dumps(produced["payload"]))
        assert _instant(back["occurred_at"]) == _instant(produced["occurred_at"])
        assert back["kind"] == produced["kind"]
        assert back["source"] == produced.get("source", "")


def _as_json_numbers(text: str | bytes) -> Any:
    """JSON with every number as a Decimal: the same JSON number compares equal however it is
    written. Postgres writes numbers without an exponent (1.5e+308 comes back as 15 and 307
    zeros, which Python would read as an int); the number itself is unchanged."""
    return json.loads(text, parse_float=Decimal, parse_int=Decimal)


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.upper()).astimezone(UTC)


# --- Hostile inputs, one by one ----------------------------------------------------------------


def _nested(depth: int) -> object:
    value: object = "bottom"
    for _ in range(depth):
        value = {"d": value}
    return value


HOSTILE = {
    "payload-nested-past-the-depth-limit": (
        lambda: event("note", payload={"text": "x", "deep": _nested(40)}),
        400,
    ),
    "text-over-100000-characters": (lambda: event("note", payload={"text": "x" * 100_001}), 400),
    "nul-in-payload-text": (lambda: event("note", payload={"text": "a\x00b"}), 400),
    "nul-in-payload-key": (lambda: event("note", payload={"text": "a", "k\x00": 1}), 400),
    "nul-in-id": (lambda: event("note", id="ev\x00-1"), 400),
    "date-without-offset": (lambda: event("note", occurred_at="2026-11-20T09:00:00"), 400),
    "date-month-13": (lambda: event("note", occurred_at="2026-13-20T09:00:00Z"), 400),
    "date-february-30": (lambda: event("note", occurred_at="2026-02-30T09:00:00Z"), 400),
    "date-leap-second": (lambda: event("note", occurred_at="2026-12-31T23:59:60Z"), 400),
    "date-year-zero": (lambda: event("note", occurred_at="0000-01-01T00:00:00Z"), 400),
    "date-before-year-one-in-utc": (
        lambda: event("note", occurred_at="0001-01-01T00:00:00+01:00"),
        400,
    ),
    "date-after-9999-in-utc": (lambda: event("note", occurred_at="9999-12-31T23:30:00-01:00"), 400),
    "date-as-a-number": (lambda: {**event("note"), "occurred_at": 1732093200}, 400),
    "date-prose": (lambda: event("note", occurred_at="yesterday at noon"), 400),
    "date-offset-out-of-range": (
        lambda: event("note", occurred_at="2026-11-20T09:00:00+24:00"),
        400,
    ),
    "exit-code-beyond-int32": (
        lambda: event("terminal_turn", payload={"command": "ls", "exit_code": 2**31}),
        400,
    ),
    "huge-integer-in-payload": (lambda: event("note", payload={"text": "a", "n": 10**400}), 201),
    "huge-float-in-payload": (lambda: event("note", payload={"text": "a", "n": 1.5e308}), 201),
    "id-over-128-characters": (lambda: event("note", id="a" * 129), 400),
}


@pytest.mark.parametrize(("build", "status"), HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_event_is_refused_cleanly_or_stored_exactly(client, build, status):
    produced = build()
    response = _post_raw(client, json.dumps(produced))

    assert response.status_code == status, response.content[:300]
    if status == 400:
        assert response.json()["error"]["code"] in ("invalid_event", "malformed_json")
        assert not Event.objects.exists()
    else:
        stored = Event.objects.get(event_id=produced["id"])
        assert _as_json_numbers(json.dumps(stored.payload)) == _as_json_numbers(
            json.dumps(produced["payload"])
        )


def test_huge_string_under_the_body_limit_is_stored_exactly(client, settings):
    blob = "é" * 1_000_000  # 2 MB of UTF-8 in a field the schema does not bound
    produced = event("note", payload={"text": "a", "attachment": blob})

    response = _post_raw(client, json.dumps(produced, ensure_ascii=False).encode())

    assert response.status_code == 201
    assert Event.objects.get(event_id=produced["id"]).payload["attachment"] == blob


def test_body_over_the_limit_is_413_before_it_is_parsed(client, settings):
    settings.CLONE_MAX_BODY_BYTES = 10_000
    produced = event("note", payload={"text": "x" * 20_000})

    response = _post_raw(client, json.dumps(produced))

    assert_api_error(response, 413, "payload_too_large")
    assert not Event.objects.exists()


def test_invalid_utf8_anywhere_in_the_body_is_400(client):
    body = json.dumps(event("note", payload={"text": "PLACEHOLDER"})).encode()
    response = _post_raw(client, body.replace(b"PLACEHOLDER", b"caf\xc3(\xa9\xff"))

    assert_api_error(response, 400, "malformed_json")
    assert not Event.objects.exists()


def test_documented_limits_are_settings(settings):
    # The limits named in the README are plain settings, so a deployment can change them.
    assert settings.CLONE_MAX_BODY_BYTES == 5 * 1024 * 1024
    assert settings.CLONE_MAX_JSON_DEPTH == 32
    assert settings.CLONE_MAX_EVENTS_PER_REQUEST == 1000
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == settings.CLONE_MAX_BODY_BYTES
