"""hooks install/uninstall into a temporary HOME, and `clone hook` failing safe."""

import json
import os
import shlex
import socket
import subprocess
import threading
from pathlib import Path

import httpx
import pytest
from conftest import CLONE, Cli, free_port, has_program

OTHER = {
    "model": "opus",
    "permissions": {"allow": ["Bash(ls:*)"]},
    "hooks": {
        "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "audit.sh"}]}],
        "Notification": [{"matcher": "", "hooks": [{"type": "command", "command": "notify"}]}],
    },
}


def _server_setup(cli, **params):
    with httpx.Client(base_url=cli.url, headers={"X-Clone-API-Key": cli.key}) as api:
        response = api.get("/api/integrations/claude-code/setup/", params=params)
    response.raise_for_status()
    return response.json()


def _settings(cli):
    return json.loads((cli.home / ".claude" / "settings.json").read_text())


def test_install_merges_keeps_everything_else_backs_up_and_is_idempotent(cli):
    path = cli.home / ".claude" / "settings.json"
    path.parent.mkdir()
    path.write_text(json.dumps(OTHER))

    first = cli("--json", "hooks", "install", "claude-code")
    assert first.returncode == 0, first.stderr
    assert first.json["changed"] and first.json["backup"]
    assert json.loads(Path(first.json["backup"]).read_text()) == OTHER
    data = _settings(cli)
    assert data["model"] == "opus" and data["permissions"] == OTHER["permissions"]
    assert data["hooks"]["Notification"] == OTHER["hooks"]["Notification"]
    pre = data["hooks"]["PreToolUse"]
    assert pre[0] == OTHER["hooks"]["PreToolUse"][0]
    ours = pre[1]["hooks"][0]
    assert ours["type"] == "http"
    assert ours["url"] == f"{cli.url}/api/integrations/claude-code/hooks/"
    assert ours["headers"] == {"X-Clone-API-Key": "$CLONE_API_KEY"}
    assert "PermissionRequest" in data["hooks"] and "Stop" in data["hooks"]
    assert cli.key not in path.read_text()
    # Exactly the server's configuration, the one the web app's Connect screen shows.
    setup = _server_setup(cli)
    assert first.json["events"] == setup["events"]
    for event, groups in setup["config"]["hooks"].items():
        assert data["hooks"][event][-1:] == groups

    again = cli("--json", "hooks", "install", "claude-code")
    assert again.json["changed"] is False
    assert _settings(cli) == data

    removed = cli("--json", "hooks", "uninstall", "claude-code")
    assert removed.returncode == 0 and removed.json["removed"] == len(first.json["events"])
    assert _settings(cli) == OTHER


def test_install_into_a_project_and_the_command_form(cli, tmp_path):
    project = tmp_path / "proj"
    project.mkdir()
    result = cli(
        "--json", "hooks", "install", "claude-code", "--project", "--form", "command", cwd=project
    )
    assert result.returncode == 0, result.stderr
    data = json.loads((project / ".claude" / "settings.json").read_text())
    hook = data["hooks"]["PermissionRequest"][0]["hooks"][0]
    assert hook["type"] == "command"
    # This machine's clone, by its absolute path, so the agent finds it without this PATH.
    assert shlex.split(hook["command"]) == [CLONE, "hook", "claude-code"]
    assert cli("hooks", "uninstall", "claude-code", "--project", cwd=project).returncode == 0
    assert json.loads((project / ".claude" / "settings.json").read_text()) == {}


def test_install_needs_the_server_and_leaves_the_file_alone_without_it(tmp_path, dead_url, cli):
    path = tmp_path / ".claude" / "settings.json"
    path.parent.mkdir()
    path.write_text(json.dumps(OTHER))
    down = Cli(tmp_path, dead_url, cli.key)("hooks", "install", "claude-code")
    assert down.returncode == 4 and "server_unreachable" in down.stderr
    anon = Cli(tmp_path, cli.url)("hooks", "install", "claude-code")
    assert anon.returncode == 3 and "not_logged_in" in anon.stderr
    assert json.loads(path.read_text()) == OTHER
    assert not list(path.parent.glob("*.clone-backup-*"))


