"""GET /api/integrations/claude-code/suggested-rules/: rules only where every answer was yes."""

from __future__ import annotations

import pytest
from django.urls import reverse

from predictions.integrations.rules import rule_for
from recording.services import event_ingest
from tests.factories import event
from tests.helpers import assert_api_error

pytestmark = pytest.mark.django_db
URL = "integrations:claude-code-suggested-rules"


def _answered(user, tool, reply, n, cwd="/home/me/app"):
    events = []
    for _ in range(n):
        text = f"{tool['name']}: {next(iter(tool['input'].values()))}"
        payload = {"agent": "claude-code", "text": text, "tool": tool, "cwd": cwd}
        asked = event("agent_prompt", payload=payload)
        events += [asked, event("user_reply", payload={"text": reply, "in_reply_to": asked["id"]})]
    event_ingest(user=user, events=events)


@pytest.mark.parametrize(
    ("tool", "rule"),
    [
        ({"name": "Bash", "input": {"command": "npm test -- --watch"}}, "Bash(npm test:*)"),
        ({"name": "Bash", "input": {"command": "pytest -x tests"}}, "Bash(pytest:*)"),
        ({"name": "Bash", "input": {"command": "make a && make b"}}, None),
        ({"name": "Edit", "input": {"file_path": "/home/me/app/src/a.py"}}, "Edit(src/**)"),
        ({"name": "Write", "input": {"file_path": "/home/me/app/README.md"}}, "Write(README.md)"),
        (
            {"name": "WebFetch", "input": {"url": "https://docs.python.org/3/"}},
            "WebFetch(domain:docs.python.org)",
        ),
        (
            {"name": "mcp__github__create_issue", "input": {"title": "x"}},
            "mcp__github__create_issue",
        ),
        ({"name": "Read", "input": {"file_path": "a"}}, None),
    ],
    ids=[
        "command-head",
        "single-word",
        "compound",
        "edit-dir",
        "root-file",
        "host",
        "mcp",
        "other",
    ],
)
def test_rule_for(tool, rule):
    assert rule_for(tool, "/home/me/app") == rule


def test_rules_for_always_approved_requests_only(api, user):
    _answered(user, {"name": "Bash", "input": {"command": "npm test"}}, "yes", 12)
    _answered(user, {"name": "Edit", "input": {"file_path": "/home/me/app/src/x.py"}}, "yes", 11)
    _answered(user, {"name": "Bash", "input": {"command": "git push origin main"}}, "yes", 12)
    _answered(user, {"name": "Bash", "input": {"command": "git push origin dev"}}, "no", 1)
    _answered(user, {"name": "Bash", "input": {"command": "ls"}}, "yes", 3)
    _answered(user, {"name": "Bash", "input": {"command": "sudo apt update"}}, "yes", 20)
    response = api.get(reverse(URL))
    assert response.status_code == 200
    body = response.json()
    assert [(r["rule"], r["approved"]) for r in body["rules"]] == [
        ("Bash(npm test:*)", 12),
        ("Edit(src/**)", 11),
    ]
    assert body["settings"] == {"permissions": {"allow": ["Bash(npm test:*)", "Edit(src/**)"]}}
    fewer = api.get(reverse(URL) + "?min_count=3").json()
    assert "Bash(ls:*)" in fewer["settings"]["permissions"]["allow"]
    assert not any("sudo" in r["rule"] for r in fewer["rules"])


def test_rules_are_the_callers_own(api, user, other_user):
    _answered(other_user, {"name": "Bash", "input": {"command": "npm test"}}, "yes", 12)
    assert api.get(reverse(URL)).json()["rules"] == []


@pytest.mark.parametrize("query", ["?min_count=0", "?min_count=x"], ids=["zero", "not-a-number"])
def test_rules_bad_query_is_a_400(api, query):
    response = api.get(reverse(URL) + query)
    assert_api_error(response, 400, "invalid_request")


def test_rules_need_credentials(anon_client):
    assert anon_client.get(reverse(URL)).status_code in (401, 403)
