from datetime import timedelta

import pytest
from django.urls import reverse

from memories.models import EpisodicMemory
from memories.relevance import overlap_score, query_terms
from memories.selectors import _tiers_orm, _tiers_postgres, context_bundle, relevant_replies
from memories.services import (
    fact_create,
    fact_delete,
    profile_calibration_set,
    profile_update,
    raw_sync,
)
from tests.factories import BASE_TIME, event
from tests.helpers import assert_api_error
from tests.memories.helpers import dialogue, ingest

pytestmark = pytest.mark.django_db

BUNDLE_KEYS = {"profile", "facts", "episodes", "raw"}


def _episode(user, n: int) -> EpisodicMemory:
    start = BASE_TIME + timedelta(hours=n)
    return EpisodicMemory.objects.create(
        user=user,
        started_at=start,
        ended_at=start + timedelta(minutes=10),
        title=f"episode {n}",
        summary=f"summary {n}",
    )


def test_empty_bundle_has_exactly_the_documented_keys(api):
    response = api.post(reverse("memories:context"), {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "profile": {"body": "", "updated_at": None, "calibration": {}},
        "facts": [],
        "episodes": [],
        "raw": [],
    }


def test_bundle_with_agent_input_adds_relevant(api):
    response = api.post(reverse("memories:context"), {"agent_input": "Deploy?"}, format="json")
    assert set(response.json()) == {*BUNDLE_KEYS, "relevant"}
    assert response.json()["relevant"] == []


def test_bundle_holds_the_profile_and_the_default_limits(user):
    profile_update(user=user, body="A careful backend developer.")
    for i in range(25):
        fact_create(user=user, text=f"fact {i}", importance=i / 25)
    for n in range(12):
        _episode(user, n)
    ingest(user, *[event("note", payload={"text": f"n{i}"}) for i in range(55)])
    raw_sync(user=user)

    bundle = context_bundle(user=user)

    assert bundle["profile"]["body"] == "A careful backend developer."
    assert bundle["profile"]["updated_at"] is not None
    assert [f["text"] for f in bundle["facts"]] == [f"fact {i}" for i in range(24, 4, -1)]
    assert [e["title"] for e in bundle["episodes"]] == [f"episode {n}" for n in range(11, 1, -1)]
    assert len(bundle["raw"]) == 50
    assert bundle["raw"][0]["text"] == 'Noted: "n54"'
    first = bundle["facts"][0]
    assert set(first) == {"id", "kind", "text", "importance", "tags"}
    assert set(bundle["episodes"][0]) == {"id", "title", "summary", "started_at", "ended_at"}
    assert set(bundle["raw"][0]) == {"id", "kind", "text", "occurred_at"}


def test_facts_at_zero_importance_sort_after_every_other_fact(user):
    zero = fact_create(user=user, text="faded", importance=0.0)
    fact_create(user=user, text="low", importance=0.01)
    fact_create(user=user, text="high", importance=0.9)
    texts = [f["text"] for f in context_bundle(user=user)["facts"]]
    assert texts == ["high", "low", "faded"]
    assert context_bundle(user=user, facts_limit=2)["facts"][-1]["text"] == "low"
    assert zero.importance == 0.0


def test_deleted_fact_never_appears_in_a_later_bundle(user):
    fact = fact_create(user=user, text="uses vim", importance=1.0)
    fact_delete(user=user, fact_id=fact.id)
    assert context_bundle(user=user)["facts"] == []


def test_limits_are_configurable_per_request(api, user):
    for i in range(5):
        fact_create(user=user, text=f"f{i}")
    response = api.post(
        reverse("memories:context"), {"facts_limit": 2, "raw_limit": 0}, format="json"
    )
    assert len(response.json()["facts"]) == 2
    assert response.json()["raw"] == []


def test_limits_are_configurable_by_setting(api, user, settings):
    settings.CLONE_MEMORY_BUNDLE_FACTS = 3
    for i in range(5):
        fact_create(user=user, text=f"f{i}")
    assert len(api.post(reverse("memories:context")).json()["facts"]) == 3
    assert len(context_bundle(user=user)["facts"]) == 3
    assert len(context_bundle(user=user, facts_limit=4)["facts"]) == 4


@pytest.mark.parametrize(
    "body",
    [
        {"agent_input": 5},
        {"agent_input": "x" * 20_001},
        {"facts_limit": -1},
        {"raw_limit": 10_000},
        {"relevant_limit": "many"},
        ["agent_input"],
    ],
    ids=[
        "input-not-text",
        "input-too-long",
        "negative-limit",
        "limit-too-high",
        "limit-nan",
        "list",
    ],
)
def test_bad_context_input_is_a_400_in_the_error_shape(api, body):
    response = api.post(reverse("memories:context"), body, format="json")
    assert_api_error(response, 400, "invalid_request")


def test_bundle_never_shows_another_users_memory(api, user, other_user):
    profile_update(user=other_user, body="secret")
    fact_create(user=other_user, text="their fact")
    _episode(other_user, 1)
    dialogue(other_user, "Run the migrations now?", "yes")
    raw_sync(user=other_user)
    bundle = api.post(
        reverse("memories:context"), {"agent_input": "Run the migrations now?"}, format="json"
    ).json()
    assert bundle == {
        "profile": {"body": "", "updated_at": None, "calibration": {}},
        "facts": [],
        "episodes": [],
        "raw": [],
        "relevant": [],
    }


def test_bundle_is_a_constant_number_of_queries(user, django_assert_num_queries):
    def grow(n):
        for i in range(n):
            fact_create(user=user, text=f"fact {i}")
            _episode(user, n * 100 + i)
            dialogue(user, f"Run migration {i}?", "yes", at=BASE_TIME + timedelta(minutes=i + n))
        raw_sync(user=user)

    grow(3)
    # the four tiers in one statement, then relevance
    with django_assert_num_queries(2):
        context_bundle(user=user, agent_input="Run the migration?")
    grow(40)
    with django_assert_num_queries(2):
        bundle = context_bundle(user=user, agent_input="Run the migration?")
    assert bundle["relevant"]


@pytest.mark.parametrize("limits", [(20, 10, 50), (3, 2, 4), (0, 0, 0)])
def test_one_statement_tiers_equal_the_orm_reads(user, other_user, limits):
    """The Postgres single statement and the portable ORM path read the same rows in the same
    order, ties included, and nothing of another user's."""
    facts, episodes, raw = limits
    assert _tiers_postgres(user=user, facts=facts, episodes=episodes, raw=raw) == _tiers_orm(
        user=user, facts=facts, episodes=episodes, raw=raw
    )  # no profile yet: the empty one
    for owner in (user, other_user):
        profile_update(user=owner, body=f"profile of {owner.username}")
        for i in range(8):
            # Equal importances: updated_at and then id break the ties.
            fact_create(user=owner, text=f"{owner.username} fact {i}", importance=(i % 3) / 2)
            _episode(owner, i % 4)  # equal end times: the id breaks the tie
        # Same timestamps for several raw rows.
        ingest(
            owner,
            *[event("note", payload={"text": f"n{i}"}, occurred_at=BASE_TIME) for i in range(6)],
            *[event("note", payload={"text": f"m{i}"}) for i in range(6)],
        )
        raw_sync(user=owner)
    profile_calibration_set(user=user, calibration={"a": -2.0, "b": 0.5, "n": 40})

    fast = _tiers_postgres(user=user, facts=facts, episodes=episodes, raw=raw)
    assert fast == _tiers_orm(user=user, facts=facts, episodes=episodes, raw=raw)
    assert fast["profile"]["body"] == "profile of alice"
    assert fast["profile"]["calibration"]["n"] == 40
    assert [len(fast[tier]) for tier in ("facts", "episodes", "raw")] == [
        min(facts, 8),
        min(episodes, 8),
        min(raw, 12),
    ]
    assert all("alice" in f["text"] for f in fast["facts"])


def test_context_endpoint_queries_do_not_grow_with_data(api, user, django_assert_max_num_queries):
    for i in range(30):
        fact_create(user=user, text=f"fact {i}")
        dialogue(user, f"Delete file {i}?", "no", at=BASE_TIME + timedelta(minutes=i))
    raw_sync(user=user)
    # authentication (up to 3 for an API key) + 2 for the bundle
    with django_assert_max_num_queries(5):
        response = api.post(reverse("memories:context"), {"agent_input": "delete"}, format="json")
    assert len(response.json()["relevant"]) == 10


# --- Relevance ---------------------------------------------------------------------------------


def _history(user):
    t = BASE_TIME
    dialogue(user, "Run the database migrations now?", "yes, but back up the db first", at=t)
    dialogue(
        user, "Should I delete the old log files?", "no, archive them", at=t + timedelta(hours=1)
    )
    dialogue(user, "Install the requests package?", "use httpx instead", at=t + timedelta(hours=2))
    dialogue(user, "Push the branch to origin?", "yes", at=t + timedelta(hours=3))
    dialogue(user, "Migrate the database schema?", None, at=t + timedelta(hours=4))
    raw_sync(user=user)


def test_the_most_similar_answered_prompt_ranks_first(user):
    _history(user)
    found = context_bundle(user=user, agent_input="Can I run the migrations on the database?")
    top = found["relevant"][0]
    assert top["prompt"] == "Run the database migrations now?"
    assert top["reply"] == "yes, but back up the db first"
    assert top["agent"] == "claude-code"
    assert set(top) == {"prompt_event_id", "agent", "prompt", "reply", "occurred_at", "score"}
    scores = [r["score"] for r in found["relevant"]]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Shall I apply the migration to the DB?", "Run the database migrations now?"),
        ("Remove the stale logs?", "Should I delete the old log files?"),
        ("Add the requests library as a dependency?", "Install the requests package?"),
        ("Pushing this branch upstream ok?", "Push the branch to origin?"),
        ("Instal the reqests pakage", "Install the requests package?"),
    ],
    ids=["stemming-and-synonym", "synonyms", "package-synonym", "inflection", "typos"],
)
def test_a_paraphrase_still_finds_the_earlier_prompt(user, question, expected):
    _history(user)
    found = relevant_replies(user=user, agent_inputs=[question])[0]
    assert found, f"nothing found for {question!r}"
    assert found[0]["prompt"] == expected


