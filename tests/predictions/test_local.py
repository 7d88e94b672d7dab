"""The local predictor on small hand-built histories whose right answer is known.

Pure functions: no database, no network.
"""

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clone_server import text as toolkit
from clone_server.text import prompt_similarity
from predictions.local import LocalCandidate, replies_predict
from predictions.local import facts as local_facts
from predictions.local import neighbours as local_neighbours

# A Tuesday morning; the history below is placed relative to it.
NOW = datetime(2026, 11, 17, 10, 0, tzinfo=UTC)
_ids = iter(range(1, 1_000_000))


def past(
    prompt: str,
    reply: str,
    *,
    days: float = 1.0,
    agent: str = "claude-code",
    score: float = 0.5,
    at: datetime | None = None,
) -> dict:
    """One neighbour as Memory's bundle lists it under ``relevant``."""
    return {
        "prompt_event_id": f"p-{next(_ids)}",
        "agent": agent,
        "prompt": prompt,
        "reply": reply,
        "occurred_at": (at or NOW - timedelta(days=days)).isoformat(),
        "score": score,
    }


def fact(id: int, text: str, *, kind: str = "preference", importance: float = 0.7) -> dict:
    return {"id": id, "kind": kind, "text": text, "importance": importance, "tags": []}


def predict(relevant, *, facts=(), agent="claude-code", agent_input="Run the test suite?", k=3):
    return replies_predict(
        agent=agent,
        agent_input=agent_input,
        relevant=list(relevant),
        facts=list(facts),
        k=k,
        now=NOW,
    )


def history(replies: list[str], prompt: str = "Run the test suite?") -> list[dict]:
    return [past(prompt, reply, days=1 + i) for i, reply in enumerate(replies)]


# --- ranking and confidence -----------------------------------------------------------------


def test_consistent_reply_ranks_first_with_higher_confidence_than_when_replies_disagree():
    consistent = predict(history(["yes", "yes", "Yes.", "yes", "yes", "no"]))
    disagreeing = predict(history(["yes", "no", "later", "yes", "not now", "no"]))

    assert consistent[0].text in ("yes", "Yes.")
    assert consistent[0].confidence > 0.6
    assert disagreeing[0].confidence < 0.4
    assert consistent[0].confidence > disagreeing[0].confidence + 0.3


@pytest.mark.parametrize("agreeing", [1, 2, 3, 4, 5, 6])
def test_confidence_grows_with_the_number_of_agreeing_neighbours(agreeing):
    # Six neighbours; `agreeing` say "pnpm", the rest say six different things.
    others = ["npm", "yarn", "bun", "whatever", "ask me later", "skip"]
    replies = ["pnpm"] * agreeing + others[: 6 - agreeing]
    more = ["pnpm"] * (agreeing + 1) + others[: 6 - agreeing - 1]

    top = predict(history(replies, "npm or pnpm?"), agent_input="npm or pnpm?")[0]
    better = predict(history(more, "npm or pnpm?"), agent_input="npm or pnpm?")[0]

    assert top.text == "pnpm"
    if agreeing < 6:
        assert better.confidence > top.confidence


@pytest.mark.parametrize("n", [1, 2, 4, 8, 16])
def test_more_evidence_for_the_same_unanimous_reply_means_more_confidence(n):
    fewer = predict(history(["yes"] * n))[0].confidence
    more = predict(history(["yes"] * (n + 1)))[0].confidence
    assert 0 < fewer < more <= 1


def test_a_single_neighbour_does_not_make_it_sure():
    (only,) = predict(history(["yes"]))
    assert only.text == "yes"
    assert 0.3 < only.confidence <= 0.5


def test_same_agent_answers_outweigh_another_agents():
    relevant = [
        past("Commit these changes?", "yes, commit", days=2, agent="claude-code"),
        past("Commit these changes?", "yes, commit", days=3, agent="claude-code"),
        past("Commit these changes?", "no, I'll do it", days=2, agent="cursor"),
        past("Commit these changes?", "no, I'll do it", days=3, agent="cursor"),
    ]
    asked_by_claude = predict(relevant, agent="claude-code", agent_input="Commit these changes?")
    asked_by_cursor = predict(relevant, agent="cursor", agent_input="Commit these changes?")

    assert asked_by_claude[0].text == "yes, commit"
    assert asked_by_cursor[0].text == "no, I'll do it"
    assert asked_by_claude[0].confidence == asked_by_cursor[0].confidence  # mirror images


def test_recent_answers_outweigh_older_ones():
    # Two answers from three months ago (weight 0.5**3 each) against one from yesterday.
    relevant = [
        past("npm or pnpm?", "npm", days=90),
        past("npm or pnpm?", "npm", days=91),
        past("npm or pnpm?", "pnpm", days=1),
    ]
    ranked = predict(relevant, agent_input="npm or pnpm?")
    assert [c.text for c in ranked] == ["pnpm", "npm"]


