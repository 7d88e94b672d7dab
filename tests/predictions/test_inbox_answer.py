"""The inbox (questions waiting for the person) and the answer endpoint, through HTTP."""

import pytest
from django.urls import reverse

from memories.models import SemanticMemory
from predictions.models import Prediction
from recording.models import Event
from recording.services import event_ingest
from tests.factories import event
from tests.fakes.anthropic import tool_reply
from tests.helpers import assert_api_error
from tests.predictions.helpers import a_fact, candidates_answer

pytestmark = pytest.mark.django_db


def _ask(
    api, fake_anthropic, *, text="Run the migrations?", top="yes, run them", conf=0.5, **extra
):
    fake_anthropic.queue(tool_reply(candidates_answer((top, conf, []), ("no", 0.1, []))))
    response = api.post(
        reverse("predictions:predict"),
        {"agent": extra.pop("agent", "claude-code"), "agent_input": text, "k": 2, **extra},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def _answer(api, prediction_id, reply):
    return api.post(
        reverse("predictions:answer", args=[prediction_id]), {"reply": reply}, format="json"
    )


# --- Inbox --------------------------------------------------------------------------------------


def test_inbox_lists_escalated_unanswered_oldest_first_with_candidates(api, fake_anthropic):
    first = _ask(api, fake_anthropic, text="First?")
    _ask(api, fake_anthropic, text="Automatic?", conf=0.95)  # auto: not in the inbox
    second = _ask(api, fake_anthropic, text="Second?")
    answered = _ask(api, fake_anthropic, text="Answered?")
    assert _answer(api, answered["id"], "no").status_code == 200
    body = api.get(reverse("predictions:inbox")).json()
    assert body["count"] == 2
    assert [r["id"] for r in body["results"]] == [first["id"], second["id"]]
    assert [c["text"] for c in body["results"][0]["candidates"]] == ["yes, run them", "no"]
    assert body["results"][0]["escalation_reason"] == "below_threshold"
    listed = api.get(reverse("predictions:list") + "?status=escalated&outcome=none").json()
    assert {r["id"] for r in listed["results"]} == {first["id"], second["id"]}


def test_inbox_paginates_in_order(api, fake_anthropic):
    ids = [_ask(api, fake_anthropic, text=f"Question {i}?")["id"] for i in range(5)]
    seen, url = [], reverse("predictions:inbox") + "?page_size=2"
    while url:
        page = api.get(url).json()
        assert page["count"] == 5
        seen += [r["id"] for r in page["results"]]
        url = page["next"]
    assert seen == ids


def test_inbox_filters_by_agent(api, fake_anthropic):
    _ask(api, fake_anthropic, agent="claude-code")
    cursor = _ask(api, fake_anthropic, agent="cursor")
    body = api.get(reverse("predictions:inbox") + "?agent=cursor").json()
    assert [r["id"] for r in body["results"]] == [cursor["id"]]


def test_inbox_query_count_does_not_grow_with_the_page(
    api, user, fake_anthropic, django_assert_num_queries
):
    event_ingest(
        user=user,
        events=[
            event("agent_prompt", id=f"p-{i}", payload={"agent": "claude-code", "text": "t"})
            for i in range(6)
        ],
    )
    for i in range(6):
        _ask(api, fake_anthropic, prompt_event_id=f"p-{i}")
    # Authentication, the count and the page (prompt events joined): the same for 2 rows or 6.
    with django_assert_num_queries(3) as small:
        assert len(api.get(reverse("predictions:inbox") + "?page_size=2").json()["results"]) == 2
    with django_assert_num_queries(len(small.captured_queries)):
        assert len(api.get(reverse("predictions:inbox") + "?page_size=6").json()["results"]) == 6


@pytest.mark.parametrize(
    "query", ["agent=" + "x" * 201, "page=0", "page_size=0"], ids=["long-agent", "page-0", "size-0"]
)
def test_bad_inbox_parameters_are_4xx(api, query):
    response = api.get(reverse("predictions:inbox") + "?" + query)
    assert 400 <= response.status_code < 500
    assert "error" in response.json()


# --- Answer -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [
        ("Yes, run them!", "accepted"),
        ("yes, run them after the backup", "edited"),
        ("not today", "rejected"),
    ],
    ids=["exact", "near", "different"],
)
def test_the_reply_is_labelled_by_the_judge(api, fake_anthropic, reply, outcome):
    asked = _ask(api, fake_anthropic)
    response = _answer(api, asked["id"], reply)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["outcome"] == outcome
    assert body["actual_reply"] == reply
    assert (body["answered_by"], body["answer"]) == ("person", reply)
    assert body["answered_at"] is not None and body["feedback_at"] is not None
    detail = api.get(reverse("predictions:detail", args=[asked["id"]])).json()
    assert detail == body
    assert api.get(reverse("predictions:inbox")).json()["count"] == 0


