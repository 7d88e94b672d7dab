"""The Django admin covers users, sessions, events and API keys, and never shows a key's hash."""

import pytest
from django.urls import reverse

from clone_server.accounts.models import ApiKey
from clone_server.accounts.services import api_key_create
from recording.services import event_ingest
from tests.factories import event

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    return client


@pytest.mark.parametrize(
    "model", ["auth_user", "recording_recordingsession", "recording_event", "accounts_apikey"]
)
def test_admin_changelist_renders(admin_client, user, model):
    event_ingest(user=user, events=[event("note")])
    api_key_create(user=user, name="k")
    assert admin_client.get(reverse(f"admin:{model}_changelist")).status_code == 200


def test_api_key_admin_page_never_shows_the_hash_or_the_key(admin_client, user):
    issued = api_key_create(user=user, name="k")
    hashed = ApiKey.objects.get(pk=issued.api_key.pk).hashed_key
    page = admin_client.get(reverse("admin:accounts_apikey_change", args=[issued.api_key.pk]))
    assert page.status_code == 200
    assert hashed not in page.content.decode()
    assert issued.key not in page.content.decode()
    assert issued.api_key.prefix in page.content.decode()


def test_prediction_admin_shows_the_request_structure(admin_client, user, settings):
    from predictions.services import prediction_create

    settings.CLONE_LLM_PROVIDER = "local"
    event_ingest(
        user=user,
        events=[event("agent_prompt", id="p-admin", payload={"agent": "claude-code", "text": "t"})],
    )
    prediction = prediction_create(
        user=user,
        agent="claude-code",
        agent_input="Bash: make deploy",
        tool={"name": "Bash", "input": {"command": "make deploy-admin"}},
        options=["yes", "no"],
        cwd="/srv/admin-cwd",
        context="admin-context",
        prompt_event_id="p-admin",
    )
    listing = admin_client.get(reverse("admin:predictions_prediction_changelist"))
    assert listing.status_code == 200
    filtered = admin_client.get(
        reverse("admin:predictions_prediction_changelist") + "?escalation_reason=below_threshold"
    )
    assert filtered.status_code == 200
    page = admin_client.get(reverse("admin:predictions_prediction_change", args=[prediction.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    for shown in ["make deploy-admin", "/srv/admin-cwd", "admin-context", "below_threshold"]:
        assert shown in text
