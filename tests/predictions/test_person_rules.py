"""The person's own settings (profile API) decide what Clone answers alone for them: minimum of
labels, audit rate, never-auto patterns and per-agent thresholds; the server's settings apply
only where the person set nothing, and never to another person's choices."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from memories.services import raw_sync
from recording.services import event_ingest
from tests.helpers import assert_api_error

pytestmark = pytest.mark.django_db

PROFILE = "memories:profile"
PREDICT = "predictions:predict"
BATCH = "predictions:batch"


def _history(user, *, n, command="npm test", reply="yes", agent="claude-code"):
    """``n`` answered Bash requests for ``command``, five minutes apart, ending an hour ago."""
    start = timezone.now() - timedelta(hours=1, minutes=5 * n)
    slug = command.replace(" ", "_")
    events = []
    for i in range(n):
        at = start + timedelta(minutes=5 * i)
        events += [
            {
                "id": f"p{slug}{i}",
                "session_id": "s1",
                "kind": "agent_prompt",
                "occurred_at": at.isoformat(),
                "payload": {
                    "agent": agent,
                    "text": f"Bash: {command}",
                    "tool": {"name": "Bash", "input": {"command": command}},
                    "options": ["yes", "no"],
                },
            },
            {
                "id": f"r{slug}{i}",
                "session_id": "s1",
                "kind": "user_reply",
                "occurred_at": (at + timedelta(seconds=30)).isoformat(),
                "payload": {"text": reply, "in_reply_to": f"p{slug}{i}"},
            },
        ]
    event_ingest(user=user, events=events)
    raw_sync(user=user)


def _request(command="npm test", agent="claude-code", **extra):
    return {
        "agent": agent,
        "agent_input": f"Bash: {command}",
        "tool": {"name": "Bash", "input": {"command": command}},
        "options": ["yes", "no"],
        **extra,
    }


def _predict(client, **request):
    response = client.post(reverse(PREDICT), _request(**request), format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _set(client, **fields):
    response = client.patch(reverse(PROFILE), fields, format="json")
    assert response.status_code == 200, response.content


@pytest.fixture
def server_rules(settings):
    """The production defaults on the server (the suite's autouse fixture turns them off)."""
    settings.CLONE_LLM_PROVIDER = "local"
    settings.CLONE_MIN_LABELS_FOR_AUTO = 30
    settings.CLONE_AUDIT_RATE = 0.0


@pytest.fixture
def bob(other_user, client_for):
    return client_for(other_user, "api_key")


def test_with_nothing_set_the_servers_rules_apply(api, user, server_rules, settings):
    _history(user, n=41)
    body = _predict(api)
    assert (body["status"], body["escalation_reason"]) == ("auto", "")
    assert body["threshold"] == 0.8
    assert body["confidence"] >= 0.8

    settings.CLONE_MIN_LABELS_FOR_AUTO = 50
    body = _predict(api)
    assert (body["status"], body["escalation_reason"]) == ("escalated", "thin_evidence")

    settings.CLONE_MIN_LABELS_FOR_AUTO = 30
    settings.CLONE_AUDIT_RATE = 1.0
    body = _predict(api)
    assert (body["status"], body["escalation_reason"]) == ("escalated", "audit")


def test_a_lower_minimum_of_labels_lets_a_short_history_answer(
    api, user, other_user, bob, server_rules
):
    _history(user, n=12)
    _history(other_user, n=12)
    _set(api, min_labels_for_auto=10)
    mine = _predict(api)
    assert mine["candidates"][0]["text"] == "yes"
    assert (mine["status"], mine["escalation_reason"]) == ("auto", "")
    theirs = _predict(bob)
    assert (theirs["status"], theirs["escalation_reason"]) == ("escalated", "thin_evidence")


def test_a_higher_minimum_of_labels_holds_back_what_the_server_would_answer(
    api, user, other_user, bob, server_rules
):
    _history(user, n=41)
    _history(other_user, n=41)
    _set(api, min_labels_for_auto=100)
    mine = _predict(api)
    assert (mine["status"], mine["escalation_reason"]) == ("escalated", "thin_evidence")
    assert _predict(bob)["status"] == "auto"

    _set(api, min_labels_for_auto=None)  # back to the server's 30
    assert _predict(api)["status"] == "auto"


def test_the_persons_audit_rate_replaces_the_servers(
    api, user, other_user, bob, server_rules, settings
):
    _history(user, n=41)
    _history(other_user, n=41)
    _set(api, audit_rate=1.0)
    mine = _predict(api)
    assert (mine["status"], mine["escalation_reason"]) == ("escalated", "audit")
    assert mine["answered_by"] in ("", None)
    assert _predict(bob)["status"] == "auto"

    settings.CLONE_AUDIT_RATE = 1.0
    _set(api, audit_rate=0.0)
    assert _predict(api)["status"] == "auto"
    assert _predict(bob)["escalation_reason"] == "audit"


def test_the_persons_never_auto_patterns_replace_the_defaults(
    api, user, other_user, bob, server_rules
):
    for who in (user, other_user):
        _history(who, n=41)
        _history(who, n=41, command="sudo systemctl restart nginx")
    _set(api, never_auto=[r"\bnpm\s+test\b"])

    mine = _predict(api)
    assert mine["candidates"][0]["text"] == "yes"
    assert (mine["status"], mine["escalation_reason"]) == ("escalated", "never_auto")
    # Their own list replaced the defaults: sudo is no longer on it.
    assert _predict(api, command="sudo systemctl restart nginx")["status"] == "auto"

    assert _predict(bob)["status"] == "auto"
    theirs = _predict(bob, command="sudo systemctl restart nginx")
    assert (theirs["status"], theirs["escalation_reason"]) == ("escalated", "never_auto")


def test_a_per_agent_threshold_applies_when_the_request_names_none(
    api, user, other_user, bob, server_rules
):
    _history(user, n=41)
    _history(user, n=41, agent="cursor")
    _history(other_user, n=41)
    _set(api, agent_thresholds={"claude-code": 0.99})

    mine = _predict(api)
    assert mine["confidence"] < 0.99
    assert mine["threshold"] == 0.99
    assert (mine["status"], mine["escalation_reason"]) == ("escalated", "below_threshold")
    # null is "not named" too.
    assert _predict(api, threshold=None)["threshold"] == 0.99
    # A threshold the request names wins over the setting.
    named = _predict(api, threshold=0.8)
    assert (named["threshold"], named["status"]) == (0.8, "auto")
    # Another agent of the same person has no setting: the default.
    other_agent = _predict(api, agent="cursor")
    assert (other_agent["threshold"], other_agent["status"]) == (0.8, "auto")

    theirs = _predict(bob)
    assert (theirs["threshold"], theirs["status"]) == (0.8, "auto")


def test_a_batch_applies_the_persons_settings_to_every_item(
    api, user, other_user, bob, server_rules
):
    _history(user, n=12)
    _history(user, n=12, agent="cursor")
    _history(other_user, n=12)
    _set(
        api,
        min_labels_for_auto=10,
        never_auto=["make deploy"],
        agent_thresholds={"cursor": 0.99},
    )
    items = [
        _request(),
        _request(agent="cursor"),
        _request(command="make deploy"),
        _request(agent="cursor", threshold=0.8),
    ]
    response = api.post(reverse(BATCH), {"items": items}, format="json")
    assert response.status_code == 201, response.content
    results = response.json()["results"]
    got = [(r["status"], r["escalation_reason"], r["threshold"]) for r in results]
    assert got == [
        ("auto", "", 0.8),
        ("escalated", "below_threshold", 0.99),
        ("escalated", "never_auto", 0.8),
        ("auto", "", 0.8),
    ]

    theirs = bob.post(reverse(BATCH), {"items": items[:1]}, format="json").json()
    assert theirs["results"][0]["escalation_reason"] == "thin_evidence"


def _profile_reads(client, n: int) -> int:
    body = {"items": [_request(command=f"make target{i}") for i in range(n)]}
    with CaptureQueriesContext(connection) as queries:
        assert client.post(reverse(BATCH), body, format="json").status_code == 201
    return sum('"memories_userprofile"' in q["sql"] for q in queries.captured_queries)


def test_a_batch_reads_the_settings_once_whatever_its_size(api, server_rules):
    _set(api, min_labels_for_auto=10)
    assert _profile_reads(api, 1) == _profile_reads(api, 10)


BAD = {
    "min-labels-negative": {"min_labels_for_auto": -1},
    "min-labels-huge": {"min_labels_for_auto": 10**9},
    "min-labels-fraction": {"min_labels_for_auto": 2.5},
    "min-labels-float": {"min_labels_for_auto": 30.0},
    "min-labels-text": {"min_labels_for_auto": "30"},
    "min-labels-bool": {"min_labels_for_auto": True},
}


@pytest.mark.parametrize("body", BAD.values(), ids=BAD.keys())
def test_a_bad_minimum_of_labels_is_a_400_and_predictions_keep_the_old_rules(
    api, user, server_rules, body
):
    _history(user, n=12)
    _set(api, min_labels_for_auto=10)
    response = api.patch(reverse(PROFILE), body, format="json")
    assert_api_error(response, 400, "invalid_request")
    assert api.get(reverse(PROFILE)).json()["min_labels_for_auto"] == 10
    assert _predict(api)["status"] == "auto"


def test_a_bad_threshold_in_the_request_is_still_a_400(api, server_rules):
    _set(api, agent_thresholds={"claude-code": 0.9})
    response = api.post(reverse(PREDICT), _request(threshold="high"), format="json")
    assert_api_error(response, 400, "invalid_request")


def _labelled(user, n: int) -> None:
    from predictions.models import Outcome, Prediction

    Prediction.objects.bulk_create(
        Prediction(
            user=user,
            agent="claude-code",
            agent_input=f"q{i}",
            threshold=0.8,
            k=3,
            confidence=0.5,
            raw_confidence=0.5,
            outcome=Outcome.ACCEPTED,
        )
        for i in range(n)
    )


@pytest.mark.parametrize("vendor_path", ["database", "portable"])
def test_the_rules_and_the_label_count_read_in_one_go(
    api, user, other_user, server_rules, monkeypatch, vendor_path
):
    """``answering_rules``: the person's settings and their labels counted up to their own
    minimum; another person's labels never count. The portable path (SQLite) reads the same."""
    from memories.models import UserProfile
    from predictions import selectors

    if vendor_path == "portable":
        monkeypatch.setattr(selectors.connection, "vendor", "sqlite")
    _labelled(user, 5)
    _labelled(other_user, 40)
    rules, labelled = selectors.answering_rules(user=user)
    assert (rules.min_labels_for_auto, rules.never_auto_is_default, labelled) == (30, True, 5)
    assert not UserProfile.objects.filter(user=user).exists()  # a read creates nothing
    _set(
        api,
        min_labels_for_auto=3,
        audit_rate=0.25,
        never_auto=[r"\bterraform\b"],
        agent_thresholds={"codex": 0.95},
        headless_answering=True,
    )
    rules, labelled = selectors.answering_rules(user=user)
    assert labelled == 3
    assert rules.never_auto == (r"\bterraform\b",)
    assert (rules.audit_rate, rules.audit_rate_is_default) == (0.25, False)
    assert rules.threshold_for("codex", 0.8) == 0.95
    assert rules.headless_answering is True
    _set(api, min_labels_for_auto=0)
    assert selectors.answering_rules(user=user)[1] == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="one statement on Postgres")
def test_the_rules_are_one_query(user, server_rules):
    from predictions import selectors

    with CaptureQueriesContext(connection) as captured:
        selectors.answering_rules(user=user)
    assert len(captured.captured_queries) == 1
