from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse

from clone_server import llm
from memories import promotion
from memories.models import EpisodicMemory, RawMemory, SemanticMemory
from memories.promotion import episodes as episode_promotion
from memories.promotion import facts as fact_promotion
from memories.promotion.answers import Answer
from memories.services import fact_create, raw_sync
from tests.factories import BASE_TIME, event
from tests.fakes.anthropic import error_reply, tool_reply
from tests.helpers import assert_api_error
from tests.memories.helpers import ingest

pytestmark = pytest.mark.django_db


@pytest.fixture
def fast_llm(settings):
    settings.CLONE_LLM_MAX_RETRIES = 0


def _three_groups(user):
    """Two sessions; the first has a gap of two hours: three groups, five rows."""
    ingest(
        user,
        event("terminal_turn", session_id="a", occurred_at=BASE_TIME),
        event("note", session_id="a", occurred_at=BASE_TIME + timedelta(minutes=10)),
        event("note", session_id="a", occurred_at=BASE_TIME + timedelta(hours=2)),
        event("note", session_id="b", occurred_at=BASE_TIME + timedelta(minutes=5)),
        event("terminal_turn", session_id="b", occurred_at=BASE_TIME + timedelta(minutes=6)),
    )
    raw_sync(user=user)


def _episode(user, n: int, *, rows: int = 2) -> EpisodicMemory:
    start = BASE_TIME + timedelta(hours=n)
    ingest(
        user,
        *[
            event("note", session_id=f"e{n}", occurred_at=start + timedelta(minutes=i))
            for i in range(rows)
        ],
    )
    raw_sync(user=user)
    episode = EpisodicMemory.objects.create(
        user=user,
        started_at=start,
        ended_at=start + timedelta(minutes=rows),
        title=f"episode {n}",
        summary=f"they worked on thing {n}",
    )
    RawMemory.objects.filter(user=user, session__external_id=f"e{n}").update(episode=episode)
    return episode


# --- Episodes through the fake Anthropic API ---------------------------------------------------


