"""login / logout / status and the exit codes, through the real `clone` command."""

import os
import stat
import tomllib

import httpx
from conftest import PASSWORD, Cli


def test_login_creates_a_machine_key_saved_with_mode_0600_and_status_shows_it(anon_cli):
    result = anon_cli("login", "--username", "alice", "--password-stdin", input=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    path = anon_cli.config_dir / "config.toml"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    saved = tomllib.loads(path.read_text())["server"]
    assert saved["api_key"].startswith("clone_") and saved["username"] == "alice"
    assert PASSWORD not in path.read_text()

    status = anon_cli("--json", "status")
    assert status.returncode == 0, status.stderr
    body = status.json
    assert body["health"]["status"] == "ok"
    assert body["user"]["key"]["name"].startswith("clone cli on ")
    assert body["user"]["key_from"] == "config"
    assert body["user"]["username"] == "alice"
    assert {"events", "facts", "predictions", "awaiting_answer"} <= body["counts"].keys()


def test_logout_revokes_the_key_on_the_server_and_forgets_it(anon_cli, server):
    assert anon_cli("login", "-u", "alice", "--password-stdin", input=PASSWORD).returncode == 0
    key = tomllib.loads((anon_cli.config_dir / "config.toml").read_text())["server"]["api_key"]
    assert anon_cli("logout").returncode == 0
    assert "api_key" not in (anon_cli.config_dir / "config.toml").read_text()
    r = httpx.get(f"{server.url}/api/auth/api-keys/", headers={"X-Clone-API-Key": key})
    assert r.status_code == 401
    again = anon_cli("--json", "status")
    assert again.json["user"] is None


def test_logging_in_again_replaces_this_machines_key(anon_cli, server):
    anon_cli("login", "-u", "alice", "--password-stdin", input=PASSWORD)
    first = tomllib.loads((anon_cli.config_dir / "config.toml").read_text())["server"]["api_key"]
    anon_cli("login", "-u", "alice", "--password-stdin", input=PASSWORD)
    assert (
        httpx.get(
            f"{server.url}/api/auth/api-keys/", headers={"X-Clone-API-Key": first}
        ).status_code
        == 401
    )


def test_env_overrides_the_saved_url_and_key(anon_cli, alice_key, dead_url):
    anon_cli("login", "-u", "alice", "--password-stdin", input=PASSWORD)
    result = anon_cli("--json", "status", CLONE_URL=dead_url)
    assert result.returncode == 4
    assert result.json["error"]["code"] == "server_unreachable"


def test_wrong_password_is_exit_3_with_the_servers_code(anon_cli):
    result = anon_cli("login", "-u", "alice", "--password-stdin", input="wrong\n")
    assert result.returncode == 3
    assert "authentication_failed" in result.stderr or "no_active_account" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_key_is_exit_3(anon_cli):
    result = anon_cli("--json", "facts", "list")
    assert result.returncode == 3
    assert result.json["error"]["code"] == "not_logged_in"


def test_a_refused_key_is_exit_3(tmp_path, server):
    result = Cli(tmp_path, server.url, "clone_deadbeef_nope")("facts", "list")
    assert result.returncode == 3
    assert "authentication_failed" in result.stderr


def test_server_unreachable_is_exit_4_and_no_traceback(tmp_path, dead_url, alice_key):
    result = Cli(tmp_path, dead_url, alice_key)("predict", "Run the tests?")
    assert result.returncode == 4
    assert "server_unreachable" in result.stderr and "Traceback" not in result.stderr


def test_usage_errors_are_exit_2(cli):
    assert cli("no-such-command").returncode == 2
    assert cli("feedback", "1", "maybe").returncode == 2
    assert cli("predict").returncode == 2
    assert cli("shell-init", "tcsh").returncode == 2


def test_a_server_refusal_is_exit_1_with_code_and_message(cli):
    result = cli("--json", "feedback", "999999", "accepted")
    assert result.returncode == 1
    assert result.json["error"]["code"] == "not_found"
    human = cli("feedback", "999999", "accepted")
    assert human.returncode == 1 and "not_found" in human.stderr
    assert "Traceback" not in human.stderr
