"""``GET /api/account/``: who the caller is and counts of what Clone holds, through HTTP."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clone_server.accounts.services import api_key_create
from predictions.services import calibration_refit
from recording.services import event_ingest
from tests.factories import event
from tests.fakes.anthropic import tool_reply
from tests.helpers import assert_api_error
from tests.predictions.helpers import a_fact, candidates_answer

pytestmark = pytest.mark.django_db
STATUS = "account:status"


def _ask(api, fake_anthropic, *, text, conf):
    fake_anthropic.queue(tool_reply(candidates_answer(("yes", conf, []), ("no", 0.1, []))))
    response = api.post(
        reverse("predictions:predict"),
        {"agent": "claude-code", "agent_input": text, "k": 2},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def _feedback(api, prediction_id, outcome):
    response = api.post(
        reverse("predictions:feedback", kwargs={"prediction_id": prediction_id}),
        {"outcome": outcome, **({"actual_reply": "no"} if outcome == "rejected" else {})},
        format="json",
    )
    assert response.status_code == 200, response.content


def test_a_new_account_has_nothing_and_the_identity_calibration(api, user, settings):
    settings.CLONE_MIN_LABELS_FOR_AUTO = 12
    response = api.get(reverse(STATUS))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["username"] == user.username
    assert body["counts"] == {
        "sessions": 0,
        "events": 0,
        "facts": 0,
        "episodes": 0,
        "predictions": 0,
        "awaiting_answer": 0,
        "labelled": 0,
    }
    assert body["calibration"] == {
        "method": "identity",
        "n": 0,
        "fitted_at": None,
        "labelled": 0,
        "min_labels_for_auto": 12,
    }


def test_the_minimum_of_labels_shown_is_the_persons_own(api, client_for, other_user, settings):
    settings.CLONE_MIN_LABELS_FOR_AUTO = 12
    assert (
        api.patch(
            reverse("memories:profile"), {"min_labels_for_auto": 40}, format="json"
        ).status_code
        == 200
    )
    assert api.get(reverse(STATUS)).json()["calibration"]["min_labels_for_auto"] == 40
    theirs = client_for(other_user, "jwt").get(reverse(STATUS)).json()
    assert theirs["calibration"]["min_labels_for_auto"] == 12


def test_the_key_the_request_came_with_is_named(client_for, user, anon_client):
    issued = api_key_create(user=user, name="clone cli on laptop")
    anon_client.credentials(HTTP_X_CLONE_API_KEY=issued.key)
    body = anon_client.get(reverse(STATUS)).json()
    assert body["api_key"] == {
        "id": issued.api_key.pk,
        "name": "clone cli on laptop",
        "prefix": issued.api_key.prefix,
    }
    assert client_for(user, "jwt").get(reverse(STATUS)).json()["api_key"] is None


def test_counts_and_calibration_follow_the_data(client_for, user, other_user, fake_anthropic):
    api = client_for(user, "api_key")
    event_ingest(
        user=user,
        events=[
            event("note", session_id="s1", payload={"text": "one"}),
            event("note", session_id="s1", payload={"text": "two"}),
            event("note", session_id="s2", payload={"text": "three"}),
        ],
    )
    a_fact(user)
    asked = [_ask(api, fake_anthropic, text=f"Question {n}?", conf=0.3 + n / 20) for n in range(8)]
    # Six answered (some yes, some no), two still waiting for the person.
    for n, prediction in enumerate(asked[:6]):
        _feedback(api, prediction["id"], "accepted" if n % 2 else "rejected")
    calibration_refit(user=user)
    # Another person's data counts for nothing here.
    other = client_for(other_user, "api_key")
    event_ingest(user=other_user, events=[event("note", session_id="x", payload={"text": "b"})])
    a_fact(other_user, text="Bob's fact.")
    _ask(other, fake_anthropic, text="Bob's question?", conf=0.3)

    body = api.get(reverse(STATUS)).json()
    counts = body["counts"]
    assert counts == {
        "sessions": 2,
        "events": 3,
        "facts": 1,
        "episodes": 0,
        "predictions": 8,
        "awaiting_answer": 2,
        "labelled": 6,
    }
    calibration = body["calibration"]
    assert calibration["n"] == 6 and calibration["labelled"] == 6
    assert calibration["fitted_at"] is not None
    assert calibration["method"] == "platt"
    inbox = api.get(reverse("predictions:inbox")).json()
    assert inbox["count"] == counts["awaiting_answer"]


def test_the_number_of_queries_does_not_grow_with_the_data(client_for, user, fake_anthropic):
    api = client_for(user, "jwt")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get(reverse(STATUS)).status_code == 200
        return len(captured)

    queries()  # the first read creates the empty profile
    empty = queries()
    event_ingest(user=user, events=[event("note", payload={"text": f"n{n}"}) for n in range(20)])
    for n in range(3):
        a_fact(user, text=f"Fact {n}.")
        _ask(api, fake_anthropic, text=f"Q{n}?", conf=0.4)
    assert queries() == empty


def test_without_credentials_it_is_a_401_in_the_error_shape(anon_client):
    response = anon_client.get(reverse(STATUS))
    assert_api_error(response, 401, "not_authenticated")


def test_a_wrong_key_is_a_401_in_the_error_shape(anon_client):
    anon_client.credentials(HTTP_X_CLONE_API_KEY="clone_nope_0123456789")
    response = anon_client.get(reverse(STATUS))
    assert_api_error(response, 401, "authentication_failed")


def test_only_get_is_allowed(api):
    response = api.post(reverse(STATUS), {}, format="json")
    assert_api_error(response, 405, "method_not_allowed")