def test_episodes_are_summarized_one_call_per_group(api, user, fake_anthropic):
    _three_groups(user)
    fake_anthropic.respond_with(
        lambda req: tool_reply({"title": "Fixing tests", "summary": "They ran pytest."})
    )
    response = api.post(reverse("memories:promote-episodes"), {}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["created"] == 3
    assert body["rows"] == 5
    assert body["llm_calls"] == 3
    assert body["remaining"] is False
    assert body["usage"]["input_tokens"] == 300
    assert body["usage"]["output_tokens"] == 60
    assert fake_anthropic.calls == 3
    assert fake_anthropic.requests[0]["tool_choice"] == {"type": "tool", "name": "record_episode"}
    episodes = list(EpisodicMemory.objects.filter(user=user).order_by("started_at"))
    assert [e.raw.count() for e in episodes] == [2, 2, 1]
    assert episodes[0].title == "Fixing tests"
    assert episodes[0].session.external_id == "a"
    assert not RawMemory.objects.filter(user=user, episode__isnull=True).exists()


def test_promoting_again_with_nothing_new_makes_no_call(api, user, fake_anthropic):
    _three_groups(user)
    fake_anthropic.respond_with(lambda req: tool_reply({"title": "t", "summary": "s"}))
    api.post(reverse("memories:promote-episodes"))
    calls = fake_anthropic.calls
    again = api.post(reverse("memories:promote-episodes")).json()
    assert again["created"] == 0
    assert again["llm_calls"] == 0
    assert again["usage"]["input_tokens"] == 0
    assert fake_anthropic.calls == calls


def test_episode_promotion_is_bounded_and_continues_where_it_stopped(
    api, user, fake_anthropic, settings
):
    settings.CLONE_MEMORY_PROMOTE_MAX_ROWS = 3
    _three_groups(user)
    fake_anthropic.respond_with(lambda req: tool_reply({"title": "t", "summary": "s"}))
    first = api.post(reverse("memories:promote-episodes"), {"max_rows": 999}, format="json")
    assert first.json()["rows"] == 3
    assert first.json()["remaining"] is True
    second = api.post(reverse("memories:promote-episodes")).json()
    assert second["rows"] == 2
    assert second["remaining"] is False
    assert RawMemory.objects.filter(user=user, episode__isnull=True).count() == 0


def test_invalid_model_output_is_a_502_and_nothing_is_written(api, user, fake_anthropic):
    _three_groups(user)
    fake_anthropic.respond_with(lambda req: tool_reply({"title": "", "summary": 5}))
    response = api.post(reverse("memories:promote-episodes"))
    assert_api_error(response, 502, "llm_bad_output")
    assert fake_anthropic.calls == 2  # asked once more, then gave up
    assert not EpisodicMemory.objects.exists()
    assert RawMemory.objects.filter(user=user, episode__isnull=True).count() == 5


@pytest.mark.parametrize(
    ("reply", "status", "code"),
    [
        (error_reply(401, error_type="authentication_error"), 502, "llm_auth_failed"),
        (error_reply(403, error_type="permission_error"), 502, "llm_auth_failed"),
        (
            error_reply(429, error_type="rate_limit_error", headers={"retry-after": "30"}),
            503,
            "llm_rate_limited",
        ),
        (error_reply(500), 502, "llm_unavailable"),
        (error_reply(529, error_type="overloaded_error"), 502, "llm_unavailable"),
    ],
    ids=["401", "403", "429", "500", "529"],
)
def test_provider_errors_map_to_codes_and_write_nothing(
    api, user, fake_anthropic, fast_llm, reply, status, code
):
    _three_groups(user)
    fake_anthropic.respond_with(lambda req: reply)
    response = api.post(reverse("memories:promote-episodes"))
    assert_api_error(response, status, code)
    if code == "llm_rate_limited":
        assert response["Retry-After"] == "30"
    assert not EpisodicMemory.objects.exists()
    assert RawMemory.objects.filter(user=user, episode__isnull=True).count() == 5


def test_a_failure_midway_keeps_the_complete_episodes_and_nothing_of_the_failed_group(
    api, user, fake_anthropic, fast_llm
):
    _three_groups(user)
    fake_anthropic.queue(tool_reply({"title": "first", "summary": "s"}), error_reply(500))
    fake_anthropic.respond_with(lambda req: error_reply(500))
    response = api.post(reverse("memories:promote-episodes"))
    assert response.status_code == 502
    episode = EpisodicMemory.objects.get(user=user)
    assert episode.title == "first"
    assert RawMemory.objects.filter(user=user, episode=episode).count() == 2
    assert RawMemory.objects.filter(user=user, episode__isnull=True).count() == 3


def test_promotion_without_a_key_is_a_503(api, user, settings):
    settings.CLONE_LLM_PROVIDER = "anthropic"
    _three_groups(user)
    response = api.post(reverse("memories:promote-episodes"))
    assert_api_error(response, 503, "llm_not_configured")


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("memories:promote-episodes", {"max_rows": 0}),
        ("memories:promote-episodes", {"max_rows": "all"}),
        ("memories:promote-facts", {"max_episodes": -3}),
        ("memories:promote-facts", ["x"]),
    ],
    ids=["rows-zero", "rows-nan", "episodes-negative", "list"],
)
def test_bad_promotion_input_is_a_400(api, name, body):
    response = api.post(reverse(name), body, format="json")
    assert_api_error(response, 400, "invalid_request")


def test_episode_promotion_never_touches_another_users_rows(api, user, other_user, fake_anthropic):
    _three_groups(other_user)
    response = api.post(reverse("memories:promote-episodes")).json()
    assert response["created"] == 0
    assert fake_anthropic.calls == 0
    assert RawMemory.objects.filter(user=other_user, episode__isnull=True).count() == 5


