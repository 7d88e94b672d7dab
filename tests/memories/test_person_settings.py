"""The person's settings for answering alone, through the profile API, and the pattern rule."""

import pytest
from django.urls import reverse

from memories.person_settings import DEFAULT_NEVER_AUTO, never_auto_match
from memories.selectors import person_settings_get

pytestmark = pytest.mark.django_db

PROFILE = "memories:profile"


def test_defaults_are_the_servers(api, settings):
    settings.CLONE_AUDIT_RATE = 0.07
    body = api.get(reverse(PROFILE)).json()
    assert body["never_auto"] == list(DEFAULT_NEVER_AUTO)
    assert body["never_auto_is_default"] is True
    assert body["audit_rate"] == 0.07
    assert body["agent_thresholds"] == {}
    assert body["headless_answering"] is False


def test_patch_changes_only_what_is_sent(api, user):
    api.put(reverse(PROFILE), {"body": "Ada."}, format="json")
    response = api.patch(
        reverse(PROFILE),
        {
            "never_auto": ["terraform apply*", " kubectl delete "],
            "audit_rate": 0.2,
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
    assert body["agent_thresholds"] == {"claude-code": 0.9, "cursor": 1.0}
    assert api.get(reverse(PROFILE)).json() == body
    effective = person_settings_get(user=user)
    assert effective.threshold_for("claude-code", 0.8) == 0.9
    assert effective.threshold_for("aider", 0.8) == 0.8

    again = api.patch(reverse(PROFILE), {"body": "Ada L."}, format="json").json()
    assert again["body"] == "Ada L." and again["audit_rate"] == 0.2


def test_null_returns_to_the_defaults_and_an_empty_list_means_none(api):
    api.patch(reverse(PROFILE), {"never_auto": [], "audit_rate": 0.5}, format="json")
    assert api.get(reverse(PROFILE)).json()["never_auto"] == []
    body = api.patch(reverse(PROFILE), {"never_auto": None, "audit_rate": None}, format="json")
    assert body.json()["never_auto"] == list(DEFAULT_NEVER_AUTO)
    assert body.json()["audit_rate"] == 0.05


BAD = {
    "empty": {},
    "patterns-not-list": {"never_auto": "rm -rf"},
    "pattern-blank": {"never_auto": [" "]},
    "pattern-not-text": {"never_auto": [5]},
    "pattern-too-long": {"never_auto": ["x" * 201]},
    "too-many-patterns": {"never_auto": [f"p{i}" for i in range(201)]},
    "pattern-nul": {"never_auto": ["a\x00"]},
    "rate-above-one": {"audit_rate": 1.5},
    "rate-negative": {"audit_rate": -0.1},
    "rate-text": {"audit_rate": "0.1"},
    "rate-bool": {"audit_rate": True},
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
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid_request"
    assert api.get(reverse(PROFILE)).json() == before


def test_settings_are_per_user(api, other_user, client_for):
    api.patch(reverse(PROFILE), {"audit_rate": 0.9, "never_auto": []}, format="json")
    theirs = client_for(other_user, "jwt").get(reverse(PROFILE)).json()
    assert theirs["audit_rate"] == 0.05
    assert theirs["never_auto_is_default"] is True


@pytest.mark.parametrize(
    ("text", "tool", "expected"),
    [
        ("Bash: rm -rf build", None, "rm -rf"),
        ("Run it?", {"name": "Bash", "input": {"command": "RM -RF /tmp/x"}}, "rm -rf"),
        (
            "Push?",
            {"name": "Bash", "input": {"command": "git push origin main --force"}},
            "git push * --force",
        ),
        ("Edit?", {"name": "Edit", "input": {"file_path": "/home/ada/.ssh/config"}}, "/.ssh/"),
        ("Run?", {"name": "Bash", "input": {"command": "sudo apt install x"}}, "sudo *"),
        ("Read?", {"name": "Read", "input": {"file_path": "/srv/.env"}}, ".env"),
        ("Run the tests?", {"name": "Bash", "input": {"command": "npm test"}}, None),
        ("Push?", {"name": "Bash", "input": {"command": "git push origin feat-foo"}}, None),
        ("Delete?", {"name": "Bash", "input": {"command": "rm build/out.txt"}}, None),
    ],
    ids=[
        "text",
        "command-case",
        "force-push",
        "ssh",
        "sudo",
        "dotenv",
        "safe",
        "branch-f",
        "rm-file",
    ],
)
def test_default_patterns(text, tool, expected):
    assert never_auto_match(patterns=DEFAULT_NEVER_AUTO, text=text, tool=tool) == expected


def test_patterns_are_globs_matched_anywhere_in_one_text():
    assert never_auto_match(patterns=["deploy * prod"], text="please deploy it to prod", tool=None)
    assert never_auto_match(patterns=["deploy?"], text="Deploy!", tool=None) == "deploy?"
    # Each text on its own: a pattern cannot straddle the question and the command.
    tool = {"name": "Bash", "input": {"command": "prod"}}
    assert never_auto_match(patterns=["deploy*prod"], text="deploy", tool=tool) is None
