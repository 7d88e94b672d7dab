"""Driving the real Claude Code CLI against Clone: the pinned binary, a temporary HOME whose
settings point Claude Code's hooks at Clone, the streaming fake model, and tmux.

The CLI is installed by ``make claude-code`` (npm, pinned by tests/e2e/claude_code/
package-lock.json) into ``.cache/claude-code``.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings

FIXTURES = Path(__file__).parent.parent / "predictions" / "integrations" / "fixtures"
HOOK_EVENTS = (
    "UserPromptSubmit",
    "PreToolUse",
    "PermissionRequest",
    "PostToolUse",
    "Notification",
    "Stop",
    "SessionEnd",
)
FAKE_MODEL_KEY = "sk-ant-e2e-fake-key-000000000000"


def claude_binary() -> Path | None:
    path = Path(settings.BASE_DIR) / ".cache" / "claude-code" / "node_modules" / ".bin" / "claude"
    return path if path.exists() else None


@dataclass
class Workspace:
    home: Path
    project: Path

    def env(self, *, model_url: str, clone_key: str) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "TERM": "xterm-256color",
            "ANTHROPIC_BASE_URL": model_url,
            "ANTHROPIC_API_KEY": FAKE_MODEL_KEY,
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "CLONE_API_KEY": clone_key,
        }


def workspace_create(root: Path, *, clone_url: str) -> Workspace:
    """A HOME with first-run screens answered and a project whose hooks call Clone."""
    home, project = root / "home", root / "project"
    (project / ".claude").mkdir(parents=True)
    home.mkdir()
    hook = {
        "type": "http",
        "url": f"{clone_url}/api/integrations/claude-code/hooks/",
        "headers": {"X-Clone-API-Key": "$CLONE_API_KEY"},
        "allowedEnvVars": ["CLONE_API_KEY"],
        "timeout": 10,
    }
    hooks = {event: [{"matcher": "*", "hooks": [hook]}] for event in HOOK_EVENTS}
    (project / ".claude" / "settings.json").write_text(json.dumps({"hooks": hooks}, indent=2))
    (home / ".claude.json").write_text(
        json.dumps(
            {
                "hasCompletedOnboarding": True,
                "customApiKeyResponses": {"approved": [FAKE_MODEL_KEY[-20:]], "rejected": []},
                "projects": {str(project): {"hasTrustDialogAccepted": True}},
            }
        )
    )
    return Workspace(home=home, project=project)


def headless_run(binary: Path, workspace: Workspace, prompt: str, env: dict[str, str]) -> dict:
    """``claude -p PROMPT --output-format json`` in the project; its JSON result."""
    done = subprocess.run(
        [str(binary), "-p", prompt, "--output-format", "json"],
        cwd=workspace.project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-2000:])
    return json.loads(done.stdout)


# --- A history in the transcript format, built from lines the real CLI wrote -----------------


def _template_lines() -> dict[str, dict]:
    lines = [
        json.loads(line) for line in (FIXTURES / "claude_code_transcript_interactive.jsonl").open()
    ]
    users = [line for line in lines if line["type"] == "user"]
    return {
        "prompt": next(u for u in users if isinstance(u["message"]["content"], str)),
        "tool_use": next(
            line
            for line in lines
            if line["type"] == "assistant" and line["message"]["content"][0]["type"] == "tool_use"
        ),
        "yes": next(u for u in users if "permissionDecision" in u),
        "no": next(u for u in users if u.get("toolUseResult") == "User rejected tool use"),
    }


def history_lines(*, answers: list[tuple[str, str]], cwd: str, days_ago: int = 30) -> list[dict]:
    """Transcript lines in which the person answered each ``(command, "yes"|"no")`` in the
    dialog, one prompt per command, sessions of ten, a few minutes apart."""
    templates = _template_lines()
    start = datetime.now(UTC) - timedelta(days=days_ago)
    out: list[dict] = []
    session = str(uuid.uuid4())
    for index, (command, reply) in enumerate(answers):
        if index % 10 == 0:
            session = str(uuid.uuid4())
        when = start + timedelta(minutes=3 * index)

        def stamp(offset: int, when: datetime = when) -> str:
            return (when + timedelta(seconds=offset)).isoformat().replace("+00:00", "Z")

        tool_use_id = f"toolu_hist{index:05d}"
        prompt = copy.deepcopy(templates["prompt"])
        prompt.update(
            sessionId=session,
            cwd=cwd,
            timestamp=stamp(0),
            uuid=str(uuid.uuid4()),
            promptId=str(uuid.uuid4()),
        )
        prompt["message"]["content"] = f"run: {command}"
        use = copy.deepcopy(templates["tool_use"])
        use.update(sessionId=session, cwd=cwd, timestamp=stamp(1), uuid=str(uuid.uuid4()))
        use["message"]["content"][0].update(
            id=tool_use_id, input={"command": command, "description": f"Run {command}"}
        )
        result = copy.deepcopy(templates[reply])
        result.update(sessionId=session, cwd=cwd, timestamp=stamp(5), uuid=str(uuid.uuid4()))
        result["message"]["content"][0]["tool_use_id"] = tool_use_id
        out += [prompt, use, result]
    return out


# --- tmux ------------------------------------------------------------------------------------


class Tmux:
    """One tmux server (its own socket) running one interactive Claude Code."""

    def __init__(self, name: str) -> None:
        self.socket = f"clone-e2e-{name}-{os.getpid()}"
        self.tmux = shutil.which("tmux") or "tmux"

    def _run(self, *args: str) -> str:
        done = subprocess.run(
            [self.tmux, "-L", self.socket, *args],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
        return done.stdout

    def start(self, command: list[str], *, cwd: Path, env: dict[str, str]) -> None:
        line = " ".join(f"{k}={json.dumps(v)}" for k, v in env.items())
        self._run(
            "new-session",
            "-d",
            "-s",
            "cc",
            "-x",
            "160",
            "-y",
            "50",
            "-c",
            str(cwd),
            f"env -i {line} {' '.join(command)}",
        )

    def screen(self) -> str:
        return self._run("capture-pane", "-p", "-t", "cc")

    def wait_for(self, text: str, *, timeout_s: float = 30.0) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared; the screen was:\n{self.screen()}")

    def type(self, text: str) -> None:
        self._run("send-keys", "-t", "cc", "-l", text)
        time.sleep(0.3)
        self._run("send-keys", "-t", "cc", "Enter")

    def key(self, key: str) -> None:
        self._run("send-keys", "-t", "cc", key)

    def choose(self, number: str, *, then: str, timeout_s: float = 30.0) -> None:
        """Pick a numbered option of the dialog. On a busy machine the digit may only move the
        selection; Enter then confirms it."""
        self.key(number)
        try:
            self.wait_for(then, timeout_s=5.0)
        except AssertionError:
            if "Do you want to proceed?" in self.screen():
                self.key("Enter")
            self.wait_for(then, timeout_s=timeout_s)

    def stop(self) -> None:
        self._run("kill-server")
