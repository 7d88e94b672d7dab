"""GET /api/recording/sessions/ and /sessions/<id>/events/: order, pagination, isolation, cost."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from recording.services import event_ingest
from tests.factories import event
from tests.helpers import assert_api_error

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def _sessions(client, **params):
    return client.get(reverse("recording:sessions"), params)


def _events(client, session_id: str, **params):
    return client.get(reverse("recording:session-events", args=[session_id]), params)


def test_sessions_are_listed_newest_activity_first_with_counts_and_bounds(api, user):
    event_ingest(
        user=user,
        events=[
            event("note", session_id="old", occurred_at=_at(0)),
            event("note", session_id="old", occurred_at=_at(5)),
            event("note", session_id="new", occurred_at=_at(60)),
            event("note", session_id="middle", occurred_at=_at(30)),
            event("note", session_id="middle", occurred_at=_at(10)),
            event("note", session_id="middle", occurred_at=_at(20)),
        ],
    )
    response = _sessions(api)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert body["results"] == [
        {"id": "new", "started_at": _iso(60), "last_event_at": _iso(60), "event_count": 1},
        {"id": "middle", "started_at": _iso(10), "last_event_at": _iso(30), "event_count": 3},
        {"id": "old", "started_at": _iso(0), "last_event_at": _iso(5), "event_count": 2},
    ]


def _iso(minutes: float) -> str:
    # DRF renders UTC datetimes with a "Z".
    return (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def test_sessions_are_paginated_with_page_size(api, user):
    event_ingest(
        user=user, events=[event("note", session_id=f"s{i}", occurred_at=_at(i)) for i in range(5)]
    )
    first = _sessions(api, page_size=2).json()
    assert first["count"] == 5
    assert [s["id"] for s in first["results"]] == ["s4", "s3"]
    assert first["next"] is not None
    third = _sessions(api, page_size=2, page=3).json()
    assert [s["id"] for s in third["results"]] == ["s0"]
    assert third["next"] is None


def test_page_past_the_end_is_404_not_found_json(api, user):
    event_ingest(user=user, events=[event("note")])
    response = _sessions(api, page=9)
    assert_api_error(response, 404, "not_found")


def test_another_users_sessions_are_invisible(api, user, other_user):
    event_ingest(user=other_user, events=[event("note", session_id="theirs")])
    event_ingest(user=user, events=[event("note", session_id="mine")])
    assert [s["id"] for s in _sessions(api).json()["results"]] == ["mine"]


def test_session_events_come_in_occurred_at_order_whatever_the_posting_order(api, user):
    event_ingest(
        user=user,
        events=[
            event("note", id="c", session_id="s", occurred_at=_at(3)),
            event("note", id="a", session_id="s", occurred_at="2026-11-20T10:01:00+01:00"),
        ],
    )
    event_ingest(
        user=user,
        events=[
            event("terminal_turn", id="b", session_id="s", occurred_at=_at(2), source="cli"),
            event("note", id="elsewhere", session_id="other", occurred_at=_at(0)),
        ],
    )
    response = _events(api, "s")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [e["id"] for e in results] == ["a", "b", "c"]
    b = results[1]
    assert b["session_id"] == "s"
    assert b["kind"] == "terminal_turn"
    assert b["source"] == "cli"
    assert b["payload"] == event("terminal_turn")["payload"]
    assert b["occurred_at"] == _iso(2)
    assert "received_at" in b


def test_session_events_are_paginated(api, user):
    event_ingest(
        user=user,
        events=[event("note", id=f"e{i}", session_id="s", occurred_at=_at(i)) for i in range(7)],
    )
    body = _events(api, "s", page_size=3, page=2).json()
    assert body["count"] == 7
    assert [e["id"] for e in body["results"]] == ["e3", "e4", "e5"]


def test_events_of_another_users_session_are_404_not_403(api, other_user):
    event_ingest(user=other_user, events=[event("note", session_id="theirs")])
    response = _events(api, "theirs")
    assert_api_error(response, 404, "not_found")


def test_events_of_an_unknown_session_are_404(api):
    response = _events(api, "never-seen")
    assert_api_error(response, 404, "not_found")


def test_same_session_id_for_two_users_shows_each_only_their_events(api, user, other_user):
    event_ingest(user=user, events=[event("note", id="mine", session_id="shared")])
    event_ingest(user=other_user, events=[event("note", id="theirs", session_id="shared")])
    assert [e["id"] for e in _events(api, "shared").json()["results"]] == ["mine"]


@pytest.mark.parametrize("sessions", [1, 30], ids=["one-session", "thirty-sessions"])
def test_session_list_is_a_constant_number_of_queries(
    api, user, sessions, django_assert_num_queries
):
    event_ingest(user=user, events=[event("note", session_id=f"s{i}") for i in range(sessions)])
    _sessions(api)  # authentication bookkeeping settles
    with django_assert_num_queries(3):  # authentication, count, page
        assert len(_sessions(api).json()["results"]) == sessions


@pytest.mark.parametrize("events", [1, 40], ids=["one-event", "forty-events"])
def test_session_events_list_is_a_constant_number_of_queries(
    api, user, events, django_assert_num_queries
):
    event_ingest(user=user, events=[event("note", session_id="s") for _ in range(events)])
    _events(api, "s")
    with django_assert_num_queries(4):  # authentication, session, count, page
        assert len(_events(api, "s").json()["results"]) == events
