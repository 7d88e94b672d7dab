from datetime import timedelta

import pytest
from django.urls import reverse

from memories.models import EpisodicMemory, SemanticMemory
from memories.selectors import context_bundle
from memories.services import fact_create, profile_calibration_set, raw_sync
from tests.factories import BASE_TIME, event
from tests.helpers import assert_api_error
from tests.memories.helpers import ingest

pytestmark = pytest.mark.django_db


# --- Profile -----------------------------------------------------------------------------------


def test_profile_starts_empty_and_put_replaces_the_body(api, user):
    empty = api.get(reverse("memories:profile"))
    assert empty.status_code == 200
    profile = {k: v for k, v in empty.json().items() if k in {"body", "updated_at", "calibration"}}
    assert profile == {"body": "", "updated_at": None, "calibration": {}}
    put = api.put(reverse("memories:profile"), {"body": "Terse. Prefers pnpm."}, format="json")
    assert put.status_code == 200
    assert put.json()["body"] == "Terse. Prefers pnpm."
    assert put.json()["updated_at"] is not None
    assert api.get(reverse("memories:profile")).json()["body"] == "Terse. Prefers pnpm."


def test_calibration_written_by_the_fitter_is_visible_and_kept_by_put(api, user):
    profile_calibration_set(user=user, calibration={"a": 1.5, "b": -0.2, "n": 40})
    api.put(reverse("memories:profile"), {"body": "x"}, format="json")
    assert api.get(reverse("memories:profile")).json()["calibration"] == {
        "a": 1.5,
        "b": -0.2,
        "n": 40,
    }


@pytest.mark.parametrize(
    "body",
    [{}, {"body": None}, {"body": 7}, {"body": "x" * 20_001}, ["body"]],
    ids=["missing", "null", "not-text", "too-long", "list"],
)
def test_bad_profile_put_is_a_400(api, body):
    response = api.put(reverse("memories:profile"), body, format="json")
    assert_api_error(response, 400, "invalid_request")


def test_profile_is_per_user(client_for, user, other_user):
    client_for(other_user, "jwt").put(reverse("memories:profile"), {"body": "bob"}, format="json")
    assert client_for(user, "api_key").get(reverse("memories:profile")).json()["body"] == ""


# --- Facts -------------------------------------------------------------------------------------


def test_post_fact_creates_a_stated_fact(api, user):
    response = api.post(
        reverse("memories:facts"),
        {"text": "Prefers small commits.", "tags": ["git", "git", " style "]},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "stated"
    assert body["importance"] == 0.5
    assert body["tags"] == ["git", "style"]
    assert body["source_episode_ids"] == []
    assert SemanticMemory.objects.get(user=user).text == "Prefers small commits."


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"text": ""},
        {"text": 12},
        {"text": "x" * 2001},
        {"text": "ok", "importance": 1.5},
        {"text": "ok", "importance": -0.1},
        {"text": "ok", "importance": "high"},
        {"text": "ok", "kind": "Not A Kind!"},
        {"text": "ok", "tags": "git"},
        {"text": "ok", "tags": [1]},
        {"text": "ok", "tags": ["t"] * 21},
    ],
    ids=[
        "empty",
        "blank-text",
        "text-not-string",
        "text-too-long",
        "importance-above-1",
        "importance-below-0",
        "importance-nan",
        "bad-kind",
        "tags-not-list",
        "tag-not-string",
        "too-many-tags",
    ],
)
def test_bad_fact_is_a_400_and_nothing_is_stored(api, user, body):
    response = api.post(reverse("memories:facts"), body, format="json")
    assert_api_error(response, 400, "invalid_request")
    assert not SemanticMemory.objects.exists()


def test_fact_list_is_in_importance_order_then_most_recently_updated(api, user):
    a = fact_create(user=user, text="a", importance=0.5)
    fact_create(user=user, text="b", importance=0.5)
    fact_create(user=user, text="zero", importance=0.0)
    fact_create(user=user, text="top", importance=0.9)
    api.patch(reverse("memories:fact", args=[a.id]), {"tags": ["x"]}, format="json")
    body = api.get(reverse("memories:facts")).json()
    assert [f["text"] for f in body["results"]] == ["top", "a", "b", "zero"]
    assert body["count"] == 4


def test_fact_list_is_paginated_with_constant_queries(
    client_for, user, django_assert_max_num_queries
):
    client = client_for(user, "jwt")
    episode = EpisodicMemory.objects.create(
        user=user, started_at=BASE_TIME, ended_at=BASE_TIME, title="t", summary="s"
    )
    for i in range(60):
        fact = fact_create(user=user, text=f"f{i}")
        fact.source_episodes.add(episode)
    # count, page, prefetch of source episodes (plus the JWT user lookup)
    with django_assert_max_num_queries(4):
        body = client.get(reverse("memories:facts"), {"page_size": 25}).json()
    assert len(body["results"]) == 25
    assert body["results"][0]["source_episode_ids"] == [episode.id]
    assert (
        client.get(reverse("memories:facts"), {"page": 3, "page_size": 25})
        .json()["results"]
        .__len__()
        == 10
    )