# --- Grouping, through the gateway seam ---------------------------------------------------------


def test_rows_group_by_session_gap_and_size(user, monkeypatch, settings):
    settings.CLONE_LLM_PROVIDER = "anthropic"
    settings.CLONE_MEMORY_EPISODE_MAX_ROWS = 3
    settings.CLONE_MEMORY_EPISODE_GAP_MINUTES = 15
    seen: list[list[str]] = []

    def fake_call(**kwargs):
        seen.append(kwargs["messages"][0]["content"].splitlines()[1:])
        return llm.StructuredResult(
            data={"title": "t", "summary": "s"}, model="m", usage=llm.Usage(1, 1), latency_ms=1
        )

    monkeypatch.setattr(llm, "structured_call", fake_call)
    ingest(
        user,
        *[
            event("note", session_id="a", occurred_at=BASE_TIME + timedelta(minutes=m))
            for m in (0, 1, 2, 3, 20)
        ],
    )
    raw_sync(user=user)
    result = promotion.episodes_promote(user=user)
    # 4 rows within 15 minutes split by the size cap (3 + 1), then the row after the gap.
    assert [len(rows) for rows in seen] == [3, 1, 1]
    assert result.created == 3
    assert result.usage == llm.Usage(3, 3)


# --- Facts ---------------------------------------------------------------------------------------


def test_facts_are_created_reinforced_and_refined_with_provenance(
    api, user, other_user, fake_anthropic
):
    e1, e2 = _episode(user, 1), _episode(user, 2)
    known = fact_create(user=user, text="Uses npm.", importance=0.5)
    stable = fact_create(user=user, text="Likes tests.", importance=0.5)
    theirs = fact_create(user=other_user, text="Their fact.", importance=0.5)
    answer = {
        "new": [
            {
                "kind": "preference",
                "text": "Backs up the database before migrations.",
                "importance": 0.8,
                "tags": ["db"],
                "source_episode_ids": [e1.id, 999_999],
            }
        ],
        "reinforce": [
            {
                "id": known.id,
                "importance_delta": 0.05,
                "source_episode_ids": [e2.id],
                "text": "Uses pnpm, not npm.",
            },
            {"id": stable.id, "importance_delta": 0.5, "source_episode_ids": []},
            {"id": theirs.id, "importance_delta": 0.1, "source_episode_ids": [e1.id]},
        ],
    }
    fake_anthropic.respond_with(lambda req: tool_reply(answer))
    response = api.post(reverse("memories:promote-facts"), {}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["created"], body["reinforced"], body["refined"]) == (1, 2, 1)
    assert body["episodes"] == 2
    assert body["llm_calls"] == 1
    assert body["usage"]["input_tokens"] == 100

    new = SemanticMemory.objects.get(user=user, text__startswith="Backs up")
    assert new.kind == "preference"
    assert new.importance == 0.8
    assert list(new.source_episodes.values_list("id", flat=True)) == [e1.id]

    known.refresh_from_db()
    assert known.text == "Uses pnpm, not npm."
    assert known.revisions[0]["text"] == "Uses npm."
    assert known.revisions[0]["by"] == "promotion"
    assert known.importance == pytest.approx(0.55)
    assert known.reinforced_count == 1
    assert list(known.source_episodes.values_list("id", flat=True)) == [e2.id]

    stable.refresh_from_db()
    assert stable.importance == pytest.approx(0.7)  # capped at +0.2 per promotion
    assert stable.text == "Likes tests."
    assert set(stable.source_episodes.values_list("id", flat=True)) == {e1.id, e2.id}

    theirs.refresh_from_db()
    assert (theirs.importance, theirs.reinforced_count) == (0.5, 0)
    assert not EpisodicMemory.objects.filter(user=user, distilled_at__isnull=True).exists()

    request = fake_anthropic.requests[0]
    content = request["messages"][0]["content"]
    assert "Uses npm." in content and "Their fact." not in content
    assert f'"id": {e1.id}' in content


