"""Numerics of per-user Platt calibration (pure functions: no database)."""

import math
import random
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from predictions import calibration
from predictions.calibration import (
    IDENTITY,
    MAX_LABELS,
    MIN_SAMPLES_FOR_FIT,
    Calibration,
    _derivatives,
    _newton,
    _prepare,
    _sigmoid_train,
    label_for,
    platt_fit,
    platt_objective,
)
from tests.predictions.libsvm_reference import libsvm_sigmoid_train


def _logit(p):
    return math.log(p / (1.0 - p))


def _golden_min(fn, lo, hi, iterations=80):
    """Minimum of a convex function on [lo, hi] by golden-section search: (x, fn(x))."""
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    x1, x2 = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    f1, f2 = fn(x1), fn(x2)
    for _ in range(iterations):
        if f1 <= f2:
            hi, x2, f2 = x2, x1, f1
            x1 = hi - ratio * (hi - lo)
            f1 = fn(x1)
        else:
            lo, x1, f1 = x1, x2, f2
            x2 = lo + ratio * (hi - lo)
            f2 = fn(x2)
    best = min((f1, x1), (f2, x2), (fn(lo), lo), (fn(hi), hi))
    return best[1], best[0]


def _brute_force_min(scores, labels):
    """min over a >= 0 and b of the smoothed cross-entropy: grid over a, then refinement.

    For a fixed ``a`` the optimal ``b`` lies where the predicted probabilities sum to the
    targets, so inside [logit(min t) - a*max x, logit(max t) - a*min x]; the objective
    minimised over ``b`` is convex in ``a``, so golden-section search between the grid
    neighbours of the best grid point finds the optimum.
    """
    n_pos = sum(labels)
    n_neg = len(labels) - n_pos
    hi, lo = (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2)
    t = [y * hi + (1 - y) * lo for y in labels]
    t_lo, t_hi = _logit(min(t)), _logit(max(t))
    x_lo, x_hi = min(scores), max(scores)

    def best_over_b(a):
        return _golden_min(
            lambda b: platt_objective(scores=scores, labels=labels, a=a, b=b),
            t_lo - a * x_hi - 1.0,
            t_hi - a * x_lo + 1.0,
            iterations=60,
        )[1]

    grid = [0.0] + [2.0**k for k in range(-6, 13)]
    values = [best_over_b(a) for a in grid]
    i = min(range(len(grid)), key=values.__getitem__)
    left, right = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    _a, value = _golden_min(best_over_b, left, right, iterations=60)
    return min(value, values[i])


# --- the arithmetic against known answers -----------------------------------------------


def test_sigmoid_train_reproduces_libsvm_on_the_known_vector():
    big_a, big_b = _sigmoid_train([5.0, -4.0, 1.0], [1.0, 0.0, 0.0])
    assert big_a == pytest.approx(-0.20261354391187855, abs=1e-9)
    assert big_b == pytest.approx(0.65236314980010512, abs=1e-9)


def test_line_by_line_libsvm_port_reproduces_the_known_vector():
    # The oracle used below is itself checked against libsvm's published numbers.
    big_a, big_b = libsvm_sigmoid_train([5.0, -4.0, 1.0], [1.0, 0.0, 0.0])
    assert big_a == pytest.approx(-0.20261354391187855, abs=1e-9)
    assert big_b == pytest.approx(0.65236314980010512, abs=1e-9)


@pytest.mark.parametrize("seed", range(6))
def test_sigmoid_train_matches_the_libsvm_port_on_random_data_with_ties(seed):
    # Merging equal scores and testing the objective's change are exact rewrites: same answer.
    rng = random.Random(seed)
    scores = [round(rng.random(), 1) for _ in range(60)]
    labels = [rng.choice([0.0, 0.5, 1.0]) if rng.random() < x else 0.0 for x in scores]
    ours = _sigmoid_train(scores, labels)
    reference = libsvm_sigmoid_train(scores, labels)
    assert ours == pytest.approx(reference, abs=1e-8)