def test_an_unknown_form_is_a_usage_error(cli):
    result = cli("hooks", "install", "claude-code", "--form", "curl")
    assert result.returncode == 2
    assert not (cli.home / ".claude" / "settings.json").exists()


@pytest.mark.skipif(not has_program("curl"), reason="curl is not installed")
def test_the_servers_curl_snippet_for_codex_reaches_its_adapter(cli, tmp_path):
    """The command the setup gives Codex users, run as Codex runs it (the hook JSON on stdin,
    the key in the environment): the adapter's answer comes back on stdout."""
    with httpx.Client(base_url=cli.url, headers={"X-Clone-API-Key": cli.key}) as api:
        setup = api.get("/api/integrations/codex/setup/").json()
    command = setup["config"]["hooks"]["UserPromptSubmit"][0]["hooks"][0]["command"]
    event = {
        "session_id": "codex-setup-test",
        "turn_id": "t-1",
        "cwd": str(tmp_path),
        "hook_event_name": "UserPromptSubmit",
        "prompt": "hello from codex",
    }
    done = subprocess.run(
        ["sh", "-c", command],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], "CLONE_API_KEY": cli.key},
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {}
    with httpx.Client(base_url=cli.url, headers={"X-Clone-API-Key": cli.key}) as api:
        events = api.get("/api/recording/sessions/codex:codex-setup-test/events/").json()
    assert [e["payload"]["text"] for e in events["results"]] == ["hello from codex"]
    # A refused key prints nothing (curl --fail), which the agent reads as no decision.
    refused = subprocess.run(
        ["sh", "-c", command],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], "CLONE_API_KEY": "clone_nope_nope"},
        timeout=30,
    )
    assert refused.stdout == ""


def test_a_settings_file_that_is_not_json_is_left_alone(cli):
    path = cli.home / ".claude" / "settings.json"
    path.parent.mkdir()
    path.write_text("{not json")
    result = cli("hooks", "install", "claude-code")
    assert result.returncode == 2 and "invalid_settings" in result.stderr
    assert path.read_text() == "{not json"


