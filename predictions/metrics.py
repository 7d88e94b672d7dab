"""Confidence metrics for the stats endpoint and the evaluate command (pure Python).

Labels and "correct" values are numbers in [0, 1], not just booleans: a prediction's label is
accepted 1.0, edited 0.5, rejected 0.0 (``calibration.label_for``), so an edited prediction
counts as half right. Every mean below is a plain mean of those numbers: "precision" is the mean
label of the predictions a threshold lets through, "risk" is one minus it.

Every function returns ``None`` (or an empty list) where a figure is undefined because there is
no data, and raises ``ValueError`` on malformed input (different lengths, probabilities or labels
outside [0, 1], non-finite confidences): callers pass stored, validated values, so a
``ValueError`` here is a bug upstream, never a user error.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

# Slack when comparing a selective precision with a target, so that e.g. 9 right out of 10
# meets a 0.9 target whatever the order of the additions.
PRECISION_SLACK = 1e-12


def mean(values: Sequence[float]) -> float | None:
    """The arithmetic mean; ``None`` for no values."""
    return sum(values) / len(values) if values else None


def brier(*, probs: Sequence[float], labels: Sequence[float]) -> float | None:
    """Mean squared difference between probability and label; ``None`` for no data."""
    p, y = _unit_pairs(probs, labels, "probs")
    if not p:
        return None
    return math.fsum((pi - yi) ** 2 for pi, yi in zip(p, y, strict=True)) / len(p)


def ece(*, probs: Sequence[float], labels: Sequence[float], bins: int = 10) -> float | None:
    """Expected calibration error over equal-width bins; ``None`` for no data.

    ``ECE = sum_b (n_b / N) * |mean_confidence_b - mean_label_b|``, where a probability ``p``
    falls in bin ``min(bins-1, floor(bins*p))`` (so ``p = 1.0`` is in the last bin and
    ``p = 0.0`` in the first). Computed as ``sum_b |sum_confidence_b - sum_label_b| / N``,
    the same quantity.
    """
    p, y = _unit_pairs(probs, labels, "probs")
    if not p:
        return None
    _counts, sum_p, sum_y = _binned(p, y, bins)
    return math.fsum(abs(sp - sy) for sp, sy in zip(sum_p, sum_y, strict=True)) / len(p)


def reliability(*, probs: Sequence[float], labels: Sequence[float], bins: int = 10) -> list[dict]:
    """The reliability diagram: one entry per bin, always ``bins`` entries, in bin order.

    Each entry is ``{"bin", "lower", "upper", "count", "mean_confidence", "mean_label"}``;
    bins as in ``ece``. An empty bin has ``count`` 0 and both means ``None``.
    """
    p, y = _unit_pairs(probs, labels, "probs")
    counts, sum_p, sum_y = _binned(p, y, bins)
    return [
        {
            "bin": i,
            "lower": i / bins,
            "upper": (i + 1) / bins,
            "count": counts[i],
            "mean_confidence": sum_p[i] / counts[i] if counts[i] else None,
            "mean_label": sum_y[i] / counts[i] if counts[i] else None,
        }
        for i in range(bins)
    ]


def risk_coverage(
    *, confidences: Sequence[float], correct: Sequence[float]
) -> list[tuple[float, float]]:
    """The risk-coverage curve, one ``(coverage, risk)`` point per distinct confidence.

    Predictions are taken in decreasing order of confidence. A threshold ``c`` lets through
    every prediction with confidence ``>= c``, so predictions that tie on confidence are never
    split: the curve has one point per distinct confidence value, in decreasing order of
    confidence (increasing coverage), with ``coverage = n_through / N`` and
    ``risk = 1 - mean(correct of those let through)``. The result does not depend on the input
    order. Empty input gives ``[]``.
    """
    return [(coverage, 1.0 - prec) for _c, coverage, prec, _k in _curve(confidences, correct)]


def aurc(*, confidences: Sequence[float], correct: Sequence[float]) -> float | None:
    """Area under the risk-coverage curve (lower is better); ``None`` for no data.

    Exactly: ``AURC = sum_j (coverage_j - coverage_{j-1}) * risk_j`` over the points of
    ``risk_coverage`` with ``coverage_0 = 0``, i.e. the area under the step curve that holds
    each point's risk over the coverage its tie group adds. Without ties this is the usual
    ``(1/N) * sum_{k=1..N} risk(top k)`` (Geifman et al., 2019).
    """
    points = _curve(confidences, correct)
    if not points:
        return None
    area = []
    previous = 0.0
    for _c, coverage, prec, _k in points:
        area.append((coverage - previous) * (1.0 - prec))
        previous = coverage
    return math.fsum(area)


def coverage_at_precision(
    *, confidences: Sequence[float], correct: Sequence[float], precision: float = 0.9
) -> dict:
    """The largest coverage whose selective precision reaches ``precision``, and its threshold.

    Returns ``{"target", "coverage", "threshold", "precision", "n_auto"}``: ``threshold`` is
    the lowest confidence let through (``selective(threshold=threshold)`` reproduces the same
    coverage and precision), ``precision`` the precision actually achieved. When no threshold
    reaches the target: coverage 0.0, ``threshold`` and ``precision`` None, ``n_auto`` 0. For no
    data, coverage is None as well.
    """
    if not (isinstance(precision, int | float) and 0.0 <= precision <= 1.0):
        raise ValueError("precision must be a number in [0, 1].")
    points = _curve(confidences, correct)
    best = {
        "target": precision,
        "coverage": 0.0 if points else None,
        "threshold": None,
        "precision": None,
        "n_auto": 0,
    }
    for threshold, coverage, achieved, n_auto in points:
        if achieved >= precision - PRECISION_SLACK:
            best.update(coverage=coverage, threshold=threshold, precision=achieved, n_auto=n_auto)
    return best


def selective(*, confidences: Sequence[float], correct: Sequence[float], threshold: float) -> dict:
    """What a threshold does: predictions with confidence ``>= threshold`` go out on their own.

    Returns ``{"coverage", "precision", "n_auto"}``: ``n_auto`` of them pass, ``coverage`` is
    ``n_auto / N`` (None for no data) and ``precision`` their mean correctness (None when none
    pass).
    """
    c, y = _pairs(confidences, correct)
    if not math.isfinite(threshold):
        raise ValueError("threshold must be a finite number.")
    through = [yi for ci, yi in zip(c, y, strict=True) if ci >= threshold]
    n_auto = len(through)
    return {
        "coverage": n_auto / len(c) if c else None,
        "precision": math.fsum(through) / n_auto if n_auto else None,
        "n_auto": n_auto,
    }


def _curve(
    confidences: Sequence[float], correct: Sequence[float]
) -> list[tuple[float, float, float, int]]:
    """``(threshold, coverage, precision, n_through)`` per distinct confidence, highest first."""
    c, y = _pairs(confidences, correct)
    n = len(c)
    order = sorted(range(n), key=lambda i: -c[i])
    points: list[tuple[float, float, float, int]] = []
    total = 0.0
    for rank, i in enumerate(order, start=1):
        total += y[i]
        # Close a tie group only at its last member: a threshold cannot split a tie.
        if rank == n or c[order[rank]] != c[i]:
            points.append((c[i], rank / n, total / rank, rank))
    return points


def _binned(
    p: list[float], y: list[float], bins: int
) -> tuple[list[int], list[float], list[float]]:
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ValueError("bins must be a positive integer.")
    counts = [0] * bins
    sum_p = [0.0] * bins
    sum_y = [0.0] * bins
    last = bins - 1
    for pi, yi in zip(p, y, strict=True):
        i = min(last, math.floor(bins * pi))
        counts[i] += 1
        sum_p[i] += pi
        sum_y[i] += yi
    return counts, sum_p, sum_y


def _pairs(xs: Sequence[float], ys: Sequence[float]) -> tuple[list[float], list[float]]:
    """Finite confidences and labels in [0, 1], as float lists of equal length."""
    if len(xs) != len(ys):
        raise ValueError("confidences and labels must have the same length.")
    x = [float(v) for v in xs]
    y = [float(v) for v in ys]
    if not all(math.isfinite(v) for v in x):
        raise ValueError("confidences must be finite numbers.")
    if not all(0.0 <= v <= 1.0 for v in y):
        raise ValueError("labels must lie in [0, 1].")
    return x, y


def _unit_pairs(
    xs: Sequence[float], ys: Sequence[float], name: str
) -> tuple[list[float], list[float]]:
    x, y = _pairs(xs, ys)
    if not all(0.0 <= v <= 1.0 for v in x):
        raise ValueError(f"{name} must lie in [0, 1].")
    return x, y