def test_newton_converges_where_rounding_noise_stalls_a_plain_objective_sum():
    # On this data a plain 5,000-term objective sum (~1e-11 of noise) hides the true decrease
    # of the last Newton step (~1e-12): libsvm's line search halves 30+ times and gives up.
    rng = random.Random(1)
    scores = [rng.random() for _ in range(MAX_LABELS)]
    labels = [
        rng.choice([1.0, 1.0, 0.5, 0.0]) if rng.random() < x else rng.choice([0.0, 0.0, 0.5])
        for x in scores
    ]
    f, w, t, n_pos, n_neg = _prepare(scores, labels)
    big_a, big_b, _fval, iterations = _newton(f, w, t, n_pos, n_neg)
    assert iterations <= 6
    swp, sfwp, *_rest = _derivatives(big_a, big_b, f, w)
    stf = math.fsum(ti * fi for ti, fi in zip(t, f, strict=True))
    assert abs(stf - sfwp) < 1e-5  # gradient in A
    assert abs(math.fsum(t) - swp) < 1e-5  # gradient in B


def test_platt_fit_stores_the_libsvm_parameters_with_the_sign_flipped():
    rng = random.Random(3)
    scores = [rng.random() for _ in range(40)]
    labels = [1.0 if rng.random() < x else 0.0 for x in scores]
    big_a, big_b = _sigmoid_train(scores, labels)
    assert big_a < 0  # an informative score: the rule for non-positive slopes stays out of it
    fit = platt_fit(scores=scores, labels=labels)
    assert (fit.method, fit.a, fit.b, fit.n) == ("platt", -big_a, -big_b, 40)
    assert fit.apply(0.7) == pytest.approx(1.0 / (1.0 + math.exp(big_a * 0.7 + big_b)))


# --- the rules around the arithmetic ----------------------------------------------------


@pytest.mark.parametrize("n", range(MIN_SAMPLES_FOR_FIT))
def test_fewer_than_min_samples_gives_identity(n):
    assert platt_fit(scores=[0.9] * n, labels=[1.0] * n) == IDENTITY


def test_exactly_min_samples_gives_a_platt_fit():
    fit = platt_fit(scores=[0.1, 0.3, 0.5, 0.7, 0.9], labels=[0.0, 0.0, 1.0, 1.0, 1.0])
    assert fit.method == "platt"
    assert fit.n == MIN_SAMPLES_FOR_FIT
    assert fit.a > 0


@pytest.mark.parametrize(
    "scores",
    [[0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99], [0.9] * 7, [0.2, 0.9, 0.2, 0.9, 0.5, 0.5, 0.1]],
    ids=["distinct", "all-equal", "with-ties"],
)
def test_all_accepted_gives_the_smoothed_rate_everywhere(scores):
    fit = platt_fit(scores=scores, labels=[1.0] * 7)
    # N = 7 accepted: (N+1)/(N+2) = 8/9 whatever the raw confidence.
    for x in (0.0, 0.3, 0.9, 1.0):
        assert fit.apply(x) == pytest.approx(8 / 9, abs=1e-12)
    assert fit.a == 0.0
    assert not math.copysign(1.0, fit.a) < 0  # stored as +0.0, not -0.0


def test_all_rejected_gives_one_over_n_plus_two_everywhere():
    fit = platt_fit(scores=[0.1, 0.5, 0.9, 0.95, 0.99, 0.7], labels=[0.0] * 6)
    # N = 6 rejected: 1/(N+2) = 1/8.
    for x in (0.0, 0.5, 1.0):
        assert fit.apply(x) == pytest.approx(1 / 8, abs=1e-12)


def test_all_edited_gives_one_half_everywhere():
    fit = platt_fit(scores=[0.1, 0.5, 0.9, 0.95, 0.99, 0.7], labels=[0.5] * 6)
    # N+ = N- = 3: hi = 4/5, lo = 1/5, every t = 0.5*4/5 + 0.5*1/5 = 1/2.
    assert fit.a == 0.0
    assert fit.b == pytest.approx(0.0, abs=1e-12)
    assert fit.apply(0.99) == pytest.approx(0.5, abs=1e-12)


def test_negative_slope_data_falls_back_to_the_smoothed_acceptance_rate():
    scores = [0.9, 0.8, 0.7, 0.2, 0.1]
    labels = [0.0, 0.0, 0.0, 1.0, 1.0]
    big_a, _ = _sigmoid_train(scores, labels)
    assert big_a > 0  # unconstrained, confidence would predict rejection: a = -A < 0
    fit = platt_fit(scores=scores, labels=labels)
    # N+ = 2, N- = 3: hi = 3/4, lo = 1/5, mean t = (2*3/4 + 3*1/5)/5 = 2.1/5 = 0.42.
    assert fit.a == 0.0
    assert fit.b == pytest.approx(math.log(0.42 / 0.58), abs=1e-12)
    assert fit.apply(0.05) == fit.apply(0.95) == pytest.approx(0.42, abs=1e-12)


