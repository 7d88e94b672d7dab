"""Confidence metrics on tiny hand-computed datasets (pure functions: no database)."""

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from predictions.metrics import (
    aurc,
    brier,
    coverage_at_precision,
    ece,
    reliability,
    risk_coverage,
    selective,
)

# --- Brier ------------------------------------------------------------------------------


def test_brier_is_the_mean_squared_error_with_fractional_labels():
    # ((0.9-1)^2 + (0.2-0)^2 + (0.6-0.5)^2) / 3 = (0.01 + 0.04 + 0.01) / 3 = 0.02
    assert brier(probs=[0.9, 0.2, 0.6], labels=[1.0, 0.0, 0.5]) == pytest.approx(0.02)


def test_brier_of_perfect_and_worst_predictions():
    assert brier(probs=[1.0, 0.0], labels=[1.0, 0.0]) == 0.0
    assert brier(probs=[1.0, 0.0], labels=[0.0, 1.0]) == 1.0


def test_brier_of_no_data_is_none():
    assert brier(probs=[], labels=[]) is None


# --- ECE and reliability ----------------------------------------------------------------

PROBS = [0.05, 0.15, 0.12, 0.95, 1.0]
LABELS = [0.0, 1.0, 0.0, 1.0, 0.5]


def test_ece_weights_each_bin_by_its_size():
    # bin 0: {0.05} -> |0.05 - 0| = 0.05
    # bin 1: {0.15, 0.12} -> |0.135 - 0.5| = 0.365
    # bin 9: {0.95, 1.0} -> |0.975 - 0.75| = 0.225
    # ECE = (1*0.05 + 2*0.365 + 2*0.225) / 5 = (0.05 + 0.73 + 0.45) / 5 = 1.23 / 5 = 0.246
    assert ece(probs=PROBS, labels=LABELS) == pytest.approx(0.246)


def test_ece_with_everything_in_one_bin():
    # bin 3 only: |mean(0.31, 0.35, 0.39) - mean(1, 0, 0)| = |0.35 - 1/3| = 1/60
    assert ece(probs=[0.31, 0.35, 0.39], labels=[1.0, 0.0, 0.0]) == pytest.approx(1 / 60)


def test_ece_of_a_perfectly_calibrated_bin_is_zero():
    # bin 5: mean confidence 0.5, mean label (1 + 0) / 2 = 0.5
    assert ece(probs=[0.5, 0.5], labels=[1.0, 0.0]) == 0.0


def test_ece_of_no_data_is_none():
    assert ece(probs=[], labels=[]) is None


@pytest.mark.parametrize(
    ("p", "expected_bin"),
    [(0.0, 0), (0.0999, 0), (0.1, 1), (0.7, 7), (0.8999, 8), (0.9, 9), (0.99, 9), (1.0, 9)],
)
def test_probability_lands_in_bin_min_9_floor_10p(p, expected_bin):
    rows = reliability(probs=[p], labels=[1.0])
    assert [r["bin"] for r in rows if r["count"]] == [expected_bin]


def test_reliability_lists_every_bin_with_counts_and_means():
    rows = reliability(probs=PROBS, labels=LABELS)
    assert [r["bin"] for r in rows] == list(range(10))
    assert rows[0] == {
        "bin": 0,
        "lower": 0.0,
        "upper": 0.1,
        "count": 1,
        "mean_confidence": 0.05,
        "mean_label": 0.0,
    }
    assert rows[1]["count"] == 2
    assert rows[1]["mean_confidence"] == pytest.approx(0.135)  # (0.15 + 0.12) / 2
    assert rows[1]["mean_label"] == 0.5  # (1 + 0) / 2
    assert rows[9]["count"] == 2
    assert rows[9]["mean_confidence"] == pytest.approx(0.975)  # (0.95 + 1.0) / 2
    assert rows[9]["mean_label"] == 0.75  # (1 + 0.5) / 2
    assert (rows[9]["lower"], rows[9]["upper"]) == (0.9, 1.0)


def test_reliability_empty_bins_have_zero_count_and_no_means():
    rows = reliability(probs=PROBS, labels=LABELS)
    for row in rows[2:9]:
        assert (row["count"], row["mean_confidence"], row["mean_label"]) == (0, None, None)


def test_reliability_of_no_data_is_ten_empty_bins():
    rows = reliability(probs=[], labels=[])
    assert len(rows) == 10
    assert all(r["count"] == 0 and r["mean_label"] is None for r in rows)


def test_reliability_counts_add_up_and_ece_agrees_with_the_diagram():
    rows = reliability(probs=PROBS, labels=LABELS)
    assert sum(r["count"] for r in rows) == len(PROBS)
    from_rows = sum(
        r["count"] * abs(r["mean_confidence"] - r["mean_label"]) for r in rows if r["count"]
    ) / len(PROBS)
    assert ece(probs=PROBS, labels=LABELS) == pytest.approx(from_rows)


