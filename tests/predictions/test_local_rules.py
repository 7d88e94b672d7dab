"""The local predictor's context rules: replies tied to a weekday, replies that are another
agent's idiom, and the weaker evidence of open questions. Pure functions, no database."""

from datetime import UTC, datetime, timedelta

import pytest

from predictions.local import predictor, replies_predict

MONDAY = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)
FRIDAY = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
_ids = iter(range(1, 1_000_000))


def past(prompt, reply, *, at, agent="claude-code"):
    return {
        "prompt_event_id": f"p-{next(_ids)}",
        "agent": agent,
        "prompt": prompt,
        "reply": reply,
        "occurred_at": at.isoformat(),
        "score": 0.5,
    }


def predict(relevant, *, agent_input, agent="claude-code", now=MONDAY + timedelta(days=7)):
    return replies_predict(
        agent=agent, agent_input=agent_input, relevant=relevant, facts=[], k=3, now=now
    )


def pushes(*, fridays: int, other_days: int):
    """Past answers to "Push the branch?": "no, not on a Friday" on Fridays, else "yes"."""
    rows = [
        past("Push the branch?", "no, not on a Friday", at=FRIDAY - timedelta(weeks=w))
        for w in range(1, fridays + 1)
    ]
    rows += [
        past("Push the branch?", "yes, push it", at=MONDAY - timedelta(days=d))
        for d in range(1, other_days + 1)
    ]
    return rows


def test_a_reply_naming_a_weekday_does_not_count_on_other_days():
    # More Friday refusals than ordinary answers; on a Monday they do not apply.
    found = predict(pushes(fridays=4, other_days=2), agent_input="Push the branch?")

    assert found[0].text == "yes, push it"
    refusal = [c.confidence for c in found if c.text == "no, not on a Friday"]
    assert not refusal or refusal[0] < 0.1


def test_a_reply_naming_a_weekday_still_counts_on_that_weekday():
    found = predict(
        pushes(fridays=4, other_days=2),
        agent_input="Push the branch?",
        now=FRIDAY + timedelta(weeks=1),
    )

    assert found[0].text == "no, not on a Friday"


def test_without_now_weekday_replies_count_like_any_other():
    found = predict(pushes(fridays=4, other_days=2), agent_input="Push the branch?", now=None)

    assert found[0].text == "no, not on a Friday"


def test_a_reply_only_other_agents_give_loses_to_the_asking_agents_own_answer():
    # "y" is aider's idiom and "apply it" cursor's: asked by claude-code, its own answer wins,
    # even though the other agents asked with the very same words.
    day = MONDAY - timedelta(days=1)
    history = [past("Proceed?", "y", at=day, agent="aider") for _ in range(3)]
    history += [past("Proceed?", "apply it", at=day, agent="cursor") for _ in range(2)]
    history += [past("Should I proceed with this plan?", "yes, go ahead", at=day) for _ in range(2)]

    found = predict(history, agent_input="Proceed?")

    assert found[0].text == "yes, go ahead"


def test_other_agents_answers_still_count_when_the_asking_agent_has_none():
    day = MONDAY - timedelta(days=1)
    history = [past("Proceed?", "y", at=day, agent="aider") for _ in range(3)]

    found = predict(history, agent_input="Proceed?")

    assert found[0].text == "y" and found[0].confidence > 0.3


@pytest.mark.parametrize(
    "question, discounted",
    [
        pytest.param("How many retries should the client do?", True, id="open-question"),
        pytest.param("Should the client retry?", False, id="yes-no"),
        pytest.param("Which one, npm or pnpm?", False, id="choice-between-options"),
    ],
)
def test_agreement_on_an_open_question_earns_less_confidence(question, discounted, monkeypatch):
    # The same agreement (three of four identical past prompts) on each kind of question.
    day = MONDAY - timedelta(days=1)
    history = [past(question, "3", at=day) for _ in range(3)] + [past(question, "5", at=day)]
    factor = predictor.OPEN_QUESTION_FACTOR if discounted else 1.0

    found = predict(history, agent_input=question)
    monkeypatch.setattr(predictor, "OPEN_QUESTION_FACTOR", 1.0)
    plain = predict(history, agent_input=question)

    assert found[0].text == plain[0].text == "3"
    assert found[0].confidence == pytest.approx(plain[0].confidence * factor, abs=1e-4)