def test_prompts_without_a_reply_are_never_relevant(user):
    _history(user)
    found = relevant_replies(user=user, agent_inputs=["Migrate the database schema?"])[0]
    assert "Migrate the database schema?" not in [r["prompt"] for r in found]


def test_equal_scores_go_to_the_most_recent(user):
    dialogue(user, "Format the code?", "old answer", at=BASE_TIME)
    dialogue(user, "Format the code?", "new answer", at=BASE_TIME + timedelta(days=1))
    raw_sync(user=user)
    found = relevant_replies(user=user, agent_inputs=["Format the code?"])[0]
    assert [r["reply"] for r in found] == ["new answer", "old answer"]


def test_relevant_is_limited(user):
    for i in range(15):
        dialogue(user, f"Run the tests again {i}?", "yes", at=BASE_TIME + timedelta(minutes=i))
    raw_sync(user=user)
    assert len(relevant_replies(user=user, agent_inputs=["run tests"])[0]) == 10
    assert len(relevant_replies(user=user, agent_inputs=["run tests"], limit=3)[0]) == 3


def test_relevance_never_crosses_users(user, other_user):
    _history(other_user)
    assert relevant_replies(user=user, agent_inputs=["Run the database migrations now?"]) == [[]]


@pytest.mark.parametrize(
    "text",
    ["", "   ", "the a of", "!!! ??? & | :*", "' OR 1=1 --", "x" * 10_000],
    ids=["empty", "blank", "stopwords", "tsquery-syntax", "sql", "huge"],
)
def test_odd_inputs_never_fail(user, text):
    _history(user)
    found = relevant_replies(user=user, agent_inputs=[text])
    assert isinstance(found[0], list)


