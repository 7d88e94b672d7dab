"""The evaluate command and its replay: arithmetic checked by hand, prequential honesty,
baselines, cleanup, bad inputs, the plot and the progress bar."""

import io
import json
import math
from datetime import datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from memories.models import RawMemory
from predictions import confidence as gate
from predictions import local
from predictions.evaluation import replay_run, report_build
from predictions.evaluation.progress import Progress
from predictions.evaluation.replay import BASELINES, Record, _Baselines, events_sorted
from predictions.local import LocalCandidate
from predictions.models import Prediction
from recording.demo import demo_history
from recording.models import Event

pytestmark = pytest.mark.django_db

START = datetime.fromisoformat("2026-11-20T09:00:00+00:00")

# (prompt, real reply, what the fake provider answers: [(text, raw confidence)])
SCRIPT = [
    ("Run the tests?", "yes", [("yes", 0.9), ("no", 0.05)]),  # accepted, F1 1
    ("Use pnpm or npm?", "pnpm", [("npm", 0.6), ("pnpm", 0.3)]),  # rejected, hit in top-k
    ("Commit these changes?", "yes, commit", [("yes", 0.7)]),  # edited, F1 2/3
    ("Push to main?", "yes", []),  # nothing to say: rejected, confidence 0
    ("Run the tests again?", "yes", [("yes", 0.4)]),  # accepted, F1 1
]


def script_events():
    """Prompt, a terminal turn, then the reply, a minute apart, all on one day."""
    events = []
    at = START
    for n, (prompt, reply, _) in enumerate(SCRIPT, start=1):
        events.append(
            {
                "id": f"p{n}",
                "session_id": "s1",
                "kind": "agent_prompt",
                "occurred_at": at.isoformat(),
                "payload": {"agent": "claude-code", "text": prompt},
            }
        )
        events.append(
            {
                "id": f"t{n}",
                "session_id": "s1",
                "kind": "terminal_turn",
                "occurred_at": (at + timedelta(seconds=20)).isoformat(),
                "payload": {"command": "git status", "output": "", "exit_code": 0, "cwd": "~/x"},
            }
        )
        events.append(
            {
                "id": f"r{n}",
                "session_id": "s1",
                "kind": "user_reply",
                "occurred_at": (at + timedelta(seconds=40)).isoformat(),
                "payload": {"text": reply, "in_reply_to": f"p{n}"},
            }
        )
        at += timedelta(minutes=5)
    return events


@pytest.fixture
def scripted(monkeypatch):
    """The local provider replaced at its boundary: answers from SCRIPT; records what it saw."""
    answers = {prompt: candidates for prompt, _, candidates in SCRIPT}
    seen = []

    def fake(*, agent, agent_input, relevant, facts, k, now=None):
        seen.append({"prompt": agent_input, "relevant": relevant, "now": now})
        return [
            LocalCandidate(text=text, reasoning="scripted", confidence=conf, cited_facts=[])
            for text, conf in answers[agent_input][:k]
        ]

    monkeypatch.setattr(local, "replies_predict", fake)
    return seen


def write_jsonl(path, events):
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return str(path)