def test_a_new_fact_repeating_a_known_one_reinforces_it(api, user, fake_anthropic):
    episode = _episode(user, 1)
    known = fact_create(user=user, text="Prefers pnpm.", importance=0.5)
    fake_anthropic.respond_with(
        lambda req: tool_reply(
            {
                "new": [
                    {
                        "kind": "preference",
                        "text": "Prefers pnpm.",
                        "importance": 0.9,
                        "tags": [],
                        "source_episode_ids": [episode.id],
                    }
                ],
                "reinforce": [],
            }
        )
    )
    body = api.post(reverse("memories:promote-facts")).json()
    assert (body["created"], body["reinforced"]) == (0, 1)
    assert SemanticMemory.objects.filter(user=user).count() == 1
    known.refresh_from_db()
    assert known.importance == 0.5
    assert list(known.source_episodes.values_list("id", flat=True)) == [episode.id]


def test_fact_promotion_is_idempotent_and_bounded(api, user, fake_anthropic, settings):
    settings.CLONE_MEMORY_DISTILL_EPISODES_PER_CALL = 2
    for n in range(5):
        _episode(user, n, rows=1)
    fake_anthropic.respond_with(lambda req: tool_reply({"new": [], "reinforce": []}))
    first = api.post(reverse("memories:promote-facts"), {"max_episodes": 3}, format="json")
    assert first.json()["episodes"] == 3
    assert first.json()["llm_calls"] == 2
    assert first.json()["remaining"] is True
    second = api.post(reverse("memories:promote-facts")).json()
    assert (second["episodes"], second["remaining"]) == (2, False)
    calls = fake_anthropic.calls
    third = api.post(reverse("memories:promote-facts")).json()
    assert (third["created"], third["llm_calls"]) == (0, 0)
    assert fake_anthropic.calls == calls


def test_invalid_fact_output_writes_nothing(api, user, fake_anthropic):
    _episode(user, 1)
    known = fact_create(user=user, text="Uses npm.", importance=0.5)
    fake_anthropic.respond_with(
        lambda req: tool_reply({"new": [{"text": "no kind"}], "reinforce": []})
    )
    response = api.post(reverse("memories:promote-facts"))
    assert_api_error(response, 502, "llm_bad_output")
    assert SemanticMemory.objects.filter(user=user).count() == 1
    known.refresh_from_db()
    assert known.importance == 0.5
    assert EpisodicMemory.objects.filter(user=user, distilled_at__isnull=True).count() == 1


@pytest.mark.parametrize(
    ("reply", "status", "code"),
    [
        (error_reply(401, error_type="authentication_error"), 502, "llm_auth_failed"),
        (error_reply(429, error_type="rate_limit_error"), 503, "llm_rate_limited"),
        (error_reply(503), 502, "llm_unavailable"),
    ],
    ids=["401", "429", "503"],
)
def test_fact_promotion_provider_errors_write_nothing(
    api, user, fake_anthropic, fast_llm, reply, status, code
):
    _episode(user, 1)
    fake_anthropic.respond_with(lambda req: reply)
    response = api.post(reverse("memories:promote-facts"))
    assert_api_error(response, status, code)
    assert not SemanticMemory.objects.exists()
    assert EpisodicMemory.objects.filter(user=user, distilled_at__isnull=True).count() == 1


# --- The local provider -------------------------------------------------------------------------