def test_edited_labels_count_half_positive_and_half_negative():
    # Three edited and two accepted at low confidence, three rejected at high: negative slope.
    scores = [0.1, 0.2, 0.3, 0.4, 0.5, 0.8, 0.9, 0.95]
    labels = [1.0, 1.0, 0.5, 0.5, 0.5, 0.0, 0.0, 0.0]
    fit = platt_fit(scores=scores, labels=labels)
    # N+ = 2 + 1.5 = 3.5, N- = 4.5: hi = 4.5/5.5, lo = 1/6.5,
    # mean t = (3.5*4.5/5.5 + 4.5/6.5)/8.
    mean_t = (3.5 * 4.5 / 5.5 + 4.5 / 6.5) / 8
    assert fit.a == 0.0
    assert fit.apply(0.5) == pytest.approx(mean_t, abs=1e-12)


def test_separable_data_gives_a_finite_increasing_fit():
    scores = [0.1, 0.2, 0.3, 0.7, 0.8, 0.9]
    labels = [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]
    fit = platt_fit(scores=scores, labels=labels)
    assert math.isfinite(fit.a) and math.isfinite(fit.b)
    assert fit.a > 0
    # The smoothed targets cap how sure the fit may get: lo = 1/5, hi = 4/5.
    assert 0.0 < fit.apply(0.1) < 0.5 < fit.apply(0.9) < 1.0
    assert fit.apply(0.1) == pytest.approx(1.0 - fit.apply(0.9), abs=1e-9)  # symmetric data


def test_large_separable_data_converges_to_a_finite_optimum():
    rng = random.Random(11)
    scores = [rng.random() for _ in range(MAX_LABELS)]
    labels = [1.0 if x > 0.5 else 0.0 for x in scores]
    f, w, t, n_pos, n_neg = _prepare(scores, labels)
    big_a, big_b, _fval, iterations = _newton(f, w, t, n_pos, n_neg)
    assert math.isfinite(big_a) and math.isfinite(big_b)
    assert iterations < 100
    fit = platt_fit(scores=scores, labels=labels)
    assert fit.a > 10
    assert fit.apply(0.5) == pytest.approx(0.5, abs=0.05)


@pytest.mark.parametrize("copies", [1, 1000])
def test_identical_scores_carry_no_signal_and_give_the_smoothed_rate(copies):
    # All x equal: a and b cannot be told apart, the Hessian is singular.
    labels = [1.0, 1.0, 0.0, 1.0, 0.5, 0.0, 1.0] * copies
    fit = platt_fit(scores=[0.9] * len(labels), labels=labels)
    # N+ = 4.5k, N- = 2.5k: hi = (4.5k+1)/(4.5k+2), lo = 1/(2.5k+2),
    # mean t = (4.5k*hi + 2.5k*lo)/7k.
    k = copies
    mean_t = (4.5 * k * (4.5 * k + 1) / (4.5 * k + 2) + 2.5 * k / (2.5 * k + 2)) / (7 * k)
    assert fit.a == 0.0
    assert fit.apply(0.9) == pytest.approx(mean_t, abs=1e-9)
    assert fit.apply(0.1) == fit.apply(0.9)


@pytest.mark.parametrize(
    ("scores", "labels"),
    [
        ([0.1, 0.2], [1.0]),
        ([0.1, math.nan, 0.3, 0.4, 0.5], [1.0] * 5),
        ([0.1, math.inf, 0.3, 0.4, 0.5], [1.0] * 5),
        ([0.1, 0.2, 0.3, 0.4, 0.5], [1.0, 1.5, 0.0, 0.0, 1.0]),
        ([0.1, 0.2, 0.3, 0.4, 0.5], [1.0, -0.1, 0.0, 0.0, 1.0]),
        ([0.1, 0.2, 0.3, 0.4, 0.5], [1.0, 0.0, math.nan, 0.0, 1.0]),
        ([0.1, 0.2], [math.nan, 1.0]),
    ],
    ids=[
        "length-mismatch",
        "nan-score",
        "infinite-score",
        "label-above-one",
        "negative-label",
        "nan-label",
        "nan-label-below-min-samples",
    ],
)
def test_malformed_training_data_raises_value_error(scores, labels):
    with pytest.raises(ValueError):
        platt_fit(scores=scores, labels=labels)


