import io
import json
import math
import re
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone
from functools import cache

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from clone_server.text import canonical as normalize
from recording.demo import DEFAULT_START, DEMO_TZ, INTENTS, demo_generate, demo_history
from recording.models import Event, RecordingSession
from recording.validation import event_problems

ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


@cache
def month():
    return demo_generate(days=30, seed=7)


@cache
def season():
    """A longer history, so that rare conditions (late Friday commits) have enough samples."""
    return demo_generate(days=150, seed=11)


def pairs(history):
    """(prompt, reply) for every answered prompt, in time order."""
    prompts = {e["id"]: e for e in history.events if e["kind"] == "agent_prompt"}
    return [
        (prompts[e["payload"]["in_reply_to"]], e)
        for e in history.events
        if e["kind"] == "user_reply"
    ]


def local_time(event) -> datetime:
    return datetime.fromisoformat(event["occurred_at"])


def test_every_event_of_a_30_day_history_validates_against_the_schema():
    events = month().events
    problems = [p for i, e in enumerate(events) for p in event_problems(e, index=i)]
    assert problems == []
    assert 2_000 <= len(events) <= 5_000
    assert set(Counter(e["kind"] for e in events)) == {
        "agent_prompt",
        "user_reply",
        "terminal_turn",
        "desktop_frame",
        "integration_webhook",
        "note",
    }


def test_validation_would_catch_a_broken_event():
    # Guards the test above: the validator really looks at these events.
    broken = {**month().events[0], "occurred_at": "2026-10-01T09:00:00"}
    assert event_problems(broken) != []


def test_same_seed_gives_the_same_history():
    assert demo_history(days=5, seed=3) == demo_history(days=5, seed=3)


def test_different_seeds_give_different_histories():
    first, second = demo_history(days=5, seed=3), demo_history(days=5, seed=4)
    assert {e["id"] for e in first}.isdisjoint(e["id"] for e in second)
    assert [e["payload"].get("text") for e in first] != [e["payload"].get("text") for e in second]


def test_event_ids_are_unique_ulids():
    ids = [e["id"] for e in month().events]
    assert len(ids) == len(set(ids))
    assert all(ULID.match(event_id) for event_id in ids)


def test_events_are_in_time_order_in_local_time_with_offset():
    times = [local_time(e) for e in month().events]
    assert times == sorted(times)
    assert {t.utcoffset() for t in times} == {DEMO_TZ.utcoffset(None)}
    assert times[0].date() == DEFAULT_START


def test_every_reply_answers_an_earlier_prompt_of_the_same_session():
    events = month().events
    seen_prompts = {}
    answered = Counter()
    for event in events:
        if event["kind"] == "agent_prompt":
            seen_prompts[event["id"]] = event
        elif event["kind"] == "user_reply":
            prompt = seen_prompts.get(event["payload"]["in_reply_to"])
            assert prompt is not None, event
            assert prompt["session_id"] == event["session_id"]
            delay = local_time(event) - local_time(prompt)
            assert timedelta(seconds=2) <= delay <= timedelta(minutes=15)
            answered[prompt["id"]] += 1
    # Exactly one reply per prompt.
    assert set(answered) == set(seen_prompts)
    assert set(answered.values()) == {1}


def test_an_agent_session_waits_for_each_reply_before_the_next_prompt():
    last_kind = {}
    for event in month().events:
        if event["kind"] in ("agent_prompt", "user_reply"):
            previous = last_kind.get(event["session_id"])
            expected = "user_reply" if event["kind"] == "agent_prompt" else "agent_prompt"
            assert previous in (None, expected), event
            last_kind[event["session_id"]] = event["kind"]


def test_working_days_have_15_to_40_agent_prompts():
    per_day = Counter(local_time(e).date() for e in month().events if e["kind"] == "agent_prompt")
    weekdays = {day: n for day, n in per_day.items() if day.weekday() < 5}
    assert len(weekdays) == 22  # every weekday of October 2026
    assert all(15 <= n <= 40 for n in weekdays.values()), weekdays


def test_agent_prompts_come_from_several_agents():
    agents = Counter(e["payload"]["agent"] for e in month().events if e["kind"] == "agent_prompt")
    assert set(agents) == {"claude-code", "cursor", "aider"}


def test_about_a_quarter_of_prompts_are_open_questions():
    for history in (month(), demo_generate(days=30, seed=1), demo_generate(days=30, seed=2)):
        names = list(history.intents.values())
        share = sum(not INTENTS[name].predictable for name in names) / len(names)
        assert 0.2 <= share <= 0.3, share


