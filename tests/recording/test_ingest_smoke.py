import pytest
from django.urls import reverse

from recording.models import Event, RecordingSession
from tests.factories import event

pytestmark = pytest.mark.django_db


def test_batch_is_stored_then_reposting_is_a_noop(api, user):
    batch = [event("terminal_turn"), event("note"), event("agent_prompt")]
    first = api.post(reverse("recording:events"), batch, format="json")
    assert first.status_code == 201, first.content
    assert sorted(first.json()["created"]) == sorted(e["id"] for e in batch)
    again = api.post(reverse("recording:events"), batch, format="json")
    assert again.status_code == 200
    assert again.json() == {"created": [], "duplicates": [e["id"] for e in batch]}
    assert Event.objects.filter(user=user).count() == 3
    assert RecordingSession.objects.get(user=user).event_count == 3