def test_local_provider_promotes_without_any_llm_call(api, user, settings, monkeypatch):
    settings.CLONE_LLM_PROVIDER = "local"

    def no_llm(**kwargs):
        raise AssertionError("the local provider must not call the LLM")

    monkeypatch.setattr(llm, "structured_call", no_llm)
    for i in range(4):
        ingest(
            user,
            event(
                "terminal_turn",
                session_id="w",
                occurred_at=BASE_TIME + timedelta(minutes=i),
                payload={"command": "pnpm test", "exit_code": 0, "cwd": "~/shop"},
            ),
        )
    ingest(
        user,
        event(
            "note",
            session_id="w",
            occurred_at=BASE_TIME + timedelta(minutes=9),
            payload={"text": "Always prefer pnpm over npm."},
        ),
    )
    raw_sync(user=user)
    episodes = api.post(reverse("memories:promote-episodes")).json()
    assert episodes["created"] == 1
    assert episodes["llm_calls"] == 0
    assert episodes["usage"]["input_tokens"] == 0
    facts = api.post(reverse("memories:promote-facts")).json()
    assert facts["llm_calls"] == 0
    assert facts["created"] >= 1
    texts = list(SemanticMemory.objects.filter(user=user).values_list("text", flat=True))
    assert any("pnpm" in t for t in texts)
    episode = EpisodicMemory.objects.get(user=user)
    assert episode.model == "local"
    assert all(
        f.source_episodes.filter(id=episode.id).exists()
        for f in SemanticMemory.objects.filter(user=user)
    )
    # Running it again finds nothing to do.
    assert api.post(reverse("memories:promote-facts")).json()["created"] == 0


def test_local_output_that_breaks_the_schema_is_refused(user, settings, monkeypatch):
    settings.CLONE_LLM_PROVIDER = "local"
    _three_groups(user)
    from memories.promotion import offline

    monkeypatch.setattr(offline, "episode_summarize", lambda rows: {"title": "only"})
    with pytest.raises(llm.LLMBadOutput):
        promotion.episodes_promote(user=user)
    assert not EpisodicMemory.objects.exists()


def test_promote_memory_command_runs_both_to_completion(user, other_user, settings):
    settings.CLONE_LLM_PROVIDER = "local"
    settings.CLONE_MEMORY_PROMOTE_MAX_ROWS = 2
    settings.CLONE_MEMORY_PROMOTE_MAX_EPISODES = 1
    _three_groups(user)
    _three_groups(other_user)
    call_command("promote_memory", "--user", "alice")
    assert not RawMemory.objects.filter(user=user, episode__isnull=True).exists()
    assert not EpisodicMemory.objects.filter(user=user, distilled_at__isnull=True).exists()
    assert EpisodicMemory.objects.filter(user=user).count() == 3
    assert RawMemory.objects.filter(user=other_user, episode__isnull=True).count() == 5
    call_command("promote_memory")
    assert not RawMemory.objects.filter(user=other_user, episode__isnull=True).exists()


# --- Races ------------------------------------------------------------------------------------


def test_a_group_already_taken_by_another_promotion_creates_no_episode(user):
    _three_groups(user)
    rows = list(
        RawMemory.objects.filter(user=user, session__external_id="b")
        .order_by("occurred_at")
        .values("id", "session_id", "occurred_at")
    )
    answer = Answer({"title": "t", "summary": "s"}, "m", llm.Usage(), used_llm=True)
    assert episode_promotion._episode_store(user=user, group=rows, answer=answer) is not None
    assert episode_promotion._episode_store(user=user, group=rows, answer=answer) is None
    assert EpisodicMemory.objects.filter(user=user).count() == 1


def test_episodes_already_distilled_by_another_promotion_are_not_distilled_twice(user):
    episode = _episode(user, 1)
    answer = Answer(
        {
            "new": [
                {
                    "kind": "habit",
                    "text": "Runs tests first.",
                    "importance": 0.6,
                    "tags": [],
                    "source_episode_ids": [episode.id],
                }
            ],
            "reinforce": [],
        },
        "m",
        llm.Usage(),
        used_llm=True,
    )
    first = fact_promotion._facts_store(user=user, episode_ids=[episode.id], answer=answer)
    second = fact_promotion._facts_store(user=user, episode_ids=[episode.id], answer=answer)
    assert (first.created, second.created) == (1, 0)
    assert SemanticMemory.objects.filter(user=user).count() == 1