def test_without_now_recency_is_measured_from_the_newest_neighbour():
    relevant = [
        past("npm or pnpm?", "npm", days=400),
        past("npm or pnpm?", "npm", days=401),
        past("npm or pnpm?", "pnpm", days=310),
    ]
    ranked = replies_predict(
        agent="claude-code", agent_input="npm or pnpm?", relevant=relevant, facts=[], k=3
    )
    assert ranked[0].text == "pnpm"


def test_a_paraphrased_prompt_still_finds_its_neighbours():
    relevant = [
        past("Run the test suite?", "yes", days=1),
        past("Should I run the tests now?", "yes", days=2),
        past("Run the tests?", "yes", days=3),
        past("Run the migrations now?", "yes, but back up the db first", days=1),
    ]
    ranked = predict(relevant, agent_input="Want me to run pytest?")

    assert ranked[0].text == "yes"
    assert ranked[0].confidence > 0.5
    # The migrations answer belongs to another question: dropped, not a rival candidate.
    assert all("back up" not in c.text for c in ranked)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Run the test suite?", "Want me to run pytest?"),
        ("Delete the node_modules and reinstall?", "Remove node_modules and install again?"),
        ("npm or pnpm?", "Should I use npm or pnpm for this?"),
        ("Running the migrations?", "Run migrations"),
    ],
    ids=["synonym", "synonyms-and-extra-word", "extra-words", "stemming"],
)
def test_paraphrases_are_similar(a, b):
    assert prompt_similarity(a, b) >= 0.7


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Run the tests?", "Run the migrations now?"),
        ("Commit these changes?", "Should I push to main?"),
    ],
    ids=["shared-verb-only", "nothing-shared"],
)
def test_different_questions_are_not_similar(a, b):
    assert prompt_similarity(a, b) < 0.4


def test_loosely_related_history_gives_much_lower_confidence_than_the_same_question():
    relevant = [
        past("Run the migrations now?", "yes, but back up the db first", days=d)
        for d in (1, 2, 3, 4)
    ]
    same = predict(relevant, agent_input="Run the migrations now?")[0]
    related = predict(relevant, agent_input="Run the linter?")[0]
    assert same.confidence > 0.7
    assert related.confidence < same.confidence / 2


def test_near_identical_replies_are_one_candidate_named_by_the_heaviest_wording():
    relevant = [
        past("Run the test suite?", "yes, run it", days=1),
        past("Run the test suite?", "Yes, run it.", days=2),
        past("Run the test suite?", "yes run it please", days=3),  # token F1 0.86
        past("Run the test suite?", "no", days=4),
    ]
    ranked = predict(relevant)
    assert [c.text for c in ranked] == ["yes, run it", "no"]
    assert ranked[0].reasoning.startswith("3 of 4 similar past prompts")


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_no_more_than_k_candidates(k):
    replies = ["yes", "no", "later", "only the unit tests", "skip it", "ask me tomorrow"]
    ranked = predict(history(replies), k=k)
    assert len(ranked) == min(k, len(replies))


@pytest.mark.parametrize("k", [0, -1])
def test_non_positive_k_gives_nothing(k):
    assert predict(history(["yes"]), k=k) == []


def test_no_history_and_no_facts_gives_an_empty_list():
    assert predict([]) == []
    assert predict([], facts=[fact(1, "Likes dark mode.")]) == []


def test_input_order_does_not_change_the_answer():
    relevant = [
        *history(["yes", "no", "yes", "later", "no", "yes"]),
        past("Run the tests?", "yes", days=2, agent="cursor"),
    ]
    facts = [
        fact(3, 'When asked "Run the tests?" they answer "yes".'),
        fact(2, "Never runs tests."),
    ]
    expected = predict(relevant, facts=facts)
    shuffled = relevant[:]
    for seed in range(5):
        random.Random(seed).shuffle(shuffled)
        assert predict(shuffled, facts=list(reversed(facts))) == expected


def test_the_retrieval_score_breaks_a_tie_between_equally_similar_answers():
    relevant = [
        past("Run the test suite?", "yes", days=1, score=0.1),
        past("Run the test suite?", "no", days=1, score=0.9),
    ]
    assert predict(relevant)[0].text == "no"


@pytest.mark.parametrize(
    "bad",
    [
        "not a dict",
        {"prompt": "Run the test suite?"},  # no reply
        {"prompt": "Run the test suite?", "reply": "   "},
        {"prompt": "Run the test suite?", "reply": "!!!"},  # nothing left after normalisation
    ],
    ids=["not-a-dict", "no-reply", "blank-reply", "punctuation-only-reply"],
)
def test_unusable_neighbours_are_skipped(bad):
    ranked = predict([bad, *history(["yes"])])
    assert [c.text for c in ranked] == ["yes"]


