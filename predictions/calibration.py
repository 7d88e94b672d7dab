"""Per-user Platt calibration of the model's raw confidence (pure Python, no numpy/scipy).

A user's calibration maps the raw confidence ``x`` the model gives its top candidate to
``p = sigmoid(a*x + b)``, fitted on that user's labelled predictions with the label
``y`` = accepted 1.0, edited 0.5, rejected 0.0.

The fit is Platt's method as Lin, Lin and Weng (2007, "A note on Platt's probabilistic outputs
for support vector machines") made it robust, i.e. libsvm's ``sigmoid_train``: smoothed targets,
the overflow-free cross-entropy, Newton's method with a tiny ridge on the Hessian and a
backtracking line search. libsvm writes the model as ``P = 1/(1+exp(A*f+B))``; Clone stores
``a = -A`` and ``b = -B`` so that ``p = sigmoid(a*x + b)`` reads the usual way round.

Rewrites that are exact in real arithmetic keep one 5,000-point fit cheap in pure Python
(``bench/calibration.py`` measures it):
- points that share a score are merged into one weighted point (raw confidences repeat a lot;
  the objective is a sum over points, so merging changes only the order of the additions);
- the Newton step's full-step trial computes the gradient and Hessian with the objective, so an
  accepted step costs one pass over the data instead of libsvm's two;
- the line search tests the objective's change summed term by term, not the difference of two
  5,000-term sums whose rounding noise (~1e-11) hides the last steps' true decrease (~1e-12)
  and makes libsvm's line search fail after dozens of useless halvings.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeGuard

MIN_SAMPLES_FOR_FIT = 5
# Recency cap: the fitter reads at most this many of a user's newest labelled predictions.
MAX_LABELS = 5000

LABELS: dict[str, float] = {"accepted": 1.0, "edited": 0.5, "rejected": 0.0}

METHOD_PLATT = "platt"
METHOD_IDENTITY = "identity"

# libsvm sigmoid_train's constants (Lin, Lin & Weng 2007, Algorithm 1).
_MAX_ITER = 100
_MIN_STEP = 1e-10
_SIGMA = 1e-12  # ridge on the Hessian diagonal: keeps it numerically positive definite
_EPS = 1e-5  # stop when both gradient components are below this
_ARMIJO = 1e-4  # sufficient decrease
# When the Hessian (before the ridge) is singular to working precision, every score is the
# same: a and b cannot be told apart and the score carries no signal, so step along b alone
# (a stays 0 and platt_fit stores the smoothed acceptance rate). libsvm would take a step
# along an arbitrary optimum, or divide by rounding noise when there are many points.
_SINGULAR = 1e-12


@dataclass(frozen=True)
class Calibration:
    """One user's calibration: ``identity`` (raw == calibrated) or ``platt``.

    A ``platt`` calibration has a finite slope ``a >= 0`` and a finite intercept ``b``, so
    ``apply`` is monotone non-decreasing (it never inverts the ranking of candidates) and maps
    into [0, 1]. ``n`` is the number of labels the fit used (0 for the default identity).

    ``raw_min`` and ``raw_max`` are the lowest and highest raw confidence the fit saw (None for
    the identity and for a calibration stored before the range was recorded). ``apply`` never
    extrapolates upward: a raw score above ``raw_max`` is read as ``raw_max``, so it gets the
    calibrated value at the top of the fitted range and no more. Below ``raw_min`` the sigmoid
    goes on falling, which only lowers confidence; so ``apply`` stays monotone.
    """

    method: str
    a: float
    b: float
    n: int
    raw_min: float | None = None
    raw_max: float | None = None

    def __post_init__(self) -> None:
        if self.method not in (METHOD_PLATT, METHOD_IDENTITY):
            raise ValueError(f"Unknown calibration method {self.method!r}.")
        if not (math.isfinite(self.a) and math.isfinite(self.b)):
            raise ValueError("Calibration parameters must be finite.")
        if self.a < 0:
            raise ValueError("A calibration slope must not be negative.")
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 0:
            raise ValueError("n must be a non-negative integer.")
        for bound in (self.raw_min, self.raw_max):
            if bound is not None and not (_is_number(bound) and math.isfinite(bound)):
                raise ValueError("A fitted range bound must be a finite number.")
        if self.raw_min is not None and self.raw_max is not None and self.raw_min > self.raw_max:
            raise ValueError("raw_min must not exceed raw_max.")

    def apply(self, raw: float) -> float:
        """Calibrated probability for a raw confidence; identity returns ``raw`` unchanged.

        Never overflows: the sigmoid is evaluated on the side where ``exp`` takes a
        non-positive argument, and an infinite ``a*x`` saturates to 0.0 or 1.0.
        """
        if self.method == METHOD_IDENTITY:
            return raw
        if self.raw_max is not None and raw > self.raw_max:
            raw = self.raw_max
        z = self.a * raw + self.b
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)

    def as_dict(self, *, fitted_at: datetime | None = None) -> dict:
        """The JSON stored in ``UserProfile.calibration``; ``fitted_at`` as ISO 8601 or None.

        ``raw_min`` and ``raw_max`` are written only when the calibration has them."""
        data: dict = {
            "method": self.method,
            "a": self.a,
            "b": self.b,
            "n": self.n,
            "fitted_at": fitted_at.isoformat() if fitted_at is not None else None,
        }
        if self.raw_min is not None:
            data["raw_min"] = self.raw_min
        if self.raw_max is not None:
            data["raw_max"] = self.raw_max
        return data

    @classmethod
    def from_dict(cls, data: dict | None) -> Calibration:
        """Read a stored calibration; empty, missing or malformed data gives ``IDENTITY``.

        ``from_dict(c.as_dict()) == c`` for every valid calibration. An ``identity`` entry
        keeps its ``n`` but always has ``a=1, b=0`` and no range. A ``platt`` entry without a
        valid range (stored before the range was recorded, or malformed) reads as a calibration
        without one: it maps as it did when it was stored.
        """
        if not isinstance(data, dict) or not data:
            return IDENTITY
        method = data.get("method")
        n = data.get("n", 0)
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            return IDENTITY
        if method == METHOD_IDENTITY:
            return cls(METHOD_IDENTITY, 1.0, 0.0, n)
        if method != METHOD_PLATT:
            return IDENTITY
        a, b = data.get("a"), data.get("b")
        if not (_is_number(a) and _is_number(b)):
            return IDENTITY
        try:
            calibration = cls(METHOD_PLATT, float(a), float(b), n)
        except (ValueError, OverflowError):
            return IDENTITY
        raw_min, raw_max = data.get("raw_min"), data.get("raw_max")
        if not (_is_number(raw_min) and _is_number(raw_max)):
            return calibration
        try:
            return cls(
                METHOD_PLATT, calibration.a, calibration.b, n, float(raw_min), float(raw_max)
            )
        except (ValueError, OverflowError):
            return calibration


IDENTITY = Calibration(METHOD_IDENTITY, 1.0, 0.0, 0)


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def label_for(outcome: str | None) -> float:
    """The training label of a feedback outcome: accepted 1.0, edited 0.5, rejected 0.0."""
    if outcome is None or outcome not in LABELS:
        raise ValueError(f"Unknown outcome {outcome!r}.")
    return LABELS[outcome]


def platt_fit(*, scores: Sequence[float], labels: Sequence[float]) -> Calibration:
    """Fit ``p = sigmoid(a*x + b)`` to (raw confidence, label) pairs.

    Promises:
    - fewer than ``MIN_SAMPLES_FOR_FIT`` pairs: ``IDENTITY``;
    - otherwise a ``platt`` calibration with finite ``a >= 0`` and ``b`` and ``n = len(scores)``,
      also for separable data (the smoothed targets keep the optimum finite), and the fitted
      range ``raw_min = min(scores)``, ``raw_max = max(scores)``;
    - if the fitted slope is not positive (raw confidence carries no usable signal, or would
      invert the ranking) ``a = 0`` and ``b = logit(mean(t))``: the smoothed acceptance rate.
    Every pair is used; the caller applies the ``MAX_LABELS`` recency cap. Labels must lie in
    [0, 1] (0.5 for edited counts half positive, half negative) and scores must be finite,
    else ``ValueError``.
    """
    data = _prepare(scores, labels)
    n = len(scores)
    if n < MIN_SAMPLES_FOR_FIT:
        return IDENTITY
    big_a, big_b, _fval, _iters = _newton(*data)
    a, b = -big_a, -big_b
    if not a > 0:
        _f, _w, _t, n_pos, n_neg = data
        hi, lo = _targets(n_pos, n_neg)
        mean_t = (n_pos * hi + n_neg * lo) / n
        a, b = 0.0, math.log(mean_t / (1.0 - mean_t))
    f = data[0]
    return Calibration(METHOD_PLATT, a, b, n, min(f), max(f))


def platt_objective(
    *, scores: Sequence[float], labels: Sequence[float], a: float, b: float
) -> float:
    """The smoothed cross-entropy that ``platt_fit`` minimises, at ``(a, b)``.

    ``sum_i -(t_i*log(p_i) + (1-t_i)*log(1-p_i))`` with ``p_i = sigmoid(a*x_i + b)`` and the
    smoothed targets ``t_i``; for tests and the benchmark's reference optimum.
    """
    f, w, t, _n_pos, _n_neg = _prepare(scores, labels)
    return _evaluate(-a, -b, f, w, t)


def _sigmoid_train(scores: Sequence[float], labels: Sequence[float]) -> tuple[float, float]:
    """libsvm's ``sigmoid_train``: ``(A, B)`` of ``P = 1/(1+exp(A*f+B))``, libsvm's sign.

    The bare arithmetic, without ``platt_fit``'s minimum-sample and non-positive-slope rules.
    """
    big_a, big_b, _fval, _iters = _newton(*_prepare(scores, labels))
    return big_a, big_b


def _targets(n_pos: float, n_neg: float) -> tuple[float, float]:
    return (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0)


def _prepare(
    scores: Sequence[float], labels: Sequence[float]
) -> tuple[list[float], list[float], list[float], float, float]:
    """Validate, then merge points that share a score: ``(f, w, t, N+, N-)``.

    ``w[j]`` is the number of points with score ``f[j]`` and ``t[j]`` the sum of their smoothed
    targets, so every sum over points becomes a weighted sum over distinct scores.
    """
    if len(scores) != len(labels):
        raise ValueError("scores and labels must have the same length.")
    xs = list(map(float, scores))
    ys = list(map(float, labels))
    if not all(map(math.isfinite, xs)):
        raise ValueError("Scores must be finite numbers.")
    # min/max skip a NaN depending on where it is, hence the separate test.
    if any(map(math.isnan, ys)) or (ys and not (min(ys) >= 0.0 and max(ys) <= 1.0)):
        raise ValueError("Labels must lie in [0, 1].")
    n_pos = math.fsum(ys)
    n_neg = len(ys) - n_pos
    hi, lo = _targets(n_pos, n_neg)
    if len(set(xs)) == len(xs):
        # Nothing to merge (continuous scores): skip the grouping pass.
        return xs, [1.0] * len(xs), [y * hi + (1.0 - y) * lo for y in ys], n_pos, n_neg
    groups: dict[float, list[float]] = {}
    for x, y in zip(xs, ys, strict=True):
        g = groups.get(x)
        if g is None:
            groups[x] = [1.0, y]
        else:
            g[0] += 1.0
            g[1] += y
    f = list(groups)
    w = [g[0] for g in groups.values()]
    # Each point contributes y*hi + (1-y)*lo; summed over a group of w points with label sum s.
    t = [s * hi + (c - s) * lo for c, s in groups.values()]
    return f, w, t, n_pos, n_neg


def _evaluate(big_a: float, big_b: float, f: list[float], w: list[float], t: list[float]) -> float:
    """Objective at (A, B): ``sum t*z + w*log(1+exp(-z))`` with ``z = A*f + B``, overflow-free.

    ``log(1+exp(-z))`` is ``log1p(exp(-z))`` for ``z >= 0`` and ``-z + log1p(exp(z))``
    otherwise, so ``exp`` only ever sees a non-positive argument. Summed exactly (``fsum``).
    """
    exp, log1p = math.exp, math.log1p
    terms = []
    for fi, wi, ti in zip(f, w, t, strict=True):
        z = fi * big_a + big_b
        if z >= 0:
            terms.append(ti * z + wi * log1p(exp(-z)))
        else:
            terms.append((ti - wi) * z + wi * log1p(exp(z)))
    return math.fsum(terms)


def _softplus_change(
    big_a: float, big_b: float, f: list[float], w: list[float], u: list[float]
) -> float:
    """``sum w*log(1+exp(-z)) - u`` at (A, B): the non-linear part of the objective's change."""
    exp, log1p = math.exp, math.log1p
    change = 0.0
    for fi, wi, ui in zip(f, w, u, strict=True):
        z = fi * big_a + big_b
        if z >= 0:
            change += wi * log1p(exp(-z)) - ui
        else:
            change += wi * (log1p(exp(z)) - z) - ui
    return change