def test_custom_bin_count_is_honoured():
    # 4 bins: 0.3 -> floor(1.2) = 1, 0.5 -> 2, 1.0 -> min(3, 4) = 3
    rows = reliability(probs=[0.3, 0.5, 1.0], labels=[0.0, 1.0, 1.0], bins=4)
    assert [r["count"] for r in rows] == [0, 1, 1, 1]
    assert rows[1]["upper"] == 0.5


# --- risk-coverage, AURC ----------------------------------------------------------------


def test_risk_coverage_without_ties_has_one_point_per_prediction():
    # top 1: risk 0; top 2: 1 - 1/2; top 3: 1 - 2/3; top 4: 1 - 3/4
    points = risk_coverage(confidences=[0.9, 0.5, 0.7, 0.2], correct=[1.0, 1.0, 0.0, 1.0])
    assert [cov for cov, _ in points] == [0.25, 0.5, 0.75, 1.0]
    assert [risk for _, risk in points] == pytest.approx([0.0, 0.5, 1 / 3, 0.25])


def test_tied_confidences_form_one_point_whatever_the_input_order():
    confidences = [0.9, 0.8, 0.8, 0.3]
    correct = [1.0, 0.0, 0.5, 1.0]
    # 0.9: cover 1/4, risk 1 - 1/1 = 0
    # 0.8 (tie of two): cover 3/4, risk 1 - (1 + 0 + 0.5)/3 = 0.5
    # 0.3: cover 1, risk 1 - 2.5/4 = 0.375
    expected = [(0.25, 0.0), (0.75, 0.5), (1.0, 0.375)]
    for order in itertools.permutations(range(4)):
        points = risk_coverage(
            confidences=[confidences[i] for i in order], correct=[correct[i] for i in order]
        )
        assert points == expected


def test_aurc_without_ties_is_the_mean_risk_of_the_top_k():
    # risks of the top 1..4: 0, 1/2, 1/3, 1/4 -> (0 + 1/2 + 1/3 + 1/4) / 4 = (13/12) / 4 = 13/48
    value = aurc(confidences=[0.9, 0.7, 0.5, 0.2], correct=[1.0, 0.0, 1.0, 1.0])
    assert value == pytest.approx(13 / 48)


def test_aurc_with_ties_holds_each_groups_risk_over_its_coverage():
    # points (1/4, 0), (3/4, 0.5), (1, 0.375): 1/4*0 + 1/2*0.5 + 1/4*0.375 = 0.34375
    value = aurc(confidences=[0.9, 0.8, 0.8, 0.3], correct=[1.0, 0.0, 0.5, 1.0])
    assert value == pytest.approx(0.34375)


def test_aurc_of_all_equal_confidence_is_the_overall_error():
    # one point (1, 1 - mean) = (1, 1 - 1.5/3) -> area 0.5
    assert aurc(confidences=[0.6] * 3, correct=[1.0, 0.5, 0.0]) == pytest.approx(0.5)


def test_risk_coverage_and_aurc_of_no_data():
    assert risk_coverage(confidences=[], correct=[]) == []
    assert aurc(confidences=[], correct=[]) is None


# --- selective prediction ---------------------------------------------------------------

CONF = [0.95, 0.9, 0.8, 0.7, 0.6]
RIGHT = [1.0, 1.0, 0.5, 1.0, 0.0]
# precision of the top k: 1/1 = 1, 2/2 = 1, 2.5/3, 3.5/4 = 0.875, 3.5/5 = 0.7


@pytest.mark.parametrize(
    ("target", "coverage", "threshold", "achieved", "n_auto"),
    [
        (0.9, 0.4, 0.9, 1.0, 2),
        (1.0, 0.4, 0.9, 1.0, 2),
        (0.85, 0.8, 0.7, 0.875, 4),
        (0.7, 1.0, 0.6, 0.7, 5),
        (0.0, 1.0, 0.6, 0.7, 5),
    ],
    ids=["0.9", "1.0", "0.85-skips-a-dip", "0.7-exactly-met", "0.0"],
)
def test_coverage_at_precision_takes_the_largest_coverage_meeting_the_target(
    target, coverage, threshold, achieved, n_auto
):
    result = coverage_at_precision(confidences=CONF, correct=RIGHT, precision=target)
    assert result == {
        "target": target,
        "coverage": pytest.approx(coverage),
        "threshold": threshold,
        "precision": pytest.approx(achieved),
        "n_auto": n_auto,
    }


def test_coverage_at_precision_that_nothing_reaches():
    result = coverage_at_precision(confidences=[0.9, 0.8], correct=[0.0, 0.5], precision=0.6)
    assert result == {
        "target": 0.6,
        "coverage": 0.0,
        "threshold": None,
        "precision": None,
        "n_auto": 0,
    }