# What the person already had in each agent's file, which install and uninstall must keep.
THEIRS = {
    "codex": {"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}]}},
    "gemini": {
        "theme": "GitHub",
        "tools": {"enableHooks": True},
        "hooks": {
            "BeforeTool": [
                {"matcher": "run_shell", "hooks": [{"type": "command", "command": "audit.sh"}]}
            ]
        },
    },
    "cursor": {"version": 1, "hooks": {"stop": [{"command": "./record-stop.sh"}]}},
}
FILES = {
    "codex": ".codex/hooks.json",
    "gemini": ".gemini/settings.json",
    "cursor": ".cursor/hooks.json",
}


def _setup(cli, agent, **params):
    with httpx.Client(base_url=cli.url, headers={"X-Clone-API-Key": cli.key}) as api:
        response = api.get(f"/api/integrations/{agent}/setup/", params=params)
    response.raise_for_status()
    return response.json()


@pytest.mark.parametrize("agent", ["codex", "gemini", "cursor"])
def test_install_for_a_command_hook_agent_merges_the_servers_hooks_and_uninstall_restores(
    cli, agent
):
    path = cli.home / FILES[agent]
    path.parent.mkdir()
    path.write_text(json.dumps(THEIRS[agent]))

    first = cli("--json", "hooks", "install", agent)
    assert first.returncode == 0, first.stderr
    assert (
        first.json["changed"]
        and json.loads(Path(first.json["backup"]).read_text()) == (THEIRS[agent])
    )
    data = json.loads(path.read_text())
    for key, value in THEIRS[agent].items():
        if key != "hooks":
            assert data[key] == value
    # The server's fragment, appended after what was there, event by event.
    setup = _setup(cli, agent)
    assert setup["form"] == "curl" and first.json["events"] == setup["events"]
    for event, entries in setup["config"]["hooks"].items():
        theirs = THEIRS[agent]["hooks"].get(event, [])
        assert data["hooks"][event] == theirs + entries
    assert cli.key not in path.read_text()

    again = cli("--json", "hooks", "install", agent)
    assert again.returncode == 0 and again.json["changed"] is False
    assert json.loads(path.read_text()) == data

    removed = cli("--json", "hooks", "uninstall", agent)
    assert removed.returncode == 0, removed.stderr
    assert removed.json["removed"] == len(setup["events"])
    assert json.loads(path.read_text()) == THEIRS[agent]
    assert cli("--json", "hooks", "uninstall", agent).json["changed"] is False


def test_codex_in_the_command_form_runs_this_machines_clone(cli):
    result = cli("--json", "hooks", "install", "codex", "--form", "command")
    assert result.returncode == 0, result.stderr
    data = json.loads((cli.home / ".codex" / "hooks.json").read_text())
    (group,) = data["hooks"]["PermissionRequest"]
    assert shlex.split(group["hooks"][0]["command"]) == [CLONE, "hook", "codex"]
    # Switching form replaces Clone's hooks instead of adding a second set.
    switched = cli("--json", "hooks", "install", "codex")
    assert switched.json["changed"] and switched.json["form"] == "curl"
    data = json.loads((cli.home / ".codex" / "hooks.json").read_text())
    assert all(len(entries) == 1 for entries in data["hooks"].values())
    assert cli("hooks", "uninstall", "codex").returncode == 0
    assert json.loads((cli.home / ".codex" / "hooks.json").read_text()) == {}


@pytest.mark.parametrize("agent", ["codex", "gemini", "cursor"])
def test_project_hooks_go_into_the_project(cli, tmp_path, agent):
    project = tmp_path / "proj"
    project.mkdir()
    result = cli("--json", "hooks", "install", agent, "--project", cwd=project)
    assert result.returncode == 0, result.stderr
    path = project / FILES[agent]
    assert result.json["path"] == str(path)
    assert json.loads(path.read_text())["hooks"]
    assert not (cli.home / FILES[agent]).exists()
    assert cli("hooks", "uninstall", agent, "--project", cwd=project).returncode == 0
    # Cursor's file keeps the version it needs; nothing of Clone's is left.
    assert json.loads(path.read_text()) == ({"version": 1} if agent == "cursor" else {})


def test_the_clients_agents_and_files_are_the_servers(cli):
    from clone_cli.agent_hooks import AGENTS

    for agent, paths in AGENTS.items():
        assert _setup(cli, agent)["paths"] == paths


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["install", "aider"], "Unknown agent 'aider'", id="unknown-agent-install"),
        pytest.param(["uninstall", "vim"], "Unknown agent 'vim'", id="unknown-agent-uninstall"),
        pytest.param(["install", "codex", "--local"], "codex has no local", id="no-scope"),
        pytest.param(["install", "cursor", "--local"], "cursor has no local", id="no-local"),
        pytest.param(["install", "codex", "--form", "http"], "curl or command", id="bad-form"),
        pytest.param(["install", "gemini", "--user", "--project"], "Choose one", id="two-scopes"),
    ],
)
def test_bad_input_is_exit_2_with_a_clear_message_and_writes_nothing(cli, args, message):
    result = cli("hooks", *args, cwd=cli.home)
    assert result.returncode == 2
    assert message in result.stderr, result.stderr
    assert not any(p.is_file() for p in cli.home.rglob("*.json"))