def test_patch_fact_keeps_the_old_text_in_revisions(api, user):
    fact = fact_create(user=user, text="Uses npm.", importance=0.3)
    response = api.patch(
        reverse("memories:fact", args=[fact.id]),
        {"text": "Uses pnpm.", "importance": 0.8},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["text"] == "Uses pnpm."
    assert body["importance"] == 0.8
    assert [r["text"] for r in body["revisions"]] == ["Uses npm."]
    assert body["revisions"][0]["by"] == "user"


@pytest.mark.parametrize(
    "body",
    [{}, {"importance": 2}, {"text": ""}, {"tags": [None]}],
    ids=["nothing", "importance-above-1", "blank-text", "null-tag"],
)
def test_bad_patch_is_a_400_and_changes_nothing(api, user, body):
    fact = fact_create(user=user, text="keep", importance=0.3)
    response = api.patch(reverse("memories:fact", args=[fact.id]), body, format="json")
    assert response.status_code == 400
    fact.refresh_from_db()
    assert (fact.text, fact.importance) == ("keep", 0.3)


def test_delete_fact_removes_it_from_list_and_bundle(api, user):
    fact = fact_create(user=user, text="gone", importance=1.0)
    assert api.delete(reverse("memories:fact", args=[fact.id])).status_code == 204
    assert api.get(reverse("memories:facts")).json()["count"] == 0
    assert context_bundle(user=user)["facts"] == []
    assert api.delete(reverse("memories:fact", args=[fact.id])).status_code == 404


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_another_users_fact_is_a_404(api, other_user, method):
    theirs = fact_create(user=other_user, text="theirs")
    response = getattr(api, method)(
        reverse("memories:fact", args=[theirs.id]), {"text": "mine now"}, format="json"
    )
    assert_api_error(response, 404, "not_found")
    theirs.refresh_from_db()
    assert theirs.text == "theirs"


def test_fact_list_shows_only_the_callers_facts(api, user, other_user):
    fact_create(user=other_user, text="theirs")
    fact_create(user=user, text="mine")
    assert [f["text"] for f in api.get(reverse("memories:facts")).json()["results"]] == ["mine"]


# --- Episodes and raw --------------------------------------------------------------------------


def test_episodes_list_newest_first_with_constant_queries(
    client_for, user, other_user, django_assert_max_num_queries
):
    client = client_for(user, "jwt")
    ingest(user, event("note", session_id="term-1"))
    raw_sync(user=user)
    for i in range(30):
        start = BASE_TIME + timedelta(hours=i)
        EpisodicMemory.objects.create(
            user=user,
            started_at=start,
            ended_at=start + timedelta(minutes=5),
            title=f"e{i}",
            summary="s",
        )
    EpisodicMemory.objects.create(
        user=other_user, started_at=BASE_TIME, ended_at=BASE_TIME, title="theirs", summary="s"
    )
    with django_assert_max_num_queries(3):
        body = client.get(reverse("memories:episodes")).json()
    assert body["count"] == 30
    assert body["results"][0]["title"] == "e29"
    assert set(body["results"][0]) == {
        "id",
        "session_id",
        "title",
        "summary",
        "started_at",
        "ended_at",
        "distilled_at",
        "created_at",
    }


def test_raw_list_newest_first_filterable_by_kind(
    client_for, user, other_user, django_assert_max_num_queries
):
    client = client_for(user, "jwt")
    ingest(user, *[event("note") for _ in range(5)], event("terminal_turn"))
    ingest(other_user, event("note"))
    raw_sync(user=user)
    raw_sync(user=other_user)
    with django_assert_max_num_queries(3):
        body = client.get(reverse("memories:raw")).json()
    assert body["count"] == 6
    assert body["results"][0]["kind"] == "terminal_turn"
    notes = client.get(reverse("memories:raw"), {"kind": "note"}).json()
    assert notes["count"] == 5


@pytest.mark.parametrize(
    "name",
    [
        "memories:sync",
        "memories:context",
        "memories:profile",
        "memories:facts",
        "memories:episodes",
        "memories:raw",
        "memories:promote-episodes",
        "memories:promote-facts",
    ],
)
def test_every_endpoint_requires_authentication(anon_client, name):
    response = anon_client.post(reverse(name), {}, format="json")
    assert_api_error(response, 401, "not_authenticated")


@pytest.mark.parametrize(
    "kwargs",
    [{"text": " "}, {"text": "ok", "importance": 1.01}, {"text": "ok", "kind": "x" * 40}],
    ids=["blank", "importance", "kind"],
)
def test_fact_service_refuses_bad_values_with_a_clear_code(user, kwargs):
    from memories.services import InvalidFact

    with pytest.raises(InvalidFact):
        fact_create(user=user, **kwargs)
    assert not SemanticMemory.objects.exists()
