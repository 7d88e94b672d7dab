"""End to end: the real Claude Code CLI (pinned, from the npm registry) asks Clone, served by
gunicorn on Postgres, through its http hooks, while a loopback fake model streams its turns.

(a) Headless (``claude -p``): after a history of the person's answers is imported and learned,
a request they always approved is allowed by Clone (the command's effect happens), one they
always refused is denied (listed in ``permission_denials``), and a novel one is left to them.
(b) Interactive, under tmux: an escalated request opens the dialog; "Yes" once and "No" once
are sent as keys, and Clone records them as the person's "yes" and "no", with feedback.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from clone_server.accounts.services import api_key_create
from memories.services import profile_settings_update
from predictions.models import AgentRequest, Prediction
from recording.models import Event
from tests.e2e.claude_harness import (
    Tmux,
    claude_binary,
    headless_run,
    history_lines,
    workspace_create,
)
from tests.fakes.streaming_model import StreamingModel
from tests.servers import gunicorn_serving

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

APPROVED = "touch approved.txt"
REFUSED = "mkdir refused_dir"
NOVEL = "ln -s somewhere link_here"


@pytest.fixture
def claude():
    binary = claude_binary()
    if binary is None:
        pytest.skip(
            "The Claude Code CLI is not installed in .cache/claude-code: run `make claude-code` "
            "(it needs the npm registry)."
        )
    return binary


@pytest.fixture
def clone_server():
    """gunicorn (2 gthread workers x 4 threads) on the test database, local provider."""
    env = {
        "ANTHROPIC_API_KEY": "",
        "CLONE_THROTTLE_PREDICT": "100000/min",
        "CLONE_THROTTLE_PROMOTE": "100000/min",
        # No audit sample: a sampled request is escalated on purpose; these runs must not be.
        "CLONE_AUDIT_RATE": "0",
    }
    with gunicorn_serving(
        workers=2, threads=4, timeout_s=120, env=env, healthy_within_s=60
    ) as server:
        yield server.base


@pytest.fixture
def model():
    fake = StreamingModel().start()
    try:
        yield fake
    finally:
        fake.stop()


def _post(base: str, path: str, key: str, body: dict) -> dict:
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{base}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "X-Clone-API-Key": key},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310
        return json.loads(response.read())


def test_headless_run_allows_the_approved_denies_the_refused_and_leaves_the_novel(
    claude, clone_server, model, tmp_path, django_user_model
):
    started = time.monotonic()
    person = django_user_model.objects.create_user(username="dana", password="correct-horse-1")
    # No audit sample: a sampled request would be escalated on purpose, and this run must be
    # deterministic.
    profile_settings_update(user=person, audit_rate=0.0)
    key = api_key_create(user=person, name="claude code").key
    ws = workspace_create(tmp_path, clone_url=clone_server)

    answers = [(APPROVED, "yes"), (REFUSED, "no")] * 40
    imported = _post(
        clone_server,
        "/api/integrations/claude-code/transcripts/",
        key,
        {"lines": history_lines(answers=answers, cwd=str(ws.project))},
    )
    assert imported["created"]["prompts"] == 80
    learned = _post(clone_server, "/api/integrations/history/learn/", key, {})
    assert learned["labelled"] == 80
    assert learned["calibration"]["method"] == "platt"

    env = ws.env(model_url=model.base_url, clone_key=key)
    allowed = headless_run(claude, ws, f"run: {APPROVED}", env)
    why = [
        (p.agent_input, p.status, p.escalation_reason, p.confidence, p.candidates[:1])
        for p in Prediction.objects.filter(
            user=person, agent_input__contains="approved.txt"
        ).order_by("-id")[:1]
    ]
    assert allowed["permission_denials"] == [], why
    assert (ws.project / "approved.txt").exists()

    refused = headless_run(claude, ws, f"run: {REFUSED}", env)
    assert [d["tool_input"]["command"] for d in refused["permission_denials"]] == [REFUSED]
    assert not (ws.project / "refused_dir").exists()

    novel = headless_run(claude, ws, f"run: {NOVEL}", env)
    # Clone gave no decision: with nobody at the keyboard, Claude Code refuses it itself.
    assert [d["tool_input"]["command"] for d in novel["permission_denials"]] == [NOVEL]
    requests = {
        r.tool.get("input", {}).get("command"): r
        for r in AgentRequest.objects.filter(user=person).exclude(session_key="history")
    }
    assert requests[APPROVED].decision == "allow"
    assert requests[REFUSED].decision == "deny"
    assert requests[NOVEL].decision == ""
    assert requests[NOVEL].prediction.status == "escalated"
    print(f"\nheadless e2e: {time.monotonic() - started:.1f} s")


def test_interactive_dialog_answers_are_recorded_as_the_persons_replies(
    claude, clone_server, model, tmp_path, django_user_model
):
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed: run `make claude-code` (apt-get install tmux)")
    started = time.monotonic()
    person = django_user_model.objects.create_user(username="eli", password="correct-horse-1")
    key = api_key_create(user=person, name="claude code").key
    ws = workspace_create(tmp_path, clone_url=clone_server)
    tmux = Tmux("interactive")
    try:
        tmux.start(
            [str(claude), "--permission-mode", "default"],
            cwd=ws.project,
            env=ws.env(model_url=model.base_url, clone_key=key),
        )
        tmux.wait_for("? for shortcuts")
        tmux.type("run: touch said_yes.txt")
        tmux.wait_for("Do you want to proceed?")
        tmux.choose("1", then="Done.")  # Yes
        deadline = time.monotonic() + 30
        while not (ws.project / "said_yes.txt").exists():
            assert time.monotonic() < deadline, tmux.screen()
            time.sleep(0.2)
        tmux.wait_for("Done.")

        tmux.type("run: touch said_no.txt")
        tmux.wait_for("Do you want to proceed?")
        tmux.choose("4", then="What should Claude do instead?")  # No
        tmux.type("leave it for now")
        deadline = time.monotonic() + 30
        while Event.objects.filter(user=person, kind="user_reply").count() < 2:
            assert time.monotonic() < deadline, tmux.screen()
            time.sleep(0.2)
    finally:
        tmux.stop()
    assert not (ws.project / "said_no.txt").exists()

    prompts = {
        e.event_id: e.payload["text"]
        for e in Event.objects.filter(user=person, kind="agent_prompt")
    }
    replies = {
        prompts[e.payload["in_reply_to"]]: e.payload
        for e in Event.objects.filter(user=person, kind="user_reply")
    }
    assert replies["Bash: touch said_yes.txt"]["text"] == "yes"
    assert replies["Bash: touch said_no.txt"]["text"] == "no"
    assert replies["Bash: touch said_no.txt"]["context"] == "leave it for now"
    feedback = {
        p.agent_input: (p.status, p.actual_reply, p.outcome is not None)
        for p in Prediction.objects.filter(user=person)
    }
    assert feedback["Bash: touch said_yes.txt"] == ("escalated", "yes", True)
    assert feedback["Bash: touch said_no.txt"] == ("escalated", "no", True)
    print(f"\ninteractive e2e: {time.monotonic() - started:.1f} s")


def test_the_cli_is_the_pinned_version(claude):
    pinned = json.loads(
        (Path(settings.BASE_DIR) / "tests/e2e/claude_code/package.json").read_text()
    )["dependencies"]["@anthropic-ai/claude-code"]
    done = subprocess.run(
        [str(claude), "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.split()[0] == pinned
