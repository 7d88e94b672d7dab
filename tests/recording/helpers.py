"""Small helpers shared by the Recording tests."""

import json
from typing import Any

from django.urls import reverse
from rest_framework.test import APIClient


def ingest(client: APIClient, body: Any):
    """POST ``body`` (an event or a list of events) as JSON to the ingest endpoint."""
    return client.post(reverse("recording:events"), body, format="json")


def ingest_raw(client: APIClient, text: str | bytes, content_type: str = "application/json"):
    """POST ``text`` exactly as given (for bodies a JSON encoder would not produce)."""
    return client.post(reverse("recording:events"), data=text, content_type=content_type)


def error_of(response) -> dict[str, Any]:
    """The ``error`` object of a JSON error response (asserting the shape on the way)."""
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = json.loads(response.content)
    assert set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"]) <= {"code", "message", "details"}
    return body["error"]
