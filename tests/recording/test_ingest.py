"""POST /api/recording/events/: storage, limits, validation, atomicity and idempotency."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from recording.models import Event, RecordingSession
from tests.factories import event
from tests.helpers import api_error, assert_api_error
from tests.recording.helpers import ingest, ingest_raw

pytestmark = pytest.mark.django_db

EXAMPLES = [
    json.loads(path.read_text())
    for path in sorted((Path(settings.BASE_DIR) / "schema" / "examples").glob("*.json"))
]


# --- what is stored ---------------------------------------------------------------------------


def test_single_event_object_is_stored_as_received(api, user):
    sent = event(
        "terminal_turn",
        id="01JD3Q5N8V6S3G7W1X2Y3Z4A5B",
        session_id="term-7",
        occurred_at="2026-11-20T10:14:03.5+01:00",
        source="cli",
    )
    response = ingest(api, sent)
    assert response.status_code == 201, response.content
    assert response.json() == {"created": [sent["id"]], "duplicates": []}
    stored = Event.objects.get(user=user)
    assert stored.event_id == sent["id"]
    assert stored.kind == "terminal_turn"
    assert stored.source == "cli"
    assert stored.payload == sent["payload"]
    assert stored.occurred_at == datetime(2026, 11, 20, 9, 14, 3, 500000, tzinfo=UTC)
    assert stored.session.external_id == "term-7"
    assert stored.session.user == user


def test_every_kind_example_in_schema_examples_is_accepted(api, user):
    response = ingest(api, EXAMPLES)
    assert response.status_code == 201, response.content
    assert sorted(response.json()["created"]) == sorted(e["id"] for e in EXAMPLES)
    assert {e.kind for e in Event.objects.filter(user=user)} == {e["kind"] for e in EXAMPLES}


def test_source_is_optional_and_stored_empty(api, user):
    sent = event("note")
    sent.pop("source", None)
    assert ingest(api, sent).status_code == 201
    assert Event.objects.get(user=user).source == ""


def test_lowercase_t_and_z_in_occurred_at_are_accepted(api, user):
    assert ingest(api, event(occurred_at="2026-11-20t09:00:00z")).status_code == 201
    assert Event.objects.get(user=user).occurred_at == datetime(2026, 11, 20, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "utc"),
    [
        ("2026-11-20T09:00:00+20:00", datetime(2026, 11, 19, 13, 0, tzinfo=UTC)),
        ("2026-11-20T09:00:00-23:59", datetime(2026, 11, 21, 8, 59, tzinfo=UTC)),
    ],
    ids=["plus-20h", "minus-23h59"],
)
def test_offsets_postgres_cannot_store_are_accepted_as_their_utc_instant(api, user, value, utc):
    # RFC 3339 allows offsets up to 23:59; Postgres refuses those beyond 15:59 (was a 500).
    assert ingest(api, event("note", occurred_at=value)).status_code == 201
    assert Event.objects.get(user=user).occurred_at == utc
    assert RecordingSession.objects.get(user=user).started_at == utc


def test_id_of_exactly_128_characters_is_accepted(api):
    assert ingest(api, event(id="a" * 128, session_id="s" * 128)).status_code == 201


def test_unicode_text_and_escaped_surrogate_pairs_are_stored_intact(api, user):
    raw = json.dumps(event("note", id="uni", payload={"text": "héllo 😀 — ok"}))  # \ud83d\ude00
    assert "\\ud83d\\ude00" in raw
    assert ingest_raw(api, raw).status_code == 201
    assert Event.objects.get(user=user).payload["text"] == "héllo 😀 — ok"


def test_thousand_events_in_one_request_are_accepted(api, user):
    batch = [event("note", session_id=f"s-{i % 7}") for i in range(1000)]
    response = ingest(api, batch)
    assert response.status_code == 201
    assert len(response.json()["created"]) == 1000
    assert Event.objects.filter(user=user).count() == 1000
    assert sum(
        RecordingSession.objects.filter(user=user).values_list("event_count", flat=True)
    ) == (1000)


def test_empty_array_creates_nothing_and_answers_200(api, user):
    response = ingest(api, [])
    assert response.status_code == 200
    assert response.json() == {"created": [], "duplicates": []}


# --- limits -----------------------------------------------------------------------------------


def test_more_than_thousand_events_is_413_too_many_events_and_stores_nothing(api, user):
    response = ingest(api, [event("note") for _ in range(1001)])
    assert_api_error(response, 413, "too_many_events")
    assert not Event.objects.filter(user=user).exists()


def test_body_over_the_configured_limit_is_413_payload_too_large(api, user, settings):
    settings.CLONE_MAX_BODY_BYTES = 2_000
    body = json.dumps(event("note", payload={"text": "x" * 3_000}))
    response = ingest_raw(api, body)
    assert_api_error(response, 413, "payload_too_large")
    assert not Event.objects.filter(user=user).exists()


def test_body_just_under_the_limit_is_accepted(api, settings):
    body = json.dumps(event("note", payload={"text": "x" * 1_000}))
    settings.CLONE_MAX_BODY_BYTES = len(body.encode())
    assert ingest_raw(api, body).status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "{",
        '[{"id": 1},]',
        "",
        '{"a": NaN}',
        '{"a": Infinity}',
        '{"a": -Infinity}',
        '{"a": 1e400}',
        b'{"a": "\xff\xfe"}',
        "[" * 40 + "]" * 40,
        "[" * 100_000 + "]" * 100_000,
        '{"a": "' + "\x01" + '"}',
    ],
    ids=[
        "prose",
        "truncated",
        "trailing-comma",
        "empty",
        "nan",
        "infinity",
        "minus-infinity",
        "overflowing-number",
        "invalid-utf8",
        "too-deep",
        "absurdly-deep",
        "raw-control-character",
    ],
)
def test_body_that_is_not_acceptable_json_is_400_malformed_json(api, user, body):
    response = ingest_raw(api, body)
    assert_api_error(response, 400, "malformed_json")
    assert not Event.objects.filter(user=user).exists()


def test_non_json_content_type_is_415(api):
    response = ingest_raw(api, json.dumps(event()), content_type="text/plain")
    assert_api_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize("body", ["null", "5", '"an event"', "true"], ids=str)
def test_body_that_is_neither_object_nor_array_is_400_invalid_event(api, body):
    response = ingest_raw(api, body)
    error = assert_api_error(response, 400, "invalid_event")
    assert error["details"][0]["path"] == "$"


# --- validation -------------------------------------------------------------------------------

_REQUIRED_PAYLOAD = {
    "agent_prompt": ["agent", "text"],
    "user_reply": ["text", "in_reply_to"],
    "terminal_turn": ["command"],
    "desktop_frame": ["app"],
    "integration_webhook": ["integration", "event", "data"],
    "note": ["text"],
}


def _ev(**fields) -> dict:
    """A valid terminal_turn with ``fields`` replaced as given (even falsy or mistyped)."""
    return {**event("terminal_turn"), **fields}


def _without(kind: str, field: str) -> dict:
    bad = event(kind)
    del bad["payload"][field]
    return bad


def _top_without(field: str) -> dict:
    bad = event()
    del bad[field]
    return bad


def _with(kind: str = "terminal_turn", **payload) -> dict:
    bad = event(kind)
    bad["payload"].update(payload)
    return bad


INVALID = {
    "unknown-kind": (_ev(kind="screenshot"), "$.kind"),
    "kind-wrong-case": (_ev(kind="Note"), "$.kind"),
    **{
        f"missing-{field}": (_top_without(field), f"$.{field}")
        for field in ["id", "session_id", "kind", "occurred_at", "payload"]
    },
    **{
        f"{kind}-missing-{field}": (_without(kind, field), f"$.payload.{field}")
        for kind, fields in _REQUIRED_PAYLOAD.items()
        for field in fields
    },
    "id-integer": (_ev(id=123), "$.id"),
    "id-empty": (_ev(id=""), "$.id"),
    "id-space": (_ev(id="a b"), "$.id"),
    "id-slash": (_ev(id="a/b"), "$.id"),
    "id-non-ascii": (_ev(id="évènement"), "$.id"),
    "id-129-chars": (_ev(id="a" * 129), "$.id"),
    "session-id-bad-chars": (_ev(session_id="term 7"), "$.session_id"),
    "session-id-129-chars": (_ev(session_id="s" * 129), "$.session_id"),
    "payload-string": (_ev(payload="pytest -x"), "$.payload"),
    "payload-array": (_ev(payload=[]), "$.payload"),
    "source-empty": (_ev(source=""), "$.source"),
    "source-integer": (_ev(source=7), "$.source"),
    "source-65-chars": (_ev(source="s" * 65), "$.source"),
    "command-integer": (_with(command=5), "$.payload.command"),
    "command-empty": (_with(command=""), "$.payload.command"),
    "exit-code-string": (_with(exit_code="1"), "$.payload.exit_code"),
    "exit-code-float": (_with(exit_code=1.5), "$.payload.exit_code"),
    "exit-code-bool": (_with(exit_code=True), "$.payload.exit_code"),
    "exit-code-too-big": (_with(exit_code=2**31), "$.payload.exit_code"),
    "prompt-text-empty": (_with("agent_prompt", text=""), "$.payload.text"),
    "prompt-agent-null": (_with("agent_prompt", agent=None), "$.payload.agent"),
    "reply-in-reply-to-bad": (
        _with("user_reply", in_reply_to="no spaces"),
        "$.payload.in_reply_to",
    ),
    "webhook-data-list": (_with("integration_webhook", data=[1]), "$.payload.data"),
    "frame-title-number": (_with("desktop_frame", window_title=3), "$.payload.window_title"),
    "note-text-too-long": (_with("note", text="x" * 100_001), "$.payload.text"),
    "date-without-offset": (_ev(occurred_at="2026-11-20T09:00:00"), "$.occurred_at"),
    "date-only": (_ev(occurred_at="2026-11-20"), "$.occurred_at"),
    "date-words": (_ev(occurred_at="yesterday"), "$.occurred_at"),
    "date-month-13": (_ev(occurred_at="2026-13-01T00:00:00Z"), "$.occurred_at"),
    "date-february-30": (_ev(occurred_at="2026-02-30T00:00:00Z"), "$.occurred_at"),
    "date-hour-25": (_ev(occurred_at="2026-11-20T25:00:00Z"), "$.occurred_at"),
    "date-leap-second": (_ev(occurred_at="2026-12-31T23:59:60Z"), "$.occurred_at"),
    "date-offset-24h": (_ev(occurred_at="2026-11-20T09:00:00+24:00"), "$.occurred_at"),
    "date-year-0": (_ev(occurred_at="0000-01-01T00:00:00Z"), "$.occurred_at"),
    "date-before-year-1-in-utc": (_ev(occurred_at="0001-01-01T00:00:00+01:00"), "$.occurred_at"),
    "date-after-9999-in-utc": (_ev(occurred_at="9999-12-31T23:59:59-01:00"), "$.occurred_at"),
    "date-unix-number": (_ev(occurred_at=1763629200), "$.occurred_at"),
    "nul-in-payload-string": (_with("note", text="a\x00b"), "$.payload.text"),
    "nul-in-payload-key": (_with("integration_webhook", data={"a\x00": 1}), "$.payload.data"),
    "extra-top-level-property": (_ev(extra="x"), "$.extra"),
    "event-not-an-object": ("an event", "$"),
}


@pytest.mark.parametrize(("bad", "path"), INVALID.values(), ids=INVALID.keys())
def test_invalid_event_is_400_naming_index_and_json_path(api, user, bad, path):
    response = ingest(api, [event("note"), bad])
    error = assert_api_error(response, 400, "invalid_event")
    assert {"index": 1, "path": path} in [
        {"index": d["index"], "path": d["path"]} for d in error["details"]
    ], error["details"]
    assert all(d["index"] == 1 and d["message"] for d in error["details"])
    assert not Event.objects.filter(user=user).exists()
    assert not RecordingSession.objects.filter(user=user).exists()


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ('"text": "\\ud800"', "$.payload.text"),
        ('"text": "a\\udfffb"', "$.payload.text"),
        ('"\\ud800": "x", "text": "t"', "$.payload"),
    ],
    ids=["lone-high-surrogate", "lone-low-surrogate", "surrogate-in-key"],
)
def test_lone_surrogate_sent_as_raw_json_text_is_400_invalid_event(api, user, raw, path):
    body = (
        '{"id": "e1", "session_id": "s", "kind": "note", '
        '"occurred_at": "2026-11-20T09:00:00Z", "payload": {' + raw + "}}"
    )
    response = ingest_raw(api, body)
    error = assert_api_error(response, 400, "invalid_event")
    assert {"index": 0, "path": path, "message": error["details"][0]["message"]} in error["details"]
    assert not Event.objects.filter(user=user).exists()


def test_every_invalid_event_in_a_batch_is_reported(api):
    batch = [_ev(kind="nope"), event("note"), _ev(id="bad id"), _ev(occurred_at="x")]
    error = api_error(ingest(api, batch))
    assert sorted({(d["index"], d["path"]) for d in error["details"]}) == [
        (0, "$.kind"),
        (2, "$.id"),
        (3, "$.occurred_at"),
    ]


def test_several_problems_in_one_event_are_all_reported(api):
    bad = event("agent_prompt", id="bad id", payload={})
    paths = {d["path"] for d in api_error(ingest(api, bad))["details"]}
    assert paths == {"$.id", "$.payload.agent", "$.payload.text"}


def test_batch_with_one_bad_event_stores_nothing_and_leaves_sessions_untouched(api, user):
    first = [
        event("note", session_id="kept", occurred_at=f"2026-11-20T09:0{i}:00Z") for i in (1, 2)
    ]
    assert ingest(api, first).status_code == 201
    before = RecordingSession.objects.values().get(user=user, external_id="kept")

    batch = [
        event("note", session_id="kept", occurred_at="2026-11-21T09:00:00Z"),
        event("note", session_id="kept", occurred_at="2026-11-19T09:00:00Z"),
        event("note", session_id="brand-new"),
        event("note", payload={"text": ""}),
    ]
    response = ingest(api, batch)
    assert response.status_code == 400
    assert Event.objects.filter(user=user).count() == 2
    assert RecordingSession.objects.values().get(user=user, external_id="kept") == before
    assert not RecordingSession.objects.filter(user=user, external_id="brand-new").exists()


# --- idempotency and isolation ------------------------------------------------------------------


def test_reposting_a_batch_stores_nothing_and_answers_200_with_duplicates(api, user):
    batch = [event("terminal_turn"), event("note"), event("agent_prompt")]
    assert ingest(api, batch).status_code == 201
    stored = list(Event.objects.filter(user=user).order_by("id").values())
    session = RecordingSession.objects.values().get(user=user)

    again = ingest(api, batch)
    assert again.status_code == 200
    assert again.json() == {"created": [], "duplicates": [e["id"] for e in batch]}
    assert list(Event.objects.filter(user=user).order_by("id").values()) == stored
    assert RecordingSession.objects.values().get(user=user) == session


def test_reposting_an_id_with_different_content_changes_nothing(api, user):
    original = event("note", id="n-1", payload={"text": "original"})
    assert ingest(api, original).status_code == 201
    changed = {**original, "payload": {"text": "changed"}, "occurred_at": "2030-01-01T00:00:00Z"}
    response = ingest(api, changed)
    assert response.json() == {"created": [], "duplicates": ["n-1"]}
    stored = Event.objects.get(user=user)
    assert stored.payload == {"text": "original"}
    assert stored.occurred_at.year == 2026


def test_duplicates_inside_one_request_are_stored_once(api, user):
    a, b = event("note", id="a"), event("note", id="b")
    response = ingest(api, [a, a, b, a])
    assert response.status_code == 201
    assert response.json() == {"created": ["a", "b"], "duplicates": ["a", "a"]}
    assert Event.objects.filter(user=user).count() == 2
    assert RecordingSession.objects.get(user=user).event_count == 2


def test_mixed_new_and_known_ids_create_only_the_new_ones(api, user):
    known = event("note", id="known")
    ingest(api, known)
    response = ingest(api, [known, event("note", id="fresh")])
    assert response.status_code == 201
    assert response.json() == {"created": ["fresh"], "duplicates": ["known"]}
    assert RecordingSession.objects.get(user=user).event_count == 2


def test_two_users_may_use_the_same_event_and_session_ids_independently(
    user, other_user, client_for
):
    batch = [event("note", id="same-1", session_id="same-s"), event("note", id="same-2")]
    for owner in (user, other_user):
        response = ingest(client_for(owner, "api_key"), batch)
        assert response.status_code == 201
        assert response.json()["created"] == ["same-1", "same-2"]
    for owner in (user, other_user):
        assert Event.objects.filter(user=owner).count() == 2
        assert RecordingSession.objects.get(user=owner, external_id="same-s").event_count == 1


def test_session_counters_and_bounds_follow_created_events_in_any_order(api, user):
    ingest(api, [event("note", session_id="s", occurred_at="2026-11-20T10:00:00Z")])
    ingest(
        api,
        [
            event("note", session_id="s", occurred_at="2026-11-20T12:00:00+01:00"),  # 11:00Z
            event("note", session_id="s", occurred_at="2026-11-20T08:30:00Z"),
        ],
    )
    session = RecordingSession.objects.get(user=user, external_id="s")
    assert session.event_count == 3
    assert session.started_at == datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
    assert session.last_event_at == datetime(2026, 11, 20, 11, 0, tzinfo=UTC)


def test_batch_over_many_sessions_updates_each_session(api, user):
    batch = [event("note", session_id=f"s{i % 5}") for i in range(50)]
    assert ingest(api, batch).status_code == 201
    counts = dict(
        RecordingSession.objects.filter(user=user).values_list("external_id", "event_count")
    )
    assert counts == {f"s{i}": 10 for i in range(5)}


# --- cost -------------------------------------------------------------------------------------


def test_ingest_is_a_constant_number_of_queries_for_1_or_500_events_in_many_sessions(api):
    ingest(api, [event("note", session_id="warm")])  # auth bookkeeping (last_used_at) settles

    def queries_for(batch, status=201):
        with CaptureQueriesContext(connection) as ctx:
            assert ingest(api, batch).status_code == status
        # The test's own transaction turns the service's atomic block into a savepoint.
        return len([q for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]])

    one = queries_for([event("note")])
    many = queries_for([event("note", session_id=f"m{i % 25}") for i in range(500)])
    repeat = queries_for([event("note", session_id=f"m{i % 25}") for i in range(500)])
    assert one == many == repeat
    # authentication, sessions insert, sessions lock, events insert, counters update; then
    # Memory inserts the raw rows of the new events (handed over, not read back)
    assert one == 6
    # All duplicates: nothing new for Memory.
    assert queries_for(batch := [event("note")]) == 6
    assert queries_for(batch, status=200) == 4  # no counters to update either


def test_ingest_of_1000_events_is_one_insert_statement(api):
    with CaptureQueriesContext(connection) as ctx:
        ingest(api, [event("note") for _ in range(1000)])
    inserts = [q["sql"] for q in ctx.captured_queries if 'INTO "recording_event"' in q["sql"]]
    assert len(inserts) == 1


def test_generic_insert_path_used_by_sqlite_stores_and_deduplicates_too(user):
    from recording import services

    session = RecordingSession.objects.create(
        user=user,
        external_id="g",
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        last_event_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    now = datetime(2026, 1, 2, tzinfo=UTC)
    rows = [
        (user.pk, session.pk, f"g{i}", "note", now, "", {"text": str(i)}, now) for i in range(3)
    ]
    created = services._events_insert_generic(rows)
    stored = dict(Event.objects.filter(user=user).values_list("event_id", "pk"))
    assert created == stored and set(created) == {"g0", "g1", "g2"}
    assert services._events_insert_generic(rows[:2]) == {}
    assert Event.objects.get(user=user, event_id="g1").payload == {"text": "1"}


def test_ingest_url_is_where_the_readme_says():
    assert reverse("recording:events") == "/api/recording/events/"


def test_chunked_body_without_content_length_is_411_length_required(api, user):
    # DRF reads no body without a Content-Length; the caller must hear that, not "invalid".
    response = api.generic(
        "POST",
        reverse("recording:events"),
        data=b"",
        content_type="application/json",
        HTTP_TRANSFER_ENCODING="chunked",
    )
    assert_api_error(response, 411, "length_required")
    assert not Event.objects.filter(user=user).exists()
