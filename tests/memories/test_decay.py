import threading

import pytest
from django.db import connection

from memories.decay import CONFIRM_DELTA, CONTRADICT_DELTA, apply_outcome
from memories.models import SemanticMemory
from memories.services import fact_create

pytestmark = pytest.mark.django_db


def _importance(fact) -> float:
    return SemanticMemory.objects.get(pk=fact.pk).importance


def test_documented_deltas():
    assert (CONFIRM_DELTA, CONTRADICT_DELTA) == (0.04, -0.08)


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [("accepted", 0.54), ("rejected", 0.42), ("edited", 0.5)],
    ids=["confirm", "contradict", "edit-neutral"],
)
def test_first_outcome_moves_importance_by_its_delta(user, outcome, expected):
    fact = fact_create(user=user, text="f", importance=0.5)
    applied = apply_outcome(user=user, fact_ids=[fact.id], previous=None, outcome=outcome)
    assert _importance(fact) == expected
    assert applied == {str(fact.id): pytest.approx(expected - 0.5)}


def test_flip_from_accepted_to_rejected_reverses_then_contradicts(user):
    fact = fact_create(user=user, text="f", importance=0.5)
    applied = apply_outcome(user=user, fact_ids=[fact.id], previous=None, outcome="accepted")
    applied = apply_outcome(
        user=user, fact_ids=[fact.id], previous="accepted", outcome="rejected", applied=applied
    )
    assert _importance(fact) == 0.42
    applied = apply_outcome(
        user=user, fact_ids=[fact.id], previous="rejected", outcome="accepted", applied=applied
    )
    assert _importance(fact) == 0.54


def test_same_outcome_twice_changes_nothing(user):
    fact = fact_create(user=user, text="f", importance=0.5)
    applied = apply_outcome(user=user, fact_ids=[fact.id], previous=None, outcome="rejected")
    again = apply_outcome(
        user=user, fact_ids=[fact.id], previous="rejected", outcome="rejected", applied=applied
    )
    assert again == applied
    assert _importance(fact) == 0.42


@pytest.mark.parametrize(
    ("start", "first", "second", "expected_after_first"),
    [
        (0.03, "rejected", "accepted", 0.0),
        (0.98, "accepted", "rejected", 1.0),
        (0.0, "rejected", "edited", 0.0),
        (1.0, "accepted", "edited", 1.0),
    ],
    ids=["clamped-at-zero", "clamped-at-one", "zero-stays-zero", "one-stays-one"],
)
def test_reversal_after_clamping_leaves_no_drift(user, start, first, second, expected_after_first):
    fact = fact_create(user=user, text="f", importance=start)
    applied = apply_outcome(user=user, fact_ids=[fact.id], previous=None, outcome=first)
    assert _importance(fact) == expected_after_first
    # Withdraw the feedback entirely: back exactly to the start.
    back = apply_outcome(
        user=user, fact_ids=[fact.id], previous=first, outcome=None, applied=applied
    )
    assert _importance(fact) == start
    assert back == {str(fact.id): 0.0}
    # A flip applies the second outcome's own (clamped) change on top of the start.
    applied = apply_outcome(user=user, fact_ids=[fact.id], previous=None, outcome=first)
    apply_outcome(user=user, fact_ids=[fact.id], previous=first, outcome=second, applied=applied)
    nominal = {"accepted": 0.04, "rejected": -0.08, "edited": 0.0}[second]
    assert _importance(fact) == pytest.approx(min(1.0, max(0.0, start + nominal)))


def test_many_flips_return_exactly_to_the_start(user):
    fact = fact_create(user=user, text="f", importance=0.02)
    applied = None
    previous = None
    for outcome in ["accepted", "rejected", "edited", "rejected", "accepted", "rejected"] * 5:
        applied = apply_outcome(
            user=user, fact_ids=[fact.id], previous=previous, outcome=outcome, applied=applied
        )
        previous = outcome
    assert _importance(fact) == 0.0
    apply_outcome(user=user, fact_ids=[fact.id], previous=previous, outcome=None, applied=applied)
    assert _importance(fact) == 0.02


def test_facts_decayed_to_zero_are_kept(user):
    fact = fact_create(user=user, text="f", importance=0.05)
    apply_outcome(user=user, fact_ids=[fact.id], previous=None, outcome="rejected")
    assert SemanticMemory.objects.filter(pk=fact.pk, importance=0.0).exists()


def test_other_users_and_deleted_facts_are_ignored(user, other_user):
    mine = fact_create(user=user, text="mine", importance=0.5)
    theirs = fact_create(user=other_user, text="theirs", importance=0.5)
    applied = apply_outcome(
        user=user, fact_ids=[mine.id, theirs.id, 999_999], previous=None, outcome="rejected"
    )
    assert applied == {str(mine.id): pytest.approx(-0.08)}
    assert _importance(theirs) == 0.5


def test_missing_applied_falls_back_to_the_nominal_delta(user):
    fact = fact_create(user=user, text="f", importance=0.5)
    apply_outcome(user=user, fact_ids=[fact.id], previous=None, outcome="accepted")
    apply_outcome(user=user, fact_ids=[fact.id], previous="accepted", outcome="rejected")
    assert _importance(fact) == 0.42


def test_unknown_outcome_is_refused(user):
    fact = fact_create(user=user, text="f", importance=0.5)
    with pytest.raises(ValueError, match="maybe"):
        apply_outcome(user=user, fact_ids=[fact.id], previous=None, outcome="maybe")
    assert _importance(fact) == 0.5


def test_lock_and_update_are_constant_queries(user, django_assert_num_queries):
    facts = [fact_create(user=user, text=f"f{i}", importance=0.5) for i in range(20)]
    # savepoint, SELECT ... FOR UPDATE, one bulk UPDATE, release
    with django_assert_num_queries(4):
        apply_outcome(user=user, fact_ids=[f.id for f in facts], previous=None, outcome="accepted")


@pytest.mark.django_db(transaction=True)
def test_concurrent_outcomes_on_shared_facts_are_all_applied(user):
    shared = fact_create(user=user, text="shared", importance=0.5)
    other = fact_create(user=user, text="other", importance=0.5)
    rounds = 10
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def flip(ids, first, second):
        try:
            for _ in range(rounds):
                barrier.wait()
                applied = apply_outcome(user=user, fact_ids=ids, previous=None, outcome=first)
                barrier.wait()
                applied = apply_outcome(
                    user=user, fact_ids=ids, previous=first, outcome=second, applied=applied
                )
                barrier.wait()
                apply_outcome(
                    user=user, fact_ids=ids, previous=second, outcome=None, applied=applied
                )
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    # Two predictions citing the same facts, in opposite orders, flipped at the same moments:
    # row locks taken in id order mean no lost update and no deadlock.
    threads = [
        threading.Thread(target=flip, args=([shared.id, other.id], "accepted", "rejected")),
        threading.Thread(target=flip, args=([other.id, shared.id], "rejected", "accepted")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    # Every round is undone by withdrawing both outcomes: exactly back to the start.
    assert _importance(shared) == 0.5
    assert _importance(other) == 0.5


@pytest.mark.django_db(transaction=True)
def test_concurrent_confirmations_are_not_lost(user):
    fact = fact_create(user=user, text="shared", importance=0.1)
    barrier = threading.Barrier(4)

    def confirm():
        try:
            barrier.wait()
            for _ in range(5):
                apply_outcome(user=user, fact_ids=[fact.id], previous=None, outcome="accepted")
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert _importance(fact) == pytest.approx(0.1 + 20 * 0.04)
