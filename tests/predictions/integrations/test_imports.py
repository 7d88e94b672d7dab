"""History imports: Claude Code transcripts (files the real CLI wrote on this machine) and Aider
chat histories, through HTTP on Postgres."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from memories.models import RawMemory
from predictions.integrations.claude_code import transcript_parse
from recording.models import Event
from tests.helpers import assert_api_error
from tests.predictions.integrations.helpers import captured_hooks, fixture_lines

pytestmark = pytest.mark.django_db
TRANSCRIPTS = "integrations:claude-code-transcripts"
AIDER = "integrations:aider-history"

AIDER_HISTORY = """
# aider chat started at 2025-07-16 20:10:38

> /usr/bin/aider --model sonnet

#### run the tests

> Run shell command? (Y)es/(N)o/(D)on't ask again [Yes]: y

#### now push it

> git push origin main
> Run shell command? (Y)es/(N)o/(D)on't ask again [Yes]: n
"""


def test_parse_interactive_transcript_labels_the_persons_yes_and_no():
    parsed = transcript_parse(lines=fixture_lines("claude_code_transcript_interactive.jsonl"))
    prompts = [e for e in parsed.events if e["kind"] == "agent_prompt"]
    replies = [e for e in parsed.events if e["kind"] == "user_reply"]
    assert [p["payload"]["text"] for p in prompts] == [
        "Bash: touch yes_interactive",
        "Bash: touch no_interactive",
    ]
    assert [r["payload"]["text"] for r in replies] == ["yes", "no"]
    assert replies[1]["payload"]["context"] == "please use a different name"
    notes = [e["payload"]["text"] for e in parsed.events if e["kind"] == "note"]
    assert notes == [
        "run: touch yes_interactive",
        "run: touch no_interactive",
        "please use a different name",
    ]
    assert parsed.skipped_lines > 0  # queue operations, attachments, ...


@pytest.mark.parametrize(
    "name",
    ["claude_code_transcript_headless_denied.jsonl", "claude_code_transcript_hook_denied.jsonl"],
    ids=["denied-by-headless-mode", "denied-by-a-hook"],
)
def test_decisions_not_made_by_the_person_are_not_labels(name):
    parsed = transcript_parse(lines=fixture_lines(name))
    assert not [e for e in parsed.events if e["kind"] in ("agent_prompt", "user_reply")]
    assert parsed.not_the_person == 1


def test_transcript_and_hooks_of_one_session_are_stored_once(api, user):
    """The hooks saw the session live; its transcript imported later adds no prompt twice."""
    for body in captured_hooks():
        api.post(reverse("integrations:claude-code-hooks"), body, format="json")
    before = Event.objects.filter(user=user).count()
    lines = fixture_lines("claude_code_transcript_interactive.jsonl")
    response = api.post(reverse(TRANSCRIPTS), {"lines": lines}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["created"] == {"prompts": 0, "replies": 0, "notes": 0}
    assert body["duplicates"] == {"prompts": 2, "replies": 2, "notes": 3}
    assert Event.objects.filter(user=user).count() == before


def test_learning_after_importing_a_session_seen_live_labels_nothing_twice(api, user):
    """Hooks saw the session (the person's answers set answered_by and the feedback); the same
    transcript imported and learned from adds no event, no prediction and no label."""
    from predictions.models import AgentRequest, Prediction

    for body in captured_hooks():
        api.post(reverse("integrations:claude-code-hooks"), body, format="json")
    live = list(Prediction.objects.filter(user=user).order_by("id"))
    assert [(p.answered_by, p.actual_reply) for p in live] == [("person", "yes"), ("person", "no")]
    events = Event.objects.filter(user=user).count()
    lines = fixture_lines("claude_code_transcript_interactive.jsonl")
    assert api.post(reverse(TRANSCRIPTS), {"lines": lines}, format="json").status_code == 200
    learned = api.post(reverse("integrations:history-learn"), {}, format="json")
    assert learned.status_code == 200, learned.content
    assert (learned.json()["labelled"], learned.json()["already_labelled"]) == (0, 2)
    assert Event.objects.filter(user=user).count() == events
    assert Event.objects.filter(user=user, kind="user_reply").count() == 2
    labelled = Prediction.objects.filter(user=user, outcome__isnull=False)
    assert sorted(labelled.values_list("id", flat=True)) == [p.id for p in live]
    assert AgentRequest.objects.filter(user=user).count() == 2


def test_transcript_import_counts_and_is_idempotent(api, user):
    lines = fixture_lines("claude_code_transcript_interactive.jsonl")
    first = api.post(reverse(TRANSCRIPTS), {"lines": lines}, format="json").json()
    assert first["created"] == {"prompts": 2, "replies": 2, "notes": 3}
    assert first["duplicates"] == {"prompts": 0, "replies": 0, "notes": 0}
    assert first["memory_rows_synced"] == 7
    assert any("learn" in step for step in first["next"])
    # Memory knows the answers at once.
    assert RawMemory.objects.filter(user=user, kind="agent_prompt", reply_text="yes").count() == 1
    second = api.post(reverse(TRANSCRIPTS), {"lines": lines}, format="json").json()
    assert second["created"] == {"prompts": 0, "replies": 0, "notes": 0}
    assert second["duplicates"] == {"prompts": 2, "replies": 2, "notes": 3}


def test_transcript_lines_may_be_objects(api):
    lines = [json.loads(line) for line in fixture_lines("claude_code_transcript_interactive.jsonl")]
    response = api.post(reverse(TRANSCRIPTS), {"lines": lines}, format="json")
    assert response.json()["created"]["prompts"] == 2


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="no-lines"),
        pytest.param({"lines": []}, id="empty"),
        pytest.param({"lines": "one line"}, id="not-a-list"),
        pytest.param({"lines": ["{}"], "name": "x.jsonl"}, id="unknown-field"),
    ],
)
def test_transcript_bad_input_is_a_400(api, user, body):
    response = api.post(reverse(TRANSCRIPTS), body, format="json")
    assert_api_error(response, 400, "invalid_request")
    assert not Event.objects.filter(user=user).exists()


def test_transcript_of_garbage_lines_creates_nothing(api, user):
    response = api.post(reverse(TRANSCRIPTS), {"lines": ["{", "[]", "3"]}, format="json")
    assert response.status_code == 200
    assert response.json()["skipped"]["other_lines"] == 3
    assert not Event.objects.filter(user=user).exists()


def test_transcript_with_an_invalid_event_stores_nothing(api, user):
    lines = fixture_lines("claude_code_transcript_interactive.jsonl")
    broken = json.loads(lines[-1])
    broken.update({"type": "user", "message": {"role": "user", "content": "hi"}})
    broken["timestamp"] = "yesterday"
    response = api.post(reverse(TRANSCRIPTS), {"lines": [*lines, broken]}, format="json")
    assert_api_error(response, 400, "invalid_event")
    assert not Event.objects.filter(user=user).exists()


def test_transcript_import_needs_credentials(anon_client):
    response = anon_client.post(reverse(TRANSCRIPTS), {"lines": ["{}"]}, format="json")
    assert response.status_code in (401, 403)


def test_another_users_import_is_invisible(api, user, other_user, client_for):
    lines = fixture_lines("claude_code_transcript_interactive.jsonl")
    client_for(other_user, "api_key").post(reverse(TRANSCRIPTS), {"lines": lines}, format="json")
    first = api.post(reverse(TRANSCRIPTS), {"lines": lines}, format="json").json()
    assert first["created"] == {"prompts": 2, "replies": 2, "notes": 3}


def test_aider_history_import_counts_and_is_idempotent(api, user):
    first = api.post(reverse(AIDER), {"text": AIDER_HISTORY, "namespace": "app"}, format="json")
    assert first.status_code == 200, first.content
    assert first.json()["created"] == {"prompts": 2, "replies": 2, "notes": 2}
    replies = Event.objects.filter(user=user, kind="user_reply").order_by("occurred_at")
    assert [r.payload["text"] for r in replies] == ["yes", "no"]
    second = api.post(reverse(AIDER), {"text": AIDER_HISTORY, "namespace": "app"}, format="json")
    assert second.json()["duplicates"] == {"prompts": 2, "replies": 2, "notes": 2}


@pytest.mark.parametrize(
    ("automatic", "memory_step"),
    [(True, "GET /api/memory/status/"), (False, "POST /api/memory/promote/episodes/")],
)
def test_the_next_steps_after_an_import_name_promotion_only_when_it_is_manual(
    api, settings, automatic, memory_step
):
    settings.CLONE_PROMOTE_AUTOMATICALLY = automatic
    body = api.post(reverse(AIDER), {"text": AIDER_HISTORY}, format="json").json()
    assert body["next"][0].startswith("POST /api/integrations/history/learn/")
    assert body["next"][1].startswith(memory_step)


def _learn(api) -> dict:
    response = api.post(reverse("integrations:history-learn"), {}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_learning_labels_each_imported_answer_once_linked_to_the_persons_prompt(api, user):
    from predictions.models import Prediction

    api.post(reverse(AIDER), {"text": AIDER_HISTORY, "namespace": "app"}, format="json")
    first = _learn(api)
    assert (first["replayed"], first["labelled"], first["already_labelled"]) == (2, 2, 0)
    labelled = Prediction.objects.filter(user=user, outcome__isnull=False)
    prompts = Event.objects.filter(user=user, kind="agent_prompt")
    assert sorted(labelled.values_list("prompt_event_id", flat=True)) == sorted(
        prompts.values_list("pk", flat=True)
    )
    again = _learn(api)
    assert (again["labelled"], again["already_labelled"]) == (0, 2)
    assert Prediction.objects.filter(user=user, outcome__isnull=False).count() == 2


def test_learning_skips_a_prompt_predicted_with_its_event_and_given_feedback(api, user):
    """An agent that recorded its prompt, asked with prompt_event_id and got feedback has
    labelled that prompt already: learning must not count the person's answer twice."""
    from predictions.models import Prediction

    api.post(reverse(AIDER), {"text": AIDER_HISTORY, "namespace": "app"}, format="json")
    prompt = Event.objects.filter(user=user, kind="agent_prompt").order_by("occurred_at").first()
    predicted = api.post(
        reverse("predictions:predict"),
        {"agent": "aider", "agent_input": "Run shell command?", "prompt_event_id": prompt.event_id},
        format="json",
    ).json()
    feedback = api.post(
        reverse("predictions:feedback", args=[predicted["id"]]),
        {"outcome": "accepted", "actual_reply": "yes"},
        format="json",
    )
    assert feedback.status_code == 200, feedback.content
    learned = _learn(api)
    assert (learned["labelled"], learned["already_labelled"]) == (1, 1)
    assert Prediction.objects.filter(user=user, outcome__isnull=False).count() == 2


def test_aider_answers_given_by_yes_always_are_not_labels(api, user):
    text = AIDER_HISTORY.replace("--model sonnet", "--model sonnet --yes-always")
    response = api.post(reverse(AIDER), {"text": text}, format="json").json()
    assert response["created"]["prompts"] == 0
    assert response["skipped"]["automatic"] == 2


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="no-text"),
        pytest.param({"text": ""}, id="empty-text"),
        pytest.param({"text": 3}, id="not-text"),
        pytest.param({"text": "x", "namespace": "n" * 201}, id="namespace-too-long"),
        pytest.param({"text": "x", "name": "app"}, id="unknown-field"),
    ],
)
def test_aider_bad_input_is_a_400(api, body):
    response = api.post(reverse(AIDER), body, format="json")
    assert_api_error(response, 400, "invalid_request")


def test_an_unknown_field_is_named_in_the_error(api, user):
    response = api.post(reverse(AIDER), {"text": AIDER_HISTORY, "name": "app"}, format="json")
    error = assert_api_error(response, 400, "invalid_request")
    assert "Unknown field(s): name." in json.dumps(error)
    assert not Event.objects.filter(user=user).exists()
