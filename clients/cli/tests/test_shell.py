"""The terminal recorder: the secret filter, and real interactive bash and zsh sessions whose
commands reach the live server (or not, when they are secret)."""

import json
import subprocess
import sys

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


def _turn(cli, command: str, seq: int, session: str = "term-sender", **env: str):
    return cli(
        "record",
        "turn",
        "--session",
        session,
        "--seq",
        str(seq),
        "--exit-code",
        "0",
        "--cwd",
        "/srv/shop",
        "--duration-ms",
        "12",
        input=command,
        **env,
    )


def test_the_sender_records_a_turn_with_the_standard_library_only(cli, server, alice_key):
    # The command the shell recorder starts after every command: what it imports it pays for
    # at every prompt, so it never loads the full command set.
    probe = (
        "import sys\n"
        "from clone_cli.main import main\n"
        "code = main(sys.argv[1:])\n"
        "heavy = {'typer', 'httpx', 'rich', 'jsonschema', 'click'} & set(sys.modules)\n"
        "sys.exit(f'imported {sorted(heavy)}' if heavy else code)\n"
    )
    args = ["record", "turn", "--session", "term-lean", "--seq", "1", "--exit-code", "2"]
    done = subprocess.run(
        [sys.executable, "-c", probe, *args, "--cwd=/srv/shop", "--duration-ms=40"],
        input="make test\n",
        text=True,
        capture_output=True,
        env=cli.env(),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    (event,) = _events(server, alice_key, "term-lean")
    assert event["id"] == "term-lean:000001"
    # The newline a bash here-string adds is not part of the command.
    assert event["payload"] == {
        "command": "make test",
        "exit_code": 2,
        "cwd": "/srv/shop",
        "duration_ms": 40,
    }


def test_the_sender_never_sends_a_secret_even_from_a_stale_snippet(cli, server, alice_key):
    assert _turn(cli, "export GITHUB_TOKEN=ghp_abc", 1, "term-secret").returncode == 0
    assert _turn(cli, "echo fine", 2, "term-secret").returncode == 0
    assert [e["payload"]["command"] for e in _events(server, alice_key, "term-secret")] == [
        "echo fine"
    ]


def test_the_sender_spools_when_the_server_is_down_and_the_next_command_sends_it(
    cli, dead_url, server, alice_key
):
    down = _turn(cli, "git push", 1, "term-offline", CLONE_URL=dead_url)
    assert down.returncode == 0
    spooled = (cli.data_dir / "spool.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in spooled] == ["term-offline:000001"]
    # With the spool holding events, the full command set takes over and sends it first.
    assert _turn(cli, "git status", 2, "term-offline").returncode == 0
    got = wait_for(lambda: len(_events(server, alice_key, "term-offline")) == 2)
    assert got
    assert (cli.data_dir / "spool.jsonl").read_text() == ""


def test_the_sender_with_a_refused_key_spools_nothing(cli, server):
    refused = _turn(cli, "ls", 1, "term-refused", CLONE_API_KEY="clone_00000000_nope")
    assert refused.returncode == 3
    assert not (cli.data_dir / "spool.jsonl").exists()


def test_the_bash_snippet_hands_the_command_over_in_one_fork():
    text = snippet("bash", PATTERNS, executable="/usr/bin/clone")
    (line,) = [line for line in text.splitlines() if "record turn" in line]
    assert line.strip().startswith("(") and line.rstrip().endswith("&)")
    assert '<<<"$cmd"' in line and "printf" not in line
    # History is read without truncating a file at every prompt.
    assert 'history 1 1<>"$__clone_hist"' in text