# --- property: the fit is the optimum -------------------------------------------------


_scores = st.one_of(
    st.floats(min_value=0.0, max_value=1.0),
    st.sampled_from([0.0, 0.25, 0.5, 0.75, 0.9, 1.0]),  # ties, as real confidences have
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.lists(
        st.tuples(_scores, st.sampled_from([0.0, 0.5, 1.0])),
        min_size=MIN_SAMPLES_FOR_FIT,
        max_size=15,
    )
)
def test_fit_objective_is_within_tolerance_of_a_brute_force_optimum(data):
    scores = [x for x, _ in data]
    labels = [y for _, y in data]
    fit = platt_fit(scores=scores, labels=labels)
    ours = platt_objective(scores=scores, labels=labels, a=fit.a, b=fit.b)
    # platt_fit minimises over a >= 0 (a non-positive slope becomes the best constant).
    brute = _brute_force_min(scores, labels)
    assert ours <= brute + 1e-7 * max(1.0, abs(brute))


# --- applying a calibration -------------------------------------------------------------


@pytest.mark.parametrize("raw", [0.0, 0.37, 0.8, 1.0])
def test_identity_returns_raw_unchanged(raw):
    assert IDENTITY.apply(raw) == raw


@settings(max_examples=200)
@given(
    a=st.floats(min_value=0.0, max_value=1e300),
    b=st.floats(min_value=-1e300, max_value=1e300),
    x1=st.floats(min_value=-1e6, max_value=1e6),
    x2=st.floats(min_value=-1e6, max_value=1e6),
)
def test_platt_apply_is_monotone_and_within_unit_interval(a, b, x1, x2):
    cal = Calibration("platt", a, b, 10)
    lo, hi = sorted((x1, x2))
    p_lo, p_hi = cal.apply(lo), cal.apply(hi)
    assert 0.0 <= p_lo <= p_hi <= 1.0


@pytest.mark.parametrize(
    ("a", "b", "raw", "expected"),
    [
        (1e308, 0.0, 10.0, 1.0),
        (1e308, 0.0, -10.0, 0.0),
        (1e308, 1e308, 1.0, 1.0),
        (0.0, -1e308, 0.5, 0.0),
        (800.0, 0.0, 1.0, 1.0),
        (800.0, -800.0, 0.0, 0.0),
    ],
    ids=["inf-positive", "inf-negative", "sum-overflows", "huge-b", "exp-800", "exp-minus-800"],
)
def test_platt_apply_never_overflows(a, b, raw, expected):
    assert Calibration("platt", a, b, 5).apply(raw) == expected


def test_platt_apply_is_the_sigmoid():
    cal = Calibration("platt", 2.0, -1.0, 9)
    # sigmoid(2*0.75 - 1) = 1/(1 + e^-0.5)
    assert cal.apply(0.75) == pytest.approx(1.0 / (1.0 + math.exp(-0.5)), abs=1e-15)
    assert cal.apply(0.5) == 0.5


@pytest.mark.parametrize(
    ("method", "a", "b", "n"),
    [
        ("logistic", 1.0, 0.0, 5),
        ("platt", -0.1, 0.0, 5),
        ("platt", math.nan, 0.0, 5),
        ("platt", 1.0, math.inf, 5),
        ("platt", 1.0, 0.0, -1),
        ("platt", 1.0, 0.0, True),
    ],
    ids=[
        "unknown-method",
        "negative-slope",
        "nan-slope",
        "infinite-intercept",
        "negative-n",
        "bool-n",
    ],
)
def test_invalid_calibration_cannot_be_built(method, a, b, n):
    with pytest.raises(ValueError):
        Calibration(method, a, b, n)


def test_a_raw_score_above_the_fitted_range_gets_the_value_at_its_top():
    cal = Calibration("platt", 10.0, -3.0, 40, raw_min=0.1, raw_max=0.4)
    top = 1.0 / (1.0 + math.exp(-1.0))  # sigmoid(10*0.4 - 3)
    assert cal.apply(0.4) == pytest.approx(top, abs=1e-15)
    assert cal.apply(0.41) == cal.apply(0.9) == cal.apply(1.0) == cal.apply(0.4)
    # Without the range the same fit extrapolates upward.
    assert Calibration("platt", 10.0, -3.0, 40).apply(0.9) > 0.99


