"""fit_calibration --shard i/n (split users between cron jobs) and --jobs N (processes), and the
fitter's label read served by the partial index in index order (issue 7, target 5)."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from memories.selectors import profile_get
from predictions.models import Prediction
from predictions.selectors import calibration_training_set
from predictions.services import prediction_create
from tests.fakes.anthropic import tool_reply
from tests.predictions.helpers import candidates_answer, labelled_predictions

ROWS = [(0.9, "accepted"), (0.9, "rejected"), (0.2, "rejected"), (0.6, "edited")] * 2


def _labelled(user, fake_anthropic, rows=ROWS):
    labelled_predictions(user, fake_anthropic, rows)


def _fitted(user) -> bool:
    return profile_get(user=user).calibration.get("method") == "platt"


@pytest.mark.django_db
def test_a_shard_refits_only_the_users_whose_id_falls_in_it(make_user, fake_anthropic):
    first, second = make_user(), make_user()
    for person in (first, second):
        _labelled(person, fake_anthropic)
    count = max(first.pk, second.pk) + 1  # each id is alone in its shard
    out = io.StringIO()
    call_command("fit_calibration", "--shard", f"{first.pk % count}/{count}", stdout=out)
    assert _fitted(first)
    assert not _fitted(second)
    assert "Refitted 1 user(s)" in out.getvalue()


@pytest.mark.django_db
def test_every_shard_together_refit_every_user_once(make_user, fake_anthropic):
    people = [make_user() for _ in range(3)]
    for person in people:
        _labelled(person, fake_anthropic)
    totals = []
    for index in range(2):
        out = io.StringIO()
        call_command("fit_calibration", "--shard", f"{index}/2", stdout=out)
        totals.append(int(out.getvalue().rsplit("Refitted ", 1)[1].split(" ")[0]))
    assert sum(totals) == 3
    assert all(_fitted(person) for person in people)


@pytest.mark.django_db(transaction=True)
def test_two_jobs_fit_every_user_exactly_as_one_job(make_user, fake_anthropic):
    people = [make_user() for _ in range(3)]
    for person in people:
        _labelled(person, fake_anthropic)
    call_command("fit_calibration", stdout=io.StringIO())
    alone = {p.pk: profile_get(user=p).calibration for p in people}
    out = io.StringIO()
    call_command("fit_calibration", "--jobs", "2", stdout=out)
    for person in people:
        together = profile_get(user=person).calibration
        assert (together["a"], together["b"], together["n"]) == (
            alone[person.pk]["a"],
            alone[person.pk]["b"],
            alone[person.pk]["n"],
        )
    assert "Refitted 3 user(s): 3 platt, 0 identity." in out.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args",
    [["--shard", "2/2"], ["--shard", "x"], ["--shard", "1/0"], ["--jobs", "0"]],
    ids=["index-out-of-range", "not-i-over-n", "zero-shards", "zero-jobs"],
)
def test_bad_shard_or_jobs_is_a_clear_command_error(args):
    with pytest.raises(CommandError):
        call_command("fit_calibration", *args, stdout=io.StringIO())


@pytest.mark.django_db
def test_the_label_read_walks_the_partial_index_without_a_sort(user, fake_anthropic):
    _labelled(user, fake_anthropic)
    # Unlabelled predictions too: with every row labelled the partial index holds the same rows
    # as the full (user, -created_at, -id) one, which then serves the read at the same cost, and
    # which of the two the planner picks turns on statistics.
    for _ in range(3 * len(ROWS)):
        fake_anthropic.queue(tool_reply(candidates_answer(("yes", 0.5, []))))
        prediction_create(user=user, agent="a", agent_input="Ship it?")
    with CaptureQueriesContext(connection) as captured:
        calibration_training_set(user=user)
    (query,) = captured.captured_queries
    with connection.cursor() as cursor:
        # Statistics of these rows, not whatever autovacuum last sampled (after earlier tests).
        cursor.execute(f"ANALYZE {connection.ops.quote_name(Prediction._meta.db_table)}")
        cursor.execute("SET LOCAL enable_seqscan = off")
        # With a handful of rows a bitmap scan and a sort cost about the same as the index walk;
        # what matters is that the index walk needs no sort.
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("EXPLAIN " + query["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "prediction_user_labelled" in plan, plan
    assert "Sort" not in plan, plan