def test_odd_fields_are_tolerated():
    odd = past("Run the test suite?", "yes", days=1) | {
        "occurred_at": "last tuesday",
        "score": "high",
        "agent": None,
    }
    facts = [{"id": "x", "text": "Always runs tests."}, {"id": True}, {"text": "no id"}, "junk"]
    ranked = predict([odd, *history(["yes"])], facts=facts)
    assert ranked[0].text == "yes"
    assert ranked[0].cited_facts == []


def test_duplicate_neighbours_count_once():
    one = past("Run the test suite?", "no", days=1)
    relevant = [one, one, one, past("Run the test suite?", "yes", days=1)]
    texts = {c.text: c.confidence for c in predict(relevant)}
    assert texts["no"] == texts["yes"]


# --- facts ----------------------------------------------------------------------------------


def test_a_reply_pattern_fact_is_cited_by_the_candidate_it_supports():
    facts = [
        fact(7, 'When asked "Run the test suite?" they answer "yes".', kind="reply_pattern"),
        fact(
            8, 'When asked "Commit these changes?" they answer "yes, commit".', kind="reply_pattern"
        ),
        fact(9, "Uses pnpm (12 times).", kind="habit"),
    ]
    ranked = predict(history(["yes", "yes", "no"]), facts=facts)

    assert ranked[0].text == "yes"
    assert ranked[0].cited_facts == [7]
    assert "fact #7" in ranked[0].reasoning
    assert all(c.cited_facts == [] for c in ranked[1:])


def test_a_supporting_fact_raises_the_confidence_of_its_candidate():
    relevant = history(["yes", "yes", "no"])
    without = predict(relevant)[0]
    supported = predict(
        relevant, facts=[fact(7, 'When asked "Run the tests?" they answer "yes".')]
    )[0]
    assert supported.text == without.text == "yes"
    assert supported.confidence > without.confidence


def test_a_preference_fact_answers_a_choice_question_with_low_confidence_when_there_is_no_history():
    (only,) = predict([], facts=[fact(4, "Prefers pnpm over npm.")], agent_input="npm or pnpm?")
    assert only == LocalCandidate(
        text="pnpm", reasoning="Supported by fact #4.", confidence=only.confidence, cited_facts=[4]
    )
    assert 0.1 < only.confidence < 0.5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Prefers pnpm over npm.", "pnpm"),
        ("I always use pnpm", "pnpm"),
        ("Never uses npm; prefers pnpm.", "pnpm"),
        ("Doesn't like npm.", "pnpm"),
        ("Uses npm at work.", "npm"),
    ],
    ids=["over", "always", "negated-then-preferred", "only-negated", "plain-use"],
)
def test_the_preferred_option_of_a_choice_question_is_read_from_the_fact(text, expected):
    ranked = predict([], facts=[fact(1, text)], agent_input="Should I use npm or pnpm here?")
    assert [c.text for c in ranked] == [expected]


def test_an_always_or_never_fact_answers_a_yes_no_question_about_the_same_thing():
    facts = [fact(5, "Never pushes to main."), fact(6, "Always writes type hints.")]
    push = predict([], facts=facts, agent_input="Should I push to main?")
    hints = predict([], facts=facts, agent_input="Add type hints?")
    assert [(c.text, c.cited_facts) for c in push] == [("no", [5])]
    assert [(c.text, c.cited_facts) for c in hints] == [("yes", [6])]


def test_a_fact_limited_to_some_weekdays_applies_only_on_those_days():
    friday = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)
    relevant = [
        past("Push the branch?", "yes, push it", at=friday - timedelta(days=d)) for d in (1, 2)
    ]
    facts = [fact(5, "Never pushes on Fridays.")]

    def ask(now):
        return replies_predict(
            agent="claude-code",
            agent_input="Should I push the branch?",
            relevant=relevant,
            facts=facts,
            k=3,
            now=now,
        )

    on_friday = ask(friday)
    on_thursday = ask(friday - timedelta(days=1))
    without_now = replies_predict(
        agent="claude-code",
        agent_input="Should I push the branch?",
        relevant=relevant,
        facts=facts,
        k=3,
    )
    assert [(c.text, c.cited_facts) for c in on_friday] == [("yes, push it", []), ("no", [5])]
    assert on_friday[0].confidence < on_thursday[0].confidence
    assert [c.text for c in on_thursday] == [c.text for c in without_now] == ["yes, push it"]


def test_a_pattern_claimed_for_one_agent_applies_to_that_agent_only():
    facts = [fact(3, 'When cursor asks "Proceed?" they answer "apply it".', kind="reply_pattern")]
    to_cursor = predict([], facts=facts, agent="cursor", agent_input="Proceed?")
    to_aider = predict([], facts=facts, agent="aider", agent_input="Proceed?")
    assert [(c.text, c.cited_facts) for c in to_cursor] == [("apply it", [3])]
    assert to_aider == []