def test_below_the_fitted_range_the_sigmoid_goes_on_falling():
    cal = Calibration("platt", 10.0, -3.0, 40, raw_min=0.1, raw_max=0.4)
    assert cal.apply(0.05) < cal.apply(0.1) < cal.apply(0.4)
    assert cal.apply(0.05) == Calibration("platt", 10.0, -3.0, 40).apply(0.05)


@settings(max_examples=200, deadline=None)
@given(
    a=st.floats(min_value=0.0, max_value=1e3),
    b=st.floats(min_value=-1e3, max_value=1e3),
    bounds=st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=2, max_size=2),
    x1=st.floats(min_value=-2.0, max_value=2.0),
    x2=st.floats(min_value=-2.0, max_value=2.0),
)
def test_a_clamped_calibration_stays_monotone_and_below_its_top(a, b, bounds, x1, x2):
    raw_min, raw_max = sorted(bounds)
    cal = Calibration("platt", a, b, 10, raw_min=raw_min, raw_max=raw_max)
    lo, hi = sorted((x1, x2))
    assert 0.0 <= cal.apply(lo) <= cal.apply(hi) <= cal.apply(raw_max) <= 1.0


def test_platt_fit_records_the_range_of_raw_scores_it_saw():
    scores = [0.1, 0.2, 0.2, 0.3, 0.4, 0.35]
    cal = platt_fit(scores=scores, labels=[0.0, 0.0, 1.0, 0.5, 1.0, 0.0])
    assert (cal.raw_min, cal.raw_max) == (0.1, 0.4)
    # The constant fit (no usable slope) records it too; the identity has none.
    flat = platt_fit(scores=[0.3] * 6, labels=[1.0, 0.0] * 3)
    assert flat.a == 0.0 and (flat.raw_min, flat.raw_max) == (0.3, 0.3)
    assert platt_fit(scores=[0.5], labels=[1.0]).raw_max is None


@pytest.mark.parametrize(
    ("raw_min", "raw_max"),
    [(0.5, 0.4), (math.nan, 0.4), (0.1, math.inf), (0.1, True)],
    ids=["min-above-max", "nan-min", "infinite-max", "bool-max"],
)
def test_invalid_fitted_range_cannot_be_built(raw_min, raw_max):
    with pytest.raises(ValueError):
        Calibration("platt", 1.0, 0.0, 5, raw_min=raw_min, raw_max=raw_max)


# --- storage --------------------------------------------------------------------------


def test_as_dict_has_the_stored_shape():
    at = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    assert Calibration("platt", 1.5, -0.25, 120).as_dict(fitted_at=at) == {
        "method": "platt",
        "a": 1.5,
        "b": -0.25,
        "n": 120,
        "fitted_at": "2026-11-26T03:00:00+00:00",
    }
    assert IDENTITY.as_dict()["fitted_at"] is None
    ranged = Calibration("platt", 1.5, -0.25, 120, raw_min=0.05, raw_max=0.6).as_dict()
    assert (ranged["raw_min"], ranged["raw_max"]) == (0.05, 0.6)


@pytest.mark.parametrize(
    "cal",
    [
        IDENTITY,
        Calibration("identity", 1.0, 0.0, 3),
        Calibration("platt", 0.0, 1.2, 50),
        Calibration("platt", 3.25, -2.5, 5000),
        Calibration("platt", 3.25, -2.5, 5000, raw_min=0.0, raw_max=0.42),
        Calibration("platt", 0.0, 1.2, 50, raw_min=0.3, raw_max=0.3),
    ],
    ids=["identity", "identity-with-n", "constant", "platt", "platt-with-range", "constant-range"],
)
def test_from_dict_round_trips_as_dict(cal):
    at = datetime(2026, 11, 26, tzinfo=UTC)
    assert Calibration.from_dict(cal.as_dict(fitted_at=at)) == cal


def test_a_calibration_stored_without_a_range_maps_as_before():
    data = {"method": "platt", "a": 10.0, "b": -3.0, "n": 40, "fitted_at": None}
    cal = Calibration.from_dict(data)
    assert cal == Calibration("platt", 10.0, -3.0, 40)
    assert (cal.raw_min, cal.raw_max) == (None, None)
    assert cal.apply(0.9) == pytest.approx(1.0 / (1.0 + math.exp(-6.0)))
    assert cal.as_dict() == data