@pytest.mark.parametrize("agent", ["codex", "gemini", "cursor"])
def test_install_with_the_server_down_is_exit_4_and_writes_nothing(tmp_path, dead_url, cli, agent):
    path = tmp_path / FILES[agent]
    path.parent.mkdir()
    path.write_text(json.dumps(THEIRS[agent]))
    down = Cli(tmp_path, dead_url, cli.key)("hooks", "install", agent)
    assert down.returncode == 4 and "server_unreachable" in down.stderr
    assert json.loads(path.read_text()) == THEIRS[agent]
    assert list(path.parent.iterdir()) == [path]
    fresh = Cli(tmp_path / "empty", dead_url, cli.key)
    fresh.home.mkdir()
    assert fresh("hooks", "install", agent).returncode == 4
    assert list(fresh.home.iterdir()) == []


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("{not json", id="not-json"),
        pytest.param('["a list"]', id="not-an-object"),
        pytest.param('{"hooks": []}', id="hooks-not-an-object"),
        pytest.param('{"hooks": {"stop": {}}}', id="event-not-a-list"),
    ],
)
@pytest.mark.parametrize("agent", ["gemini", "cursor"])
@pytest.mark.parametrize("action", ["install", "uninstall"])
def test_a_hooks_file_that_cannot_be_merged_is_left_untouched(cli, agent, action, text):
    path = cli.home / FILES[agent]
    path.parent.mkdir()
    path.write_text(text)
    result = cli("hooks", action, agent)
    assert result.returncode == 2 and "invalid_settings" in result.stderr
    assert str(path) in result.stderr
    assert path.read_text() == text
    assert list(path.parent.iterdir()) == [path]


HOOK = json.dumps(
    {
        "session_id": "s1",
        "hook_event_name": "PermissionRequest",
        "tool_name": "Bash",
        "tool_input": {"command": "make test"},
        "cwd": "/home/me/shop",
        "transcript_path": "/home/me/t.jsonl",
    }
)


def test_hook_with_the_server_down_prints_nothing_and_exits_0(tmp_path, dead_url, alice_key):
    result = Cli(tmp_path, dead_url, alice_key)("hook", "codex", input=HOOK)
    assert (result.returncode, result.stdout) == (0, "")


def test_hook_not_logged_in_prints_nothing_and_exits_0(anon_cli):
    result = anon_cli("hook", "codex", input=HOOK)
    assert (result.returncode, result.stdout) == (0, "")


def test_hook_with_bad_input_prints_nothing_and_exits_0(cli):
    assert (
        cli("hook", "codex", input="not json").returncode,
        cli("hook", "codex", input="").stdout,
    ) == (0, "")


def test_a_server_that_hangs_is_cut_off_at_the_deadline(tmp_path, alice_key):
    listener = socket.socket()
    listener.bind(("127.0.0.1", free_port()))
    listener.listen(8)
    held = []
    threading.Thread(target=lambda: held.append(listener.accept()), daemon=True).start()
    try:
        cli = Cli(tmp_path, f"http://127.0.0.1:{listener.getsockname()[1]}", alice_key)
        result = cli("hook", "gemini", "--timeout", "1", input=HOOK)
    finally:
        listener.close()
    assert (result.returncode, result.stdout) == (0, "")
    assert result.seconds < 2.5


def test_hook_refused_by_the_server_prints_nothing(cli):
    # Until an adapter answers for this agent, the server says 404: nothing is printed.
    result = cli("hook", "no-such-agent", input=HOOK)
    assert (result.returncode, result.stdout) == (0, "")


def test_hook_usage_mistakes_by_a_person_are_exit_2(cli):
    assert cli("hook").returncode == 2
    assert cli("hook", "Bad Agent!").returncode == 2


@pytest.mark.parametrize("agent", ["claude-code"])
def test_hook_forwards_to_the_servers_adapter_and_prints_its_answer(cli, server, agent):
    with server.api(cli.key) as api:
        probe = api.post(
            f"/api/integrations/{agent}/hooks/",
            content=HOOK,
            headers={"Content-Type": "application/json"},
        )
    if probe.status_code == 404 and probe.json()["error"]["code"] == "not_found":
        pytest.skip("the server's hook endpoint is not on main yet")
    result = cli("hook", agent, input=HOOK)
    assert result.returncode == 0
    assert isinstance(json.loads(result.stdout), dict)