@pytest.mark.parametrize(
    "text",
    [
        "Likes dark mode.",  # says nothing about this question
        'When asked "Use tabs or spaces?" they answer "spaces".',  # another question
        "Uses pnpm (12 times).",  # a habit, not an answer
    ],
    ids=["unrelated", "other-question", "habit"],
)
def test_a_fact_that_does_not_bear_on_the_question_is_not_cited(text):
    ranked = predict(history(["yes", "yes"]), facts=[fact(1, text)])
    assert [(c.text, c.cited_facts) for c in ranked] == [("yes", [])]


def test_a_zero_importance_fact_adds_no_candidate():
    facts = [fact(1, 'When asked "Run the tests?" they answer "no".', importance=0.0)]
    ranked = predict(history(["yes", "yes"]), facts=facts)
    assert [(c.text, c.cited_facts) for c in ranked] == [("yes", [])]


# --- properties and speed -------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_the_fast_normal_form_is_the_judges_normalisation(text):
    assert toolkit.canonical(text) == toolkit._canonical_slow(text)


@settings(max_examples=100, deadline=None)
@given(a=st.text(max_size=60), b=st.text(max_size=60), floor=st.floats(0, 1))
def test_a_similarity_floor_only_zeroes_values_below_it(a, b, floor):
    exact = prompt_similarity(a, b)
    floored = prompt_similarity(a, b, floor=floor)
    assert 0.0 <= exact <= 1.0 + 1e-9
    assert floored == exact or (floored == 0.0 and exact < floor)


_prompts = st.sampled_from(
    ["Run the test suite?", "Run the tests?", "npm or pnpm?", "Commit these changes?", "Deploy?"]
)
_replies = st.sampled_from(["yes", "no", "pnpm", "yes, commit", "later", "Yes!", ""])


@settings(max_examples=150, deadline=None)
@given(
    relevant=st.lists(
        st.builds(
            past,
            _prompts,
            _replies,
            days=st.floats(0, 400),
            agent=st.sampled_from(["claude-code", "cursor"]),
            score=st.floats(-1, 5),
        ),
        max_size=30,
    ),
    agent_input=_prompts,
    k=st.integers(0, 6),
    importance=st.floats(0, 1),
)
def test_confidences_are_probabilities_that_sum_to_at_most_one(
    relevant, agent_input, k, importance
):
    facts = [fact(1, 'When asked "Run the tests?" they answer "yes".', importance=importance)]
    ranked = predict(relevant, facts=facts, agent_input=agent_input, k=k)

    assert len(ranked) <= max(k, 0)
    assert all(0.0 <= c.confidence <= 1.0 for c in ranked)
    assert sum(c.confidence for c in ranked) <= 1.0 + 1e-3
    assert [c.confidence for c in ranked] == sorted((c.confidence for c in ranked), reverse=True)
    assert len({toolkit.canonical(c.text) for c in ranked}) == len(ranked)
    assert ranked == predict(relevant, facts=facts, agent_input=agent_input, k=k)


def test_thirty_neighbours_and_twenty_facts_are_each_compared_with_the_prompt_once(
    monkeypatch,
):
    """The work of a predict is linear in its inputs: one similarity per neighbour and per
    fact, each text's features computed once. (Its time is measured in bench/predict.py.)"""
    rng = random.Random(7)
    prompts = [
        "Run the test suite?",
        "Should I run the tests now?",
        "Commit these changes?",
        "npm or pnpm?",
        "Run the migrations now?",
        "Which branch name should I use?",
    ]
    replies = ["yes", "yes, run it", "no", "pnpm", "yes, but back up the db first", "feat/x"]
    # Every text distinct (numbered), so no comparison profits from another's cache.
    relevant = [
        past(
            f"{rng.choice(prompts)} ({i})",
            f"{rng.choice(replies)} {i}",
            days=rng.uniform(0, 60),
            score=rng.random(),
        )
        for i in range(30)
    ]
    facts = [
        fact(i, f'When asked "{rng.choice(prompts)}" they answer "{rng.choice(replies)}" ({i}).')
        for i in range(20)
    ]
    comparisons = []

    def counted(*args, **kwargs):
        comparisons.append(args)
        return toolkit.features_similarity(*args, **kwargs)

    for module in (local_neighbours, local_facts):
        monkeypatch.setattr(module, "features_similarity", counted)
    toolkit.prompt_features.cache_clear()

    ranked = predict(relevant, facts=facts, agent_input="Want me to run pytest?")

    assert ranked
    assert len(comparisons) <= len(relevant) + len(facts)
    assert toolkit.prompt_features.cache_info().misses <= 1 + len(relevant) + len(facts)
