"""What the fuzzers found, pinned as plain tests (each was a 500 or an input silently accepted)."""

import pytest
from django.urls import reverse

from memories.models import SemanticMemory
from recording.models import Event
from tests.factories import event
from tests.helpers import assert_api_error

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("page_size", ["AAA", "0", "501", "-1", "1.5", ""], ids=repr)
def test_a_page_size_that_is_not_1_to_500_is_a_400(api, page_size):
    response = api.get(reverse("recording:sessions"), {"page_size": page_size})

    assert_api_error(response, 400, "invalid_request")


def test_a_repeated_page_size_is_a_400(api):
    response = api.get(reverse("memories:facts") + "?page_size=2&page_size=3")

    assert response.status_code == 400


@pytest.mark.parametrize("page", ["", "x", "-1", "last"], ids=repr)
def test_a_page_that_is_not_a_whole_number_is_a_400(api, page):
    response = api.get(reverse("predictions:list"), {"page": page})

    assert_api_error(response, 400, "invalid_request")


def test_a_valid_page_size_still_pages(api, user):
    events = [event("note", session_id=f"s{i}") for i in range(3)]
    assert api.post(reverse("recording:events"), events, format="json").status_code == 201
    body = api.get(reverse("recording:sessions"), {"page_size": "2", "page": "2"}).json()

    assert len(body["results"]) == 1


@pytest.mark.parametrize(
    "url_name", ["memories:context", "memories:promote-episodes", "memories:promote-facts"]
)
@pytest.mark.parametrize("body", ["null", "[]", "5"], ids=["null", "array", "number"])
def test_an_optional_object_body_that_is_not_an_object_is_a_400(api, settings, url_name, body):
    settings.CLONE_LLM_PROVIDER = "local"
    response = api.post(reverse(url_name), data=body, content_type="application/json")

    assert_api_error(response, 400, "invalid_request")


@pytest.mark.parametrize("importance", [False, True, "0.5"], ids=repr)
def test_fact_importance_must_be_a_json_number(api, user, importance):
    body = {"text": "Prefers tabs.", "importance": importance}
    response = api.post(reverse("memories:facts"), body, format="json")

    assert response.status_code == 400
    assert not SemanticMemory.objects.filter(user=user).exists()


@pytest.mark.parametrize("threshold", [False, "0.5"], ids=repr)
def test_predict_threshold_must_be_a_json_number(api, settings, threshold):
    settings.CLONE_LLM_PROVIDER = "local"
    body = {"agent": "claude-code", "agent_input": "Run it?", "threshold": threshold}

    response = api.post(reverse("predictions:predict"), body, format="json")

    assert response.status_code == 400


def test_an_empty_outcome_filter_is_a_400_not_ignored(api):
    response = api.get(reverse("predictions:list"), {"outcome": ""})

    assert_api_error(response, 400, "invalid_request")


@pytest.mark.parametrize("offset", ["+23:59", "-17:18", "+16:00"])
def test_an_rfc3339_offset_postgres_cannot_hold_is_stored_as_its_instant(api, user, offset):
    produced = event("note", occurred_at=f"2026-11-20T09:00:00{offset}")

    response = api.post(reverse("recording:events"), produced, format="json")

    assert response.status_code == 201
    stored = Event.objects.get(user=user, event_id=produced["id"])
    assert stored.occurred_at.isoformat() != ""  # read back without error


def test_the_ingest_body_is_documented_as_an_event_or_an_array_of_them(anon_client):
    spec = anon_client.get(reverse("schema"), HTTP_ACCEPT="application/json").json()
    body = spec["paths"]["/api/recording/events/"]["post"]["requestBody"]
    one_of = body["content"]["application/json"]["schema"]["oneOf"]

    assert one_of[0]["required"] == ["id", "session_id", "kind", "occurred_at", "payload"]
    assert one_of[1]["type"] == "array"
    assert one_of[1]["maxItems"] == 1000


def test_every_operation_documents_its_error_statuses_with_the_error_shape(anon_client):
    spec = anon_client.get(reverse("schema"), HTTP_ACCEPT="application/json").json()
    error_ref = "#/components/schemas/ErrorResponse"
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            for status, response in responses.items():
                if status.startswith(("4", "5")) and path != "/api/health/":
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": error_ref}, (method, path, status)
            if path not in ("/api/health/",):
                assert "401" in responses, (method, path)
            if method in ("post", "put", "patch"):
                assert {"400", "413"} <= set(responses), (method, path)
    predict = spec["paths"]["/api/predictions/predict/"]["post"]["responses"]
    assert {"429", "502", "503", "504"} <= set(predict)
    assert "Retry-After" in predict["429"]["headers"]
