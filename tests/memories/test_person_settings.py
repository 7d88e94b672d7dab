"""The person's settings for answering alone, through the profile API, and the pattern rule."""

import pytest
from django.urls import reverse

from memories.person_settings import DEFAULT_NEVER_AUTO
from memories.selectors import person_settings_get
from tests.helpers import assert_api_error

pytestmark = pytest.mark.django_db

PROFILE = "memories:profile"


def test_defaults_are_the_servers(api, settings):
    settings.CLONE_AUDIT_RATE = 0.07
    settings.CLONE_MIN_LABELS_FOR_AUTO = 25
    body = api.get(reverse(PROFILE)).json()
    assert body["never_auto"] == list(DEFAULT_NEVER_AUTO)
    assert body["never_auto_is_default"] is True
    assert body["audit_rate"] == 0.07
    assert body["min_labels_for_auto"] == 25
    assert body["audit_rate_is_default"] is True
    assert body["agent_thresholds"] == {}
    assert body["headless_answering"] is False


def test_patch_changes_only_what_is_sent(api, user):
    api.put(reverse(PROFILE), {"body": "Ada."}, format="json")
    response = api.patch(
        reverse(PROFILE),
        {
            "never_auto": ["terraform apply*", " kubectl delete "],
            "audit_rate": 0.2,
            "min_labels_for_auto": 12,
            "agent_thresholds": {"claude-code": 0.9, "cursor": 1},
            "headless_answering": True,
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["body"] == "Ada."
    assert body["never_auto"] == ["terraform apply*", "kubectl delete"]
    assert body["never_auto_is_default"] is False
    assert (body["audit_rate"], body["headless_answering"]) == (0.2, True)
    assert body["min_labels_for_auto"] == 12
    assert body["audit_rate_is_default"] is False
    assert body["agent_thresholds"] == {"claude-code": 0.9, "cursor": 1.0}
    assert api.get(reverse(PROFILE)).json() == body
    effective = person_settings_get(user=user)
    assert effective.min_labels_for_auto == 12
    assert effective.threshold_for("claude-code", 0.8) == 0.9
    assert effective.threshold_for("aider", 0.8) == 0.8

    again = api.patch(reverse(PROFILE), {"body": "Ada L."}, format="json").json()
    assert again["body"] == "Ada L." and again["audit_rate"] == 0.2


def test_null_returns_to_the_defaults_and_an_empty_list_means_none(api, settings):
    settings.CLONE_AUDIT_RATE = 0.05
    settings.CLONE_MIN_LABELS_FOR_AUTO = 30
    api.patch(
        reverse(PROFILE),
        {"never_auto": [], "audit_rate": 0.5, "min_labels_for_auto": 0},
        format="json",
    )
    body = api.get(reverse(PROFILE)).json()
    assert (body["never_auto"], body["min_labels_for_auto"]) == ([], 0)
    body = api.patch(
        reverse(PROFILE),
        {"never_auto": None, "audit_rate": None, "min_labels_for_auto": None},
        format="json",
    )
    assert body.json()["never_auto"] == list(DEFAULT_NEVER_AUTO)
    assert body.json()["audit_rate"] == 0.05
    assert body.json()["min_labels_for_auto"] == 30


def test_the_audit_rate_says_whether_it_is_the_servers_default(api, settings):
    settings.CLONE_AUDIT_RATE = 0.05
    api.patch(reverse(PROFILE), {"never_auto": [], "audit_rate": 0.05}, format="json")
    pinned = api.get(reverse(PROFILE)).json()
    assert pinned["never_auto"] == []
    # The default's own value, chosen by the person, is theirs: a later default does not move it.
    assert (pinned["audit_rate"], pinned["audit_rate_is_default"]) == (0.05, False)
    body = api.patch(reverse(PROFILE), {"never_auto": None, "audit_rate": None}, format="json")
    assert body.json()["never_auto"] == list(DEFAULT_NEVER_AUTO)
    assert (body.json()["audit_rate"], body.json()["audit_rate_is_default"]) == (0.05, True)
    settings.CLONE_AUDIT_RATE = 0.1
    assert api.get(reverse(PROFILE)).json()["audit_rate"] == 0.1


BAD = {
    "empty": {},
    "patterns-not-list": {"never_auto": "rm -rf"},
    "pattern-blank": {"never_auto": [" "]},
    "pattern-not-text": {"never_auto": [5]},
    "pattern-too-long": {"never_auto": ["x" * 201]},
    "too-many-patterns": {"never_auto": [f"p{i}" for i in range(201)]},
    "pattern-nul": {"never_auto": ["a\x00"]},
    "pattern-not-regex": {"never_auto": ["rm -rf ("]},
    "rate-above-one": {"audit_rate": 1.5},
    "rate-negative": {"audit_rate": -0.1},
    "rate-text": {"audit_rate": "0.1"},
    "rate-bool": {"audit_rate": True},
    "min-labels-negative": {"min_labels_for_auto": -1},
    "min-labels-fraction": {"min_labels_for_auto": 2.5},
    "min-labels-text": {"min_labels_for_auto": "30"},
    "thresholds-list": {"agent_thresholds": [0.9]},
    "threshold-above-one": {"agent_thresholds": {"claude-code": 2}},
    "threshold-text": {"agent_thresholds": {"claude-code": "high"}},
    "threshold-agent-empty": {"agent_thresholds": {"": 0.5}},
    "headless-text": {"headless_answering": "yes"},
    "headless-number": {"headless_answering": 1},
    "body-number": {"body": 5},
}


@pytest.mark.parametrize("body", BAD.values(), ids=BAD.keys())
def test_bad_settings_are_400_and_change_nothing(api, body):
    before = api.get(reverse(PROFILE)).json()
    response = api.patch(reverse(PROFILE), body, format="json")
    assert_api_error(response, 400, "invalid_request")
    assert api.get(reverse(PROFILE)).json() == before


def test_settings_are_per_user(api, other_user, client_for, settings):
    settings.CLONE_AUDIT_RATE = 0.05
    api.patch(reverse(PROFILE), {"audit_rate": 0.9, "never_auto": []}, format="json")
    theirs = client_for(other_user, "jwt").get(reverse(PROFILE)).json()
    assert theirs["audit_rate"] == 0.05
    assert theirs["never_auto_is_default"] is True


def test_the_default_list_is_the_one_the_predictor_applies():
    from predictions import confidence

    assert confidence.DEFAULT_NEVER_AUTO == DEFAULT_NEVER_AUTO
    found = confidence.never_auto_match(
        patterns=DEFAULT_NEVER_AUTO,
        text="Run it?",
        tool={"name": "Bash", "input": {"command": "git push origin main --force"}},
    )
    assert found is not None
