"""The terminal recorder: the secret filter, and real interactive bash and zsh sessions whose
commands reach the live server (or not, when they are secret)."""

import subprocess

import pytest
from conftest import CLONE, has_program, wait_for

from clone_cli.config import DEFAULT_SECRET_PATTERNS
from clone_cli.shell import is_secret, snippet

PATTERNS = list(DEFAULT_SECRET_PATTERNS)


@pytest.mark.parametrize(
    "command",
    [
        " echo leading space",
        "export GITHUB_TOKEN=ghp_abc",
        "mysql --password=hunter2",
        "export AWS_ACCESS_KEY_ID=AKIA",
        "curl -H 'Authorization: Bearer x' https://example.com",
        "echo clone_1f9c2a7e_abcdef",
        "MY_API_KEY=1 ./run",
        "",
    ],
)
def test_secret_commands_are_not_recorded(command):
    assert is_secret(command, PATTERNS)


@pytest.mark.parametrize(
    "command", ["pytest -x tests", "git push origin main", "cd clone_server/accounts", "ls -la"]
)
def test_ordinary_commands_are_recorded(command):
    assert not is_secret(command, PATTERNS)


def test_a_configured_pattern_is_added_to_the_defaults(cli):
    cli.config_dir.mkdir(parents=True)
    (cli.config_dir / "config.toml").write_text('[shell]\nsecret_patterns = ["*vault write*"]\n')
    out = cli("shell-init", "bash").stdout
    assert "VAULT\\ WRITE" in out and "TOKEN" in out


def _events(server, key, session):
    with server.api(key) as api:
        r = api.get(f"/api/recording/sessions/{session}/events/")
        return r.json()["results"] if r.status_code == 200 else []


LINES = [
    "echo hello",
    "false",
    " echo with a leading space",
    "export GITHUB_TOKEN=abc",
    "mysql --password=hunter2 -e 'select 1' || true",
    "ls / >/dev/null",
    "exit",
]


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_a_real_interactive_shell_records_turns_but_never_secrets(
    shell, cli, server, alice_key, tmp_path
):
    if not has_program(shell):
        pytest.skip(f"{shell} is not installed (make cli-system-deps installs it)")
    session = f"term-test-{shell}"
    argv = [shell, "--norc", "--noprofile", "-i"] if shell == "bash" else [shell, "-f", "-i"]
    script = f'eval "$({CLONE} shell-init {shell})"\n' + "\n".join(LINES) + "\n"
    done = subprocess.run(
        argv,
        input=script,
        text=True,
        capture_output=True,
        timeout=60,
        env=cli.env(CLONE_SHELL_SESSION=session, HISTFILE=str(tmp_path / "h")),
        cwd=tmp_path,
    )
    assert "hello" in done.stdout

    got = wait_for(
        lambda: (
            len(_events(server, alice_key, session)) >= 3 and _events(server, alice_key, session)
        )
    )
    commands = {e["payload"]["command"]: e["payload"] for e in got}
    assert set(commands) == {"echo hello", "false", "ls / >/dev/null"}
    assert commands["false"]["exit_code"] == 1
    assert commands["echo hello"]["exit_code"] == 0
    assert commands["ls / >/dev/null"]["cwd"] == str(tmp_path)
    assert all(isinstance(p.get("duration_ms"), int) for p in commands.values())
    assert all("output" not in p for p in commands.values())


def test_the_fish_snippet_is_generated_with_the_patterns():
    text = snippet("fish", PATTERNS, executable="/usr/bin/clone")
    assert "fish_postexec" in text and "'*TOKEN*=*'" in text and "/usr/bin/clone" in text