def _derivatives(
    big_a: float, big_b: float, f: list[float], w: list[float]
) -> tuple[float, float, float, float, float, list[float]]:
    """Sums for the gradient and Hessian, and per-point ``w*log(1+exp(-z))``, in one pass.

    With ``p = 1/(1+exp(z))`` (libsvm's probability of the positive class) returns
    ``sum w*p``, ``sum f*w*p`` (the gradient is ``g1 = sum(t*f) - sum f*w*p``,
    ``g2 = sum(t) - sum w*p``), and ``[h11, h22, h21] = sum w*p*(1-p)*[f*f, 1, f]`` (the caller
    adds the ridge). For ``e = exp(-|z|)``: ``p*(1-p) = e/(1+e)^2`` on both sides. This is the
    hot loop of the fit: locals only, no per-point target (it went into the two sums).
    """
    exp, log1p = math.exp, math.log1p
    swp = sfwp = h11 = h22 = h21 = 0.0
    u: list[float] = []
    keep = u.append
    for fi, wi in zip(f, w, strict=True):
        z = fi * big_a + big_b
        if z >= 0:
            e = exp(-z)
            s = 1.0 / (1.0 + e)
            wp = wi * e * s
            d2 = wp * s
            keep(wi * log1p(e))
        else:
            e = exp(z)
            s = 1.0 / (1.0 + e)
            wp = wi * s
            d2 = wp * e * s
            keep(wi * (log1p(e) - z))
        fd2 = fi * d2
        h11 += fi * fd2
        h22 += d2
        h21 += fd2
        swp += wp
        sfwp += fi * wp
    return swp, sfwp, h11, h22, h21, u