def test_open_questions_have_varied_answers():
    replies = defaultdict(Counter)
    for prompt, reply in pairs(season()):
        name = season().intents[prompt["id"]]
        if not INTENTS[name].predictable:
            replies[name][normalize(reply["payload"]["text"])] += 1
    for name, counts in replies.items():
        top = counts.most_common(1)[0][1] / sum(counts.values())
        assert len(counts) >= 5 and top < 0.4, (name, counts)


def test_each_question_comes_in_several_wordings():
    wordings = defaultdict(set)
    for prompt, _ in pairs(month()):
        wordings[month().intents[prompt["id"]]].add(prompt["payload"]["text"])
    for name in ("run_tests", "commit", "package_manager", "push_main", "migrations"):
        assert len(wordings[name]) >= 4, (name, wordings[name])


def habit_samples(name, *, condition=lambda prompt: True):
    """(prompt, normalised reply) of every prompt of intent ``name`` meeting ``condition``."""
    history = season()
    return [
        (prompt, normalize(reply["payload"]["text"]))
        for prompt, reply in pairs(history)
        if history.intents[prompt["id"]] == name and condition(prompt)
    ]


def is_late_friday(prompt):
    at = local_time(prompt)
    return at.weekday() == 4 and at.hour >= 16


def test_package_manager_is_always_pnpm():
    samples = habit_samples("package_manager")
    assert len(samples) >= 50
    assert all(reply in ("pnpm", "pnpm always") for _, reply in samples)


def test_pushing_to_main_is_always_refused_in_favour_of_a_pr():
    samples = habit_samples("push_main")
    assert len(samples) >= 30
    assert all(reply.startswith("no open a") for _, reply in samples)


def test_migrations_always_come_with_a_backup_first():
    samples = habit_samples("migrations")
    assert len(samples) >= 30
    assert all("back up" in reply for _, reply in samples)


def test_the_terminal_shows_the_backup_before_each_migrate():
    commands = [e["payload"]["command"] for e in month().events if e["kind"] == "terminal_turn"]
    migrate_at = [i for i, c in enumerate(commands) if c == "python manage.py migrate"]
    assert migrate_at
    assert all(any(c.startswith("pg_dump") for c in commands[i - 3 : i]) for i in migrate_at)


def test_branch_names_are_feat_slash_topic():
    samples = habit_samples("branch_name")
    assert len(samples) >= 30
    history = season()
    for prompt, reply in pairs(history):
        if history.intents[prompt["id"]] == "branch_name":
            assert re.fullmatch(r"[Ff]eat/[a-z0-9-]+\.?", reply["payload"]["text"]), reply


def test_commits_are_left_for_monday_late_on_friday_but_made_otherwise():
    late = habit_samples("commit", condition=is_late_friday)
    other = habit_samples("commit", condition=lambda p: not is_late_friday(p))
    assert len(late) >= 15 and len(other) >= 100
    late_refusals = sum(reply == "no leave it for monday" for _, reply in late) / len(late)
    other_yes = sum(reply.startswith("yes") for _, reply in other) / len(other)
    assert late_refusals >= 0.75
    assert other_yes >= 0.9
    assert all(reply != "no leave it for monday" for _, reply in other)


def test_the_same_question_is_answered_differently_per_agent():
    top = {}
    for agent in ("claude-code", "cursor", "aider"):
        samples = habit_samples("proceed", condition=lambda p, a=agent: p["payload"]["agent"] == a)
        top[agent] = Counter(reply for _, reply in samples).most_common(1)[0][0]
    assert top == {"claude-code": "yes go ahead", "cursor": "apply it", "aider": "y"}


def conditioned_samples():
    """Every (intent, agent, local time, reply) of the season, for comparison with INTENTS."""
    history = season()
    for prompt, reply in pairs(history):
        name = history.intents[prompt["id"]]
        if INTENTS[name].predictable and "{" not in INTENTS[name].answers[0][0]:
            yield INTENTS[name], prompt["payload"]["agent"], local_time(prompt), reply


