"""load_demo end to end: the demo user, its history through the real services, and a way in
that works (the printed API key, used as a client would)."""

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.urls import reverse
from rest_framework.test import APIClient

from memories.models import EpisodicMemory, RawMemory
from predictions.models import Prediction
from recording.demo import demo_history
from recording.models import Event

pytestmark = pytest.mark.django_db

KEY = re.compile(r"API key \(shown once\): (\S+)")


def load_demo(**options):
    out, err = io.StringIO(), io.StringIO()
    call_command("load_demo", stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def client_with(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_X_CLONE_API_KEY=key)
    return client


def test_load_demo_loads_the_history_and_prints_a_key_that_works():
    out, err = load_demo(days=1, seed=7)

    demo = get_user_model().objects.get(username="demo")
    events = demo_history(days=1, seed=7)
    answered = {e["payload"]["in_reply_to"] for e in events if e["kind"] == "user_reply"}
    assert Event.objects.filter(user=demo).count() == len(events)
    assert RawMemory.objects.filter(user=demo).count() == len(events)
    assert EpisodicMemory.objects.filter(user=demo).exists()
    assert Prediction.objects.filter(user=demo, outcome__isnull=False).count() == len(answered)
    assert not demo.has_usable_password()

    key = KEY.search(out).group(1)
    stats = client_with(key).get(reverse("predictions:stats"))
    assert stats.status_code == 200
    assert stats.json()["labelled"] == len(answered)
    assert stats.json()["calibration"]["method"] == "platt"
    # The three curl commands name the real endpoints on the default host, with the key.
    for name in ("memories:context", "predictions:predict", "predictions:stats"):
        assert f"http://127.0.0.1:8000{reverse(name)}" in out
    assert out.count(f"X-Clone-API-Key: {key}") == 3
    assert err == ""  # no progress bar: stderr is not a terminal


def test_the_printed_predict_command_answers_from_the_demo_history():
    out, _ = load_demo(days=1, seed=7)
    key = KEY.search(out).group(1)

    response = client_with(key).post(
        reverse("predictions:predict"),
        {"agent": "claude-code", "agent_input": "Want me to run pytest?"},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["model"] == "local"
    assert response.json()["candidates"]


def test_running_it_again_resets_the_demo_and_revokes_the_old_key():
    first, _ = load_demo(days=1, seed=7)
    old_key = KEY.search(first).group(1)
    counts = Event.objects.count(), Prediction.objects.count()

    second, _ = load_demo(days=1, seed=7, base_url="http://localhost:9000/")

    new_key = KEY.search(second).group(1)
    assert (Event.objects.count(), Prediction.objects.count()) == counts
    assert get_user_model().objects.filter(username="demo").count() == 1
    assert client_with(old_key).get(reverse("predictions:stats")).status_code == 401
    assert client_with(new_key).get(reverse("predictions:stats")).status_code == 200
    assert f"http://localhost:9000{reverse('predictions:stats')}" in second


def test_a_real_account_with_the_demo_name_is_never_wiped(make_user):
    person = make_user("demo")

    with pytest.raises(CommandError, match="not a demo account"):
        load_demo(days=1)
    assert get_user_model().objects.get(pk=person.pk).has_usable_password()


@pytest.mark.parametrize(
    "options, message",
    [
        pytest.param({"days": 0}, "--days", id="zero-days"),
        pytest.param({"username": "  "}, "--username", id="blank-username"),
    ],
)
def test_bad_options_fail_clearly(options, message):
    with pytest.raises(CommandError, match=message):
        load_demo(**options)
    assert not Event.objects.exists()


PASSWORD_LINE = re.compile(r"user 'demo', password (\S+) \(local use only")


def test_set_password_prints_a_password_that_signs_in_and_a_rerun_may_reset_it():
    out, _ = load_demo(days=1, seed=7, set_password=True)
    password = PASSWORD_LINE.search(out).group(1)
    token = APIClient().post(
        reverse("accounts:token"), {"username": "demo", "password": password}, format="json"
    )
    assert token.status_code == 200

    # The account has a password now, but load_demo made it: a rerun resets it.
    again, _ = load_demo(days=1, seed=7, set_password=True)
    assert PASSWORD_LINE.search(again).group(1) != password
    assert not get_user_model().objects.get(username="demo").check_password(password)


def test_without_set_password_no_password_is_printed():
    out, _ = load_demo(days=1, seed=7)
    assert "password" not in out
