"""Small helpers shared by the Recording tests."""

from typing import Any

from django.urls import reverse
from rest_framework.test import APIClient


def ingest(client: APIClient, body: Any):
    """POST ``body`` (an event or a list of events) as JSON to the ingest endpoint."""
    return client.post(reverse("recording:events"), body, format="json")


def ingest_raw(client: APIClient, text: str | bytes, content_type: str = "application/json"):
    """POST ``text`` exactly as given (for bodies a JSON encoder would not produce)."""
    return client.post(reverse("recording:events"), data=text, content_type=content_type)