def test_batch_relevance_is_one_query_whatever_the_batch_size(user, django_assert_num_queries):
    _history(user)
    questions = [
        "Run the migrations?",
        "Delete logs?",
        "",
        "Install a package?",
        "Push it?",
    ] * 20
    with django_assert_num_queries(1):
        found = relevant_replies(user=user, agent_inputs=questions)
    assert len(found) == 100
    assert found[0][0]["prompt"] == "Run the database migrations now?"
    assert found[1][0]["prompt"] == "Should I delete the old log files?"
    assert found[2] == []
    assert found[3][0]["prompt"] == "Install the requests package?"
    assert found[4][0]["prompt"] == "Push the branch to origin?"
    assert found[95:] == found[:5]


def test_query_terms_are_words_only_and_widened_by_synonyms():
    terms = query_terms("Delete the DB's tables; OR 1=1 --")
    assert "delete" in terms and "remove" in terms and "database" in terms
    assert all(t.isalnum() for t in terms)


def test_overlap_fallback_scores_shared_stemmed_terms():
    assert overlap_score("run migrations", "Running the migration") == 1.0
    assert overlap_score("remove logs", "delete the log files") == 1.0
    assert overlap_score("deploy", "format code") == 0.0
    assert overlap_score("", "anything") == 0.0


def test_fallback_search_ranks_by_term_overlap_in_one_query(user, django_assert_num_queries):
    from memories.relevance import _fallback

    _history(user)
    with django_assert_num_queries(1):
        found = _fallback(user=user, inputs=["remove the logs", "zzz"], limit=10)
    assert found[0][0]["prompt"] == "Should I delete the old log files?"
    assert found[1] == []