@pytest.mark.parametrize(
    "bounds",
    [
        {"raw_min": 0.1},
        {"raw_max": 0.4},
        {"raw_min": "0.1", "raw_max": 0.4},
        {"raw_min": 0.5, "raw_max": 0.4},
        {"raw_min": 0.1, "raw_max": None},
        {"raw_min": 0.1, "raw_max": False},
        {"raw_min": 0.1, "raw_max": math.nan},
    ],
    ids=["min-only", "max-only", "string-min", "min-above-max", "null-max", "bool-max", "nan-max"],
)
def test_a_malformed_stored_range_is_dropped_and_the_fit_kept(bounds):
    data = {"method": "platt", "a": 10.0, "b": -3.0, "n": 40, **bounds}
    assert Calibration.from_dict(data) == Calibration("platt", 10.0, -3.0, 40)


def test_from_dict_reads_a_stored_range():
    data = {"method": "platt", "a": 10, "b": -3, "n": 40, "raw_min": 0, "raw_max": 0.4}
    cal = Calibration.from_dict(data)
    assert cal == Calibration("platt", 10.0, -3.0, 40, raw_min=0.0, raw_max=0.4)
    assert cal.apply(0.9) == cal.apply(0.4)


def test_from_dict_accepts_integral_json_numbers():
    data = {"method": "platt", "a": 2, "b": 0, "n": 7, "fitted_at": None}
    assert Calibration.from_dict(data) == Calibration("platt", 2.0, 0.0, 7)


@pytest.mark.parametrize(
    "data",
    [
        None,
        {},
        [],
        "platt",
        {"method": "platt"},
        {"method": "platt", "a": "1.0", "b": 0.0, "n": 5},
        {"method": "platt", "a": 1.0, "b": None, "n": 5},
        {"method": "platt", "a": -1.0, "b": 0.0, "n": 5},
        {"method": "platt", "a": math.nan, "b": 0.0, "n": 5},
        {"method": "platt", "a": 1.0, "b": math.inf, "n": 5},
        {"method": "platt", "a": True, "b": 0.0, "n": 5},
        {"method": "platt", "a": 1.0, "b": 0.0, "n": -3},
        {"method": "platt", "a": 1.0, "b": 0.0, "n": 5.0},
        {"method": "isotonic", "a": 1.0, "b": 0.0, "n": 5},
        {"method": None},
    ],
    ids=[
        "none",
        "empty",
        "list",
        "string",
        "no-parameters",
        "string-slope",
        "null-intercept",
        "negative-slope",
        "nan-slope",
        "infinite-intercept",
        "bool-slope",
        "negative-n",
        "float-n",
        "unknown-method",
        "null-method",
    ],
)
def test_malformed_stored_calibration_reads_as_identity(data):
    assert Calibration.from_dict(data) == IDENTITY


@pytest.mark.parametrize(
    ("outcome", "label"), [("accepted", 1.0), ("edited", 0.5), ("rejected", 0.0)]
)
def test_label_for_maps_each_outcome(outcome, label):
    assert label_for(outcome) == label


@pytest.mark.parametrize("outcome", ["", "Accepted", "ignored", None], ids=repr)
def test_label_for_unknown_outcome_raises_value_error(outcome):
    with pytest.raises(ValueError):
        label_for(outcome)


# --- work -----------------------------------------------------------------------------


def test_one_fit_of_max_labels_takes_a_few_passes_over_the_points(monkeypatch):
    """One pass over the points to start and one per Newton step (libsvm takes two), a few
    steps on this data. The fit's time is measured in bench/calibration.py."""
    rng = random.Random(5)
    scores = [rng.random() for _ in range(MAX_LABELS)]
    labels = [rng.choice([1.0, 1.0, 0.5, 0.0]) if rng.random() < x else 0.0 for x in scores]
    passes = []
    real = calibration._derivatives

    def counted(*args):
        passes.append(args)
        return real(*args)

    monkeypatch.setattr(calibration, "_derivatives", counted)
    fit = platt_fit(scores=scores, labels=labels)
    assert fit.method == "platt"
    assert len(passes) <= 6