def run_evaluate(*args, **options):
    out, err = io.StringIO(), io.StringIO()
    call_command("evaluate", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


# --- arithmetic, end to end --------------------------------------------------------------------


def test_every_figure_matches_the_hand_computed_value(tmp_path, scripted, monkeypatch):
    # The uncalibrated prior's cap (tests/predictions/test_confidence.py) would clip 0.9.
    monkeypatch.setattr(gate, "PRIOR_CAP", 1.0)
    dataset = write_jsonl(tmp_path / "tiny.jsonl", script_events())
    out_json = tmp_path / "report.json"

    table, _ = run_evaluate("--dataset", dataset, "--json", str(out_json), "--provider", "local")
    report = json.loads(out_json.read_text())

    # Labels: accepted 1, rejected 0, edited 0.5, rejected 0, accepted 1.
    # Raw confidences: 0.9, 0.6, 0.7, 0.0, 0.4; fewer than 5 labels at every prediction, so
    # the calibration in force is the identity and calibrated == raw.
    assert report["predictions"] == 5
    assert report["accuracy"]["outcomes"] == {"accepted": 2, "edited": 1, "rejected": 2}
    assert report["accuracy"]["top1_accepted"] == pytest.approx(2 / 5)
    assert report["accuracy"]["topk_hit"] == pytest.approx(3 / 5)  # prompts 1, 2 and 5
    assert report["accuracy"]["mean_f1"] == pytest.approx((1 + 0 + 2 / 3 + 0 + 1) / 5)
    for kind in ("raw", "calibrated"):
        figures = report["confidence"][kind]
        # (0.1^2 + 0.6^2 + 0.2^2 + 0^2 + 0.6^2) / 5
        assert figures["brier"] == pytest.approx(0.77 / 5)
        # One per bin (9, 6, 7, 0, 4): |0.9-1| + |0.6-0| + |0.7-0.5| + |0-0| + |0.4-1|, over 5.
        assert figures["ece"] == pytest.approx(1.5 / 5)
        # By confidence: labels 1, .5, 0, 1, 0 -> precision 1, .75, .5, .625, .5 at each fifth.
        assert figures["aurc"] == pytest.approx(0.2 * (0 + 0.25 + 0.5 + 0.375 + 0.5))
        assert figures["coverage_at_precision"]["coverage"] == pytest.approx(0.2)
        assert figures["coverage_at_precision"]["threshold"] == pytest.approx(0.9)
    assert report["threshold"] == {"value": 0.8, "coverage": 0.2, "precision": 1.0, "n_auto": 1}
    # Baselines, from the replies known before each prompt (ties: most recent):
    # most frequent: "", "yes", "pnpm" (1-1 tie), "yes, commit" (tie; F1 2/3 vs "yes"), "yes".
    # most similar (Jaccard): "", "yes", "pnpm" (no overlap: most recent), "yes, commit"
    # (no overlap), "yes" ("Run the tests?" shares 3 of 4 words).
    for name in ("most_frequent", "most_similar"):
        assert report["baselines"][name]["top1_accepted"] == pytest.approx(1 / 5)
        assert report["baselines"][name]["mean_f1"] == pytest.approx((2 / 3 + 1) / 5)
    assert [r["baselines"]["most_frequent"]["text"] for r in report["records"]] == [
        "",
        "yes",
        "pnpm",
        "yes, commit",
        "yes",
    ]
    # In four consecutive parts (1 | 2 | 3 | 4-5): accepted | rejected | edited | rejected+accepted.
    periods = report["periods"]
    assert [(p["first"], p["last"]) for p in periods] == [(1, 1), (2, 2), (3, 3), (4, 5)]
    assert [p["top1_accepted"] for p in periods] == [1.0, 0.0, 0.0, 0.5]
    assert [p["threshold_coverage"] for p in periods] == [1.0, 0.0, 0.0, 0.0]
    assert periods[3]["ece_calibrated"] == pytest.approx((0 + 0.6) / 2)
    assert "top-1 accepted rate" in table and "0.400" in table


def test_each_prediction_sees_only_the_past_and_is_made_as_of_its_prompt(tmp_path, scripted):
    dataset = write_jsonl(tmp_path / "tiny.jsonl", script_events())

    run_evaluate("--dataset", dataset)

    assert [s["prompt"] for s in scripted] == [prompt for prompt, _, _ in SCRIPT]
    for n, seen in enumerate(scripted):
        # Only earlier prompts, each with its (earlier) reply; never the prompt being predicted.
        assert {r["prompt_event_id"] for r in seen["relevant"]} <= {
            f"p{i}" for i in range(1, n + 1)
        }
        assert seen["now"] == START + timedelta(minutes=5 * n)
    assert {r["prompt"] for r in scripted[4]["relevant"]} >= {"Run the tests?"}


def test_feedback_is_given_and_calibration_refit_every_n_labels(user, scripted):
    events = events_sorted(events=script_events())

    result = replay_run(user=user, events=events, refit_every=2)

    outcomes = list(Prediction.objects.filter(user=user).order_by("id").values_list("outcome"))
    assert outcomes == [("accepted",), ("rejected",), ("edited",), ("rejected",), ("accepted",)]
    assert Prediction.objects.filter(user=user, actual_reply="yes, commit").count() == 1
    assert result.refits == 3  # after labels 2 and 4, and the fifth at the end
    assert result.calibration["method"] == "platt" and result.calibration["n"] == 5
    # Without a limit the whole history is stored and synced.
    assert Event.objects.filter(user=user).count() == len(events)
    assert RawMemory.objects.filter(user=user).count() == len(events)


def test_replayed_predictions_are_linked_to_their_prompts_and_not_learned_again(user, scripted):
    """A replay (the demo's load, evaluate, learn) links each prediction to the prompt event it
    answers, as a live prediction of a recorded prompt is; learning the same history afterwards
    finds every prompt labelled and labels none twice."""
    from predictions.integrations.history import history_learn

    replay_run(user=user, events=events_sorted(events=script_events()))

    linked = Prediction.objects.filter(user=user).values_list("prompt_event__event_id", flat=True)
    assert sorted(linked) == ["p1", "p2", "p3", "p4", "p5"]
    learned = history_learn(user=user)
    assert (learned.replayed, learned.already_labelled) == (5, 5)
    assert Prediction.objects.filter(user=user, outcome__isnull=False).count() == 5


def test_limit_predicts_only_the_first_answered_prompts(user, scripted):
    result = replay_run(user=user, events=events_sorted(events=script_events()), limit=2)

    assert [r.prompt_id for r in result.records] == ["p1", "p2"]
    assert Prediction.objects.filter(user=user).count() == 2


def test_a_prompt_nobody_answered_is_not_predicted(user, scripted):
    events = script_events()
    events = [e for e in events if e["id"] != "r3"]

    result = replay_run(user=user, events=events_sorted(events=events))

    assert [r.prompt_id for r in result.records] == ["p1", "p2", "p4", "p5"]


def test_a_history_without_answered_prompts_reports_no_figures(tmp_path, scripted):
    events = [e for e in script_events() if e["kind"] != "user_reply"]
    dataset = write_jsonl(tmp_path / "unanswered.jsonl", events)
    out_json = tmp_path / "report.json"

    table, _ = run_evaluate("--dataset", dataset, "--json", str(out_json))

    report = json.loads(out_json.read_text())
    assert report["predictions"] == 0 and report["records"] == []
    assert report["confidence"]["calibrated"]["ece"] is None
    assert "Predictions: 0" in table and scripted == []


def test_report_of_no_records_has_no_figures():
    report = report_build(records=[])

    assert report["predictions"] == 0
    assert report["accuracy"]["top1_accepted"] is None
    assert report["confidence"]["calibrated"]["ece"] is None
    assert report["threshold"]["coverage"] is None
    assert report["targets"]["threshold_met"] is False


def _record(confidence, outcome):
    return Record(
        prompt_id="p",
        agent="a",
        prompt="q?",
        occurred_at="t",
        actual="yes",
        candidates=["yes"],
        raw_confidence=confidence,
        confidence=confidence,
        status="auto" if confidence >= 0.8 else "escalated",
        outcome=outcome,
        f1=1.0 if outcome == "accepted" else 0.0,
        topk_hit=outcome == "accepted",
        baselines={n: {"text": "", "outcome": "rejected", "f1": 0.0} for n in BASELINES},
    )


@pytest.mark.parametrize(
    "right_confidence, ece_met",
    [pytest.param(0.97, True, id="ece-0.031"), pytest.param(0.95, False, id="ece-0.05")],
)
def test_report_targets_say_whether_they_are_met(right_confidence, ece_met):
    # 19 right answers at `right_confidence`, one wrong at 0.05:
    # ECE = (19 * (1 - right_confidence) + 0.05) / 20, i.e. 0.031 or exactly 0.05 (not below).
    records = [_record(right_confidence, "accepted") for _ in range(19)]
    records.append(_record(0.05, "rejected"))

    report = report_build(records=records)

    assert report["confidence"]["calibrated"]["ece"] == pytest.approx(
        (19 * (1 - right_confidence) + 0.05) / 20
    )
    assert report["targets"]["calibrated_ece_met"] is ece_met
    assert report["threshold"]["coverage"] == pytest.approx(0.95)
    assert report["targets"]["threshold_met"] is True


def test_most_frequent_baseline_counts_normalised_replies_and_breaks_ties_by_recency():
    baselines = _Baselines()
    baselines.learn(prompt="a?", reply="Yes.")
    baselines.learn(prompt="b?", reply="no")
    baselines.learn(prompt="c?", reply="yes")
    assert baselines.most_frequent() == "yes"  # two of "yes" (after normalisation)
    baselines.learn(prompt="d?", reply="no")
    assert baselines.most_frequent() == "no"  # 2-2: the most recent wins


def test_most_similar_baseline_takes_the_highest_token_jaccard_and_the_latest_on_ties():
    baselines = _Baselines()
    baselines.learn(prompt="Run the test suite?", reply="yes, run it")
    baselines.learn(prompt="Push to main?", reply="no, open a PR")
    baselines.learn(prompt="Run the full test suite?", reply="sure")
    assert baselines.most_similar("Run the test suite now?") == "yes, run it"  # 4/5 vs 4/6
    assert baselines.most_similar("Deploy?") == "sure"  # no overlap anywhere: latest
    assert _Baselines().most_similar("Anything?") == ""


# --- the command's inputs and cleanup --------------------------------------------------------


def test_the_run_leaves_no_user_and_no_data_behind(tmp_path, scripted):
    dataset = write_jsonl(tmp_path / "tiny.jsonl", script_events())
    users_before = get_user_model().objects.count()

    out, _ = run_evaluate("--dataset", dataset)

    assert get_user_model().objects.count() == users_before
    assert not Event.objects.exists() and not Prediction.objects.exists()
    assert "data deleted" in out


def test_keep_user_keeps_the_evaluation_user_and_its_data(tmp_path, scripted):
    dataset = write_jsonl(tmp_path / "tiny.jsonl", script_events())

    out, _ = run_evaluate("--dataset", dataset, "--keep-user")

    kept = get_user_model().objects.get(username__startswith="eval-")
    assert kept.username in out and not kept.has_usable_password()
    assert Prediction.objects.filter(user=kept).count() == 5


def _bad_json(path):
    path.write_text('{"id": "x"}\nnot json\n', encoding="utf-8")


def _not_object(path):
    path.write_text("[1, 2]\n", encoding="utf-8")


def _invalid_event(path):
    path.write_text(json.dumps({"id": "x", "kind": "agent_prompt"}) + "\n", encoding="utf-8")


def _repeated_id(path):
    events = script_events()
    write_jsonl(path, [*events, events[0]])


@pytest.mark.parametrize(
    "build, message",
    [
        pytest.param(_bad_json, "line 2: not valid JSON", id="bad-json"),
        pytest.param(_not_object, "line 1: expected a JSON object", id="not-an-object"),
        pytest.param(_invalid_event, "invalid events: event 0", id="invalid-event"),
        pytest.param(_repeated_id, "appears more than once", id="repeated-id"),
        pytest.param(None, "cannot read", id="missing-file"),
    ],
)
def test_a_bad_dataset_fails_clearly_and_stores_nothing(tmp_path, build, message):
    path = tmp_path / "data.jsonl"
    if build:
        build(path)

    with pytest.raises(CommandError, match=message):
        run_evaluate("--dataset", str(path))
    assert not get_user_model().objects.exists() and not Event.objects.exists()


@pytest.mark.parametrize(
    "args, message",
    [
        pytest.param(["--refit-every", "-1"], "--refit-every", id="negative-refit"),
        pytest.param(["--limit", "0"], "--limit", id="zero-limit"),
        pytest.param(["--k", "0"], "--k", id="zero-k"),
        pytest.param(["--edit-f1", "0.9", "--accept-f1", "0.5"], "--edit-f1", id="f1-order"),
        pytest.param(["--provider", "anthropic"], "ANTHROPIC_API_KEY", id="no-key"),
    ],
)
def test_bad_options_fail_clearly(tmp_path, args, message):
    dataset = write_jsonl(tmp_path / "tiny.jsonl", script_events())

    with pytest.raises(CommandError, match=message):
        run_evaluate("--dataset", dataset, *args)


def test_plot_without_matplotlib_fails_before_replaying(tmp_path, monkeypatch, scripted):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    dataset = write_jsonl(tmp_path / "tiny.jsonl", script_events())

    with pytest.raises(CommandError, match=r"matplotlib.*\[plot\]"):
        run_evaluate("--dataset", dataset, "--plot", str(tmp_path / "p.png"))
    assert scripted == []  # nothing was replayed


# --- the demo data, end to end (CI-sized) ----------------------------------------------------


def test_evaluate_on_three_days_of_demo_data_end_to_end(tmp_path):
    pytest.importorskip("matplotlib")
    events = demo_history(days=3, seed=7)
    dataset = write_jsonl(tmp_path / "demo.jsonl", events)
    answered = {e["payload"]["in_reply_to"] for e in events if e["kind"] == "user_reply"}

    out, err = run_evaluate(
        "--dataset",
        dataset,
        "--json",
        str(tmp_path / "r.json"),
        "--plot",
        str(tmp_path / "r.png"),
    )

    report = json.loads((tmp_path / "r.json").read_text())
    assert report["predictions"] == len(answered) > 30
    assert report["provider"] == "local"
    # The local provider beats answering the most frequent reply, even on three days.
    acc = report["accuracy"]
    assert acc["top1_accepted"] > report["baselines"]["most_frequent"]["top1_accepted"]
    assert acc["topk_hit"] >= acc["top1_accepted"]
    for kind in ("raw", "calibrated"):
        for figure in ("brier", "ece", "aurc"):
            assert 0 <= report["confidence"][kind][figure] <= 1
    assert all(not math.isnan(r["confidence"]) for r in report["records"])
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Predictions:" in out and err == ""  # no progress bar: stderr is not a terminal
    assert not Event.objects.exists()


# --- the progress bar ----------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_draws_nothing_when_not_a_terminal():
    stream = io.StringIO()
    progress = Progress(total=3, stream=stream)
    for _ in range(3):
        progress.advance()
    progress.close()

    assert stream.getvalue() == ""


def test_progress_bar_draws_on_a_terminal_and_ends_the_line():
    stream = _Terminal()
    progress = Progress(total=4, stream=stream, label="evaluate ")
    for _ in range(4):
        progress.advance()
    progress.close()

    text = stream.getvalue()
    assert text.startswith("\revaluate [") and "4/4" in text and text.endswith("\n")
    assert "#" * 30 in text


def test_structured_prompts_are_replayed_with_their_tool_and_broken_down_by_it(tmp_path, settings):
    settings.CLONE_MIN_LABELS_FOR_AUTO = 30
    events = []
    at = START
    for n in range(40):
        command = "npm test" if n % 4 else "rm -rf build"
        events += [
            {
                "id": f"p{n}",
                "session_id": "s1",
                "kind": "agent_prompt",
                "occurred_at": at.isoformat(),
                "payload": {
                    "agent": "aider",
                    "text": f"Run shell command?\n{command}",
                    "tool": {"name": "Bash", "input": {"command": command}},
                    "options": ["yes", "no"],
                },
            },
            {
                "id": f"r{n}",
                "session_id": "s1",
                "kind": "user_reply",
                "occurred_at": (at + timedelta(seconds=20)).isoformat(),
                "payload": {"text": "y" if n % 4 else "no", "in_reply_to": f"p{n}"},
            },
        ]
        at += timedelta(minutes=5)
    dataset = write_jsonl(tmp_path / "bash.jsonl", events)
    out, _ = run_evaluate("--dataset", dataset, "--json", str(tmp_path / "r.json"))
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["records"][-1]["tool"] == {"name": "Bash", "input": {"command": "npm test"}}
    assert report["records"][-1]["candidates"][0] == "yes"
    bash = report["breakdown"]["by_request_type"]["Bash"]
    assert bash["predictions"] == 40
    # Nothing automatic before 30 labels; the recursive deletes are never automatic.
    assert all(r["status"] == "escalated" for r in report["records"][:30])
    assert all(
        r["escalation_reason"] == "never_auto" for r in report["records"] if "rm -rf" in r["prompt"]
    )
    assert report["escalation_reasons"]["never_auto"] == 10
    assert report["automatic"]["wrong_in_first_30"] == 0
    assert "by request type" in out