def test_answering_records_a_user_reply_to_the_prompt_event(api, user, fake_anthropic):
    prompt = event(
        "agent_prompt",
        id="cc-1",
        session_id="cc-session",
        payload={"agent": "claude-code", "text": "Run the migrations?"},
    )
    event_ingest(user=user, events=[prompt])
    asked = _ask(api, fake_anthropic, prompt_event_id="cc-1")
    assert _answer(api, asked["id"], "yes, back up first").status_code == 200
    reply = Event.objects.get(user=user, kind="user_reply")
    assert reply.payload == {"text": "yes, back up first", "in_reply_to": "cc-1"}
    assert reply.session.external_id == "cc-session"
    assert Event.objects.filter(user=user, kind="agent_prompt").count() == 1


def test_a_prediction_from_no_event_gets_its_prompt_recorded_once(api, user, fake_anthropic):
    asked = _ask(
        api,
        fake_anthropic,
        tool={"name": "Bash", "input": {"command": "make"}},
        options=["yes", "no"],
    )
    assert _answer(api, asked["id"], "no").status_code == 200
    assert _answer(api, asked["id"], "yes").status_code == 200
    prompt = Event.objects.get(user=user, kind="agent_prompt")
    assert prompt.payload == {
        "agent": "claude-code",
        "text": "Run the migrations?",
        "tool": {"name": "Bash", "input": {"command": "make"}},
        "options": ["yes", "no"],
    }
    replies = Event.objects.filter(user=user, kind="user_reply").order_by("occurred_at")
    assert [r.payload["text"] for r in replies] == ["no", "yes"]
    assert {r.payload["in_reply_to"] for r in replies} == {prompt.event_id}


def test_answering_twice_is_a_flip_that_takes_back_the_decay(api, user, fake_anthropic):
    fact = a_fact(user, importance=0.5)
    fake_anthropic.queue(tool_reply(candidates_answer(("yes", 0.5, [fact.id]))))
    asked = api.post(
        reverse("predictions:predict"),
        {"agent": "claude-code", "agent_input": "Deploy?"},
        format="json",
    ).json()
    assert _answer(api, asked["id"], "never").json()["outcome"] == "rejected"
    lowered = SemanticMemory.objects.get(pk=fact.pk).importance
    assert lowered < 0.5
    flipped = _answer(api, asked["id"], "yes").json()
    assert flipped["outcome"] == "accepted"
    assert SemanticMemory.objects.get(pk=fact.pk).importance > lowered
    stored = Prediction.objects.get(pk=asked["id"])
    assert (stored.outcome, stored.actual_reply, stored.answered_by) == (
        "accepted",
        "yes",
        "person",
    )


def test_the_answer_enters_the_calibration_set(api, user, fake_anthropic):
    from predictions.selectors import calibration_training_set

    asked = _ask(api, fake_anthropic, conf=0.4)
    _answer(api, asked["id"], "not today")
    assert calibration_training_set(user=user) == ([pytest.approx(0.4)], [0.0])


def test_feedback_on_an_escalated_prediction_is_the_persons_answer(api, fake_anthropic):
    asked = _ask(api, fake_anthropic)
    body = api.post(
        reverse("predictions:feedback", args=[asked["id"]]), {"outcome": "accepted"}, format="json"
    ).json()
    assert (body["answered_by"], body["answer"]) == ("person", "yes, run them")


def test_an_automatic_answer_is_clones(api, fake_anthropic):
    asked = _ask(api, fake_anthropic, conf=0.95)
    assert (asked["answered_by"], asked["answer"]) == ("clone", "yes, run them")
    body = api.post(
        reverse("predictions:feedback", args=[asked["id"]]), {"outcome": "accepted"}, format="json"
    ).json()
    assert body["answered_by"] == "clone"


BAD_ANSWERS = {
    "empty": {"reply": ""},
    "blank": {"reply": "   "},
    "missing": {},
    "not-text": {"reply": 5},
    "null": {"reply": None},
    "nul": {"reply": "a\x00b"},
    "too-long": {"reply": "x" * 20_001},
}


@pytest.mark.parametrize("body", BAD_ANSWERS.values(), ids=BAD_ANSWERS.keys())
def test_bad_answers_are_400_and_change_nothing(api, user, fake_anthropic, body):
    asked = _ask(api, fake_anthropic)
    response = api.post(reverse("predictions:answer", args=[asked["id"]]), body, format="json")
    assert_api_error(response, 400, "invalid_request")
    stored = Prediction.objects.get(pk=asked["id"])
    assert (stored.outcome, stored.answered_by) == (None, "")
    assert not Event.objects.filter(user=user).exists()


def test_another_users_prediction_is_404_on_answer_and_invisible_in_the_inbox(
    api, user, other_user, client_for, fake_anthropic
):
    asked = _ask(api, fake_anthropic)
    other = client_for(other_user, "jwt")
    assert_api_error(_answer(other, asked["id"], "yes"), 404, "not_found")
    assert_api_error(_answer(other, 10**12, "yes"), 404, "not_found")
    assert other.get(reverse("predictions:inbox")).json()["count"] == 0
    stored = Prediction.objects.get(pk=asked["id"])
    assert (stored.outcome, stored.answered_by) == (None, "")
    assert not Event.objects.exists()