def test_coverage_at_precision_of_no_data():
    result = coverage_at_precision(confidences=[], correct=[])
    assert result["coverage"] is None
    assert result["threshold"] is None


def test_coverage_at_precision_never_splits_a_tie():
    # 0.9 (right) alone: precision 1; the tie at 0.8 (right, wrong) brings it to 2/3.
    result = coverage_at_precision(
        confidences=[0.9, 0.8, 0.8], correct=[1.0, 1.0, 0.0], precision=0.9
    )
    assert (result["coverage"], result["threshold"]) == (pytest.approx(1 / 3), 0.9)


@pytest.mark.parametrize(
    ("threshold", "coverage", "precision", "n_auto"),
    [
        (0.8, 0.6, 2.5 / 3, 3),  # 0.95, 0.9, 0.8 pass: (1 + 1 + 0.5) / 3
        (0.85, 0.4, 1.0, 2),
        (0.0, 1.0, 0.7, 5),  # all pass: 3.5 / 5
        (0.99, 0.0, None, 0),
    ],
    ids=["equal-to-a-confidence-passes", "between", "all", "none"],
)
def test_selective_lets_through_confidence_at_or_above_threshold(
    threshold, coverage, precision, n_auto
):
    result = selective(confidences=CONF, correct=RIGHT, threshold=threshold)
    assert result == {
        "coverage": pytest.approx(coverage),
        "precision": pytest.approx(precision) if precision is not None else None,
        "n_auto": n_auto,
    }


def test_selective_of_no_data():
    assert selective(confidences=[], correct=[], threshold=0.5) == {
        "coverage": None,
        "precision": None,
        "n_auto": 0,
    }


@given(
    st.lists(
        st.tuples(
            st.sampled_from([0.1, 0.3, 0.5, 0.7, 0.9]) | st.floats(0.0, 1.0),
            st.sampled_from([0.0, 0.5, 1.0]),
        ),
        min_size=1,
        max_size=30,
    ),
    st.floats(0.0, 1.0),
)
def test_threshold_from_coverage_at_precision_reproduces_its_figures(rows, target):
    confidences = [c for c, _ in rows]
    correct = [y for _, y in rows]
    found = coverage_at_precision(confidences=confidences, correct=correct, precision=target)
    curve = risk_coverage(confidences=confidences, correct=correct)
    assert curve[-1][0] == 1.0
    assert 0.0 <= aurc(confidences=confidences, correct=correct) <= 1.0
    if found["threshold"] is None:
        assert all(1.0 - risk < target - 1e-12 for _cov, risk in curve)
        return
    check = selective(confidences=confidences, correct=correct, threshold=found["threshold"])
    assert check["n_auto"] == found["n_auto"]
    assert check["coverage"] == pytest.approx(found["coverage"])
    assert check["precision"] == pytest.approx(found["precision"])
    assert found["precision"] >= target - 1e-12
    # No larger coverage meets the target.
    assert all(
        1.0 - risk < target - 1e-12 for cov, risk in curve if cov > found["coverage"] + 1e-12
    )


# --- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "kwargs"),
    [
        (brier, {"probs": [0.5], "labels": [1.0, 0.0]}),
        (brier, {"probs": [1.5], "labels": [1.0]}),
        (brier, {"probs": [-0.1], "labels": [1.0]}),
        (brier, {"probs": [math.nan], "labels": [1.0]}),
        (ece, {"probs": [0.5], "labels": [2.0]}),
        (ece, {"probs": [0.5], "labels": [math.nan]}),
        (ece, {"probs": [0.5], "labels": [1.0], "bins": 0}),
        (reliability, {"probs": [0.5], "labels": [1.0], "bins": True}),
        (risk_coverage, {"confidences": [math.inf], "correct": [1.0]}),
        (aurc, {"confidences": [0.5, 0.2], "correct": [1.0]}),
        (coverage_at_precision, {"confidences": [0.5], "correct": [1.0], "precision": 1.5}),
        (coverage_at_precision, {"confidences": [0.5], "correct": [-1.0]}),
        (selective, {"confidences": [0.5], "correct": [1.0], "threshold": math.nan}),
    ],
    ids=[
        "brier-length-mismatch",
        "brier-prob-above-one",
        "brier-negative-prob",
        "brier-nan-prob",
        "ece-label-above-one",
        "ece-nan-label",
        "ece-zero-bins",
        "reliability-bool-bins",
        "risk-coverage-infinite-confidence",
        "aurc-length-mismatch",
        "coverage-target-above-one",
        "coverage-negative-correct",
        "selective-nan-threshold",
    ],
)
def test_malformed_input_raises_value_error(call, kwargs):
    with pytest.raises(ValueError):
        call(**kwargs)