def _newton(
    f: list[float], w: list[float], t: list[float], n_pos: float, n_neg: float
) -> tuple[float, float, float, int]:
    """Lin, Lin & Weng's Algorithm 1 on merged points: ``(A, B, objective, iterations)``.

    The objective is ``A*sum(t*f) + B*sum(t) + sum(u)`` with ``u = w*log(1+exp(-z))`` per point.
    The line search tests the objective's *change*, summed term by term against the accepted
    point's ``u``: a plain 5,000-term sum of values near 3,000 carries ~1e-11 of rounding noise,
    more than the true decrease of the last Newton steps (~1e-12), and libsvm then wastes dozens
    of halvings and stops short with a line-search failure. In exact arithmetic the test is
    libsvm's ``newf < fval + 1e-4*step*gd``.
    """
    stf = math.fsum(ti * fi for ti, fi in zip(t, f, strict=True))
    st = math.fsum(t)
    big_a = 0.0
    big_b = math.log((n_neg + 1.0) / (n_pos + 1.0))
    swp, sfwp, h11, h22, h21, u = _derivatives(big_a, big_b, f, w)
    g1, g2 = stf - sfwp, st - swp
    iterations = 0
    while iterations < _MAX_ITER:
        if abs(g1) < _EPS and abs(g2) < _EPS:
            break
        iterations += 1
        singular = h11 * h22 - h21 * h21 <= _SINGULAR * h11 * h22
        h11 += _SIGMA
        h22 += _SIGMA
        if not singular:
            det = h11 * h22 - h21 * h21
            d_a = -(h22 * g1 - h21 * g2) / det
            d_b = -(-h21 * g1 + h11 * g2) / det
        else:
            d_a, d_b = 0.0, -g2 / h22
        gd = g1 * d_a + g2 * d_b

        # The full step usually passes: evaluate it together with the derivatives the next
        # iteration needs, and backtrack with the objective alone only if it fails.
        new_a, new_b = big_a + d_a, big_b + d_b
        trial = _derivatives(new_a, new_b, f, w)
        change = d_a * stf + d_b * st + sum(map(operator.sub, trial[5], u))
        if change < _ARMIJO * gd:
            big_a, big_b = new_a, new_b
            swp, sfwp, h11, h22, h21, u = trial
            g1, g2 = stf - sfwp, st - swp
            continue
        step = 0.5
        while step >= _MIN_STEP:
            new_a, new_b = big_a + step * d_a, big_b + step * d_b
            change = step * (d_a * stf + d_b * st) + _softplus_change(new_a, new_b, f, w, u)
            if change < _ARMIJO * step * gd:
                break
            step *= 0.5
        if step < _MIN_STEP:
            break  # line search failed: keep the last accepted point, as libsvm does
        big_a, big_b = new_a, new_b
        swp, sfwp, h11, h22, h21, u = _derivatives(big_a, big_b, f, w)
        g1, g2 = stf - sfwp, st - swp
    fval = big_a * stf + big_b * st + math.fsum(u)
    return big_a, big_b, fval, iterations
