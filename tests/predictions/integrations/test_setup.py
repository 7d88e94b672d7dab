"""``GET /api/integrations/<agent>/setup/``: the hooks configuration, through HTTP."""

import json
import shlex

import pytest
from django.urls import reverse

from predictions.integrations.setup import CLAUDE_EVENTS
from recording.models import Event
from tests.helpers import assert_api_error

pytestmark = pytest.mark.django_db


def _setup(client, agent, headers=None, **params):
    return client.get(
        reverse("integrations:setup", kwargs={"agent": agent}), params, **(headers or {})
    )


def test_claude_code_gets_http_hooks_on_this_servers_url_for_every_event(api):
    response = _setup(api, "claude-code")
    assert response.status_code == 200, response.content
    body = response.json()
    url = "http://testserver" + reverse("integrations:claude-code-hooks")
    assert body["hook_url"] == url
    assert (body["form"], body["forms"]) == ("http", ["http", "command"])
    hook = {
        "type": "http",
        "url": url,
        "headers": {"X-Clone-API-Key": "$CLONE_API_KEY"},
        "allowedEnvVars": ["CLONE_API_KEY"],
        "timeout": 10,
    }
    assert body["config"] == {
        "hooks": {event: [{"matcher": "*", "hooks": [hook]}] for event in CLAUDE_EVENTS}
    }
    assert body["events"] == list(CLAUDE_EVENTS)
    assert json.loads(body["text"]) == body["config"]
    assert body["paths"]["project"] == ".claude/settings.json"
    assert "CLONE_API_KEY" in body["notes"][0]


def test_the_hook_url_is_the_host_the_caller_reached(api):
    body = _setup(api, "claude-code", headers={"HTTP_HOST": "localhost:8443"}).json()
    assert body["hook_url"] == "http://localhost:8443/api/integrations/claude-code/hooks/"


def test_the_hook_url_answers_the_agents_hook(api, user):
    """The URL in the snippet is the endpoint that answers Claude Code's events."""
    body = _setup(api, "claude-code").json()
    path = body["hook_url"].removeprefix("http://testserver")
    hook = {
        "session_id": "setup-test",
        "transcript_path": "/home/me/.claude/projects/-home-me-app/setup-test.jsonl",
        "cwd": "/home/me/app",
        "hook_event_name": "UserPromptSubmit",
        "prompt": "hello from the snippet's URL",
    }
    assert api.post(path, hook, format="json").json() == {}
    notes = Event.objects.filter(user=user, kind="note").values_list("payload__text", flat=True)
    assert list(notes) == ["hello from the snippet's URL"]


def test_the_command_form_runs_the_given_program_quoted(api):
    body = _setup(api, "claude-code", form="command", program="/opt/my tools/clone").json()
    hook = body["config"]["hooks"]["PermissionRequest"][0]["hooks"][0]
    assert hook == {
        "type": "command",
        "command": "'/opt/my tools/clone' hook claude-code",
        "timeout": 10,
    }
    assert shlex.split(hook["command"]) == ["/opt/my tools/clone", "hook", "claude-code"]


@pytest.mark.parametrize(
    ("agent", "events", "first"),
    [
        pytest.param("codex", 5, "PermissionRequest", id="codex"),
        pytest.param("gemini", 6, "BeforeTool", id="gemini"),
        pytest.param("cursor", 6, "beforeShellExecution", id="cursor"),
    ],
)
def test_other_agents_get_curl_command_hooks_to_their_endpoint(api, agent, events, first):
    body = _setup(api, agent).json()
    assert body["form"] == "curl"
    url = f"http://testserver/api/integrations/{agent}/hooks/"
    assert body["hook_url"] == url
    hooks = body["config"]["hooks"]
    assert len(hooks) == events and next(iter(hooks)) == first
    entry = hooks[first][0]
    command = entry["command"] if agent == "cursor" else entry["hooks"][0]["command"]
    argv = shlex.split(command)
    assert argv[0] == "curl" and argv[-1] == url and "--fail" in argv
    assert "X-Clone-API-Key: $CLONE_API_KEY" in argv


def test_the_agents_own_file_shapes(api):
    cursor = _setup(api, "cursor").json()["config"]
    assert cursor["version"] == 1
    assert "preToolUse" not in cursor["hooks"]  # its answer shape is not confirmed
    assert set(cursor["hooks"]["stop"][0]) == {"command"}
    gemini = _setup(api, "gemini").json()["config"]["hooks"]
    assert gemini["BeforeTool"][0]["matcher"] == ".*"
    assert "matcher" not in gemini["BeforeAgent"][0]
    codex = _setup(api, "codex", form="command").json()["config"]["hooks"]
    assert codex["Stop"] == [{"hooks": [{"type": "command", "command": "clone hook codex"}]}]


@pytest.mark.parametrize(
    ("agent", "paths"),
    [
        pytest.param("codex", {"user": "~/.codex/hooks.json", "project": ".codex/hooks.json"}),
        pytest.param(
            "gemini", {"user": "~/.gemini/settings.json", "project": ".gemini/settings.json"}
        ),
        pytest.param("cursor", {"user": "~/.cursor/hooks.json", "project": ".cursor/hooks.json"}),
    ],
)
def test_each_agents_hooks_files_by_scope(api, agent, paths):
    assert _setup(api, agent).json()["paths"] == paths


@pytest.mark.parametrize("agent", ["aider", "vim", "Claude-Code"])
def test_an_unknown_agent_is_a_404_naming_the_known_ones(api, agent):
    response = _setup(api, agent)
    error = assert_api_error(response, 404, "not_found")
    assert "claude-code, codex, gemini, cursor" in error["message"]


@pytest.mark.parametrize(
    ("agent", "params"),
    [
        pytest.param("codex", {"form": "http"}, id="http-for-an-agent-without-http-hooks"),
        pytest.param("claude-code", {"form": "curl"}, id="curl-for-claude-code"),
        pytest.param("claude-code", {"form": "smoke-signal"}, id="unknown-form"),
        pytest.param("claude-code", {"program": "clone\nrm -rf ~"}, id="newline-in-program"),
        pytest.param("claude-code", {"program": "c" * 1025}, id="program-too-long"),
    ],
)
def test_bad_parameters_are_a_400(api, agent, params):
    response = _setup(api, agent, **params)
    assert_api_error(response, 400, "invalid_request")


def test_without_credentials_it_is_a_401(anon_client):
    response = _setup(anon_client, "claude-code")
    assert_api_error(response, 401, "not_authenticated")