@pytest.mark.parametrize(
    "name", sorted(n for n, i in INTENTS.items() if i.predictable and n != "branch_name")
)
def test_habit_holds_at_its_stated_rate(name):
    # For each answer distribution the intent can use (weekday, late Friday, per agent), the
    # observed share of its most likely answer is within 4 standard errors of its stated rate.
    groups = defaultdict(list)
    for intent, agent, at, reply in conditioned_samples():
        if intent.name == name:
            groups[intent.answers_for(agent=agent, at=at)].append(
                normalize(reply["payload"]["text"])
            )
    assert groups
    for answers, replies in groups.items():
        assert set(replies) <= {normalize(a) for a, _ in answers}
        answer, p = max(answers, key=lambda pair: pair[1])
        answer = normalize(answer)
        if len(replies) < 10:
            continue
        observed = replies.count(answer) / len(replies)
        tolerance = 4 * math.sqrt(p * (1 - p) / len(replies)) + 0.02
        assert abs(observed - p) <= tolerance, (answer, p, observed, len(replies))


def test_notes_state_the_habits():
    notes = [e["payload"]["text"] for e in month().events if e["kind"] == "note"]
    assert "I always use pnpm, never npm." in notes
    assert "Never push on Fridays." in notes


def test_start_sets_the_first_day_and_an_aware_start_sets_the_time_zone():
    est = timezone(timedelta(hours=-5))
    events = demo_history(days=2, seed=1, start=datetime(2026, 11, 2, tzinfo=est))
    assert {local_time(e).date() for e in events} <= {date(2026, 11, 2), date(2026, 11, 3)}
    assert all(e["occurred_at"].endswith("-05:00") for e in events)
    plain = demo_history(days=1, seed=1, start=date(2026, 11, 2))
    assert all(e["occurred_at"].startswith("2026-11-02T") for e in plain)


@pytest.mark.parametrize(
    "days",
    [pytest.param(0, id="zero"), pytest.param(-1, id="negative"), pytest.param(4000, id="huge")],
)
def test_demo_history_rejects_out_of_range_days(days):
    with pytest.raises(ValueError, match="days"):
        demo_history(days=days, seed=1)


def run_command(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("demo_events", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_command_writes_the_history_as_jsonl_to_stdout():
    out, err = run_command("--days", "2", "--seed", "5")
    lines = out.splitlines()
    assert [json.loads(line) for line in lines] == demo_history(days=2, seed=5)
    assert f"Wrote {len(lines)} events" in err


def test_command_writes_to_a_file_with_start(tmp_path):
    target = tmp_path / "demo.jsonl"
    out, _ = run_command("--days", "1", "--seed", "5", "--start", "2026-12-01", "--out", target)
    assert out == ""
    events = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert events == demo_history(days=1, seed=5, start=date(2026, 12, 1))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--days", "0"], "--days", id="zero-days"),
        pytest.param(["--days", "1", "--start", "tomorrow"], "--start", id="bad-start"),
        pytest.param(
            ["--days", "1", "--out", "/nonexistent-dir/x.jsonl"], "Cannot write", id="bad-out"
        ),
    ],
)
def test_command_rejects_bad_arguments(args, message):
    with pytest.raises(CommandError, match=message):
        run_command(*args)


@pytest.mark.django_db
def test_a_small_history_loads_through_the_ingest_endpoint(api, user):
    events = demo_history(days=3, seed=7)
    assert len(events) > 100
    created = []
    for offset in range(0, len(events), 1000):
        response = api.post(
            reverse("recording:events"), events[offset : offset + 1000], format="json"
        )
        assert response.status_code == 201, response.content
        assert response.json()["duplicates"] == []
        created += response.json()["created"]
    assert sorted(created) == sorted(e["id"] for e in events)
    assert Event.objects.filter(user=user).count() == len(events)
    sessions = Counter(e["session_id"] for e in events)
    stored = dict(
        RecordingSession.objects.filter(user=user).values_list("external_id", "event_count")
    )
    assert stored == dict(sessions)


def test_replies_are_typed_with_surface_variation_the_judge_normalises_away():
    history = month()
    exact = variant = 0
    for prompt, reply in pairs(history):
        intent = INTENTS[history.intents[prompt["id"]]]
        at, agent = local_time(prompt), prompt["payload"]["agent"]
        canonical = [answer for answer, _ in intent.answers_for(agent=agent, at=at)]
        if any("{" in answer for answer in canonical):
            continue  # templated answers are checked elsewhere
        text = reply["payload"]["text"]
        if text in canonical:
            exact += 1
        else:
            assert normalize(text) in {normalize(answer) for answer in canonical}, text
            variant += 1
    assert 0.1 <= variant / (exact + variant) <= 0.35
