"""When Clone may answer by itself: the calibrated confidence on thin evidence, the audit sample,
the never-auto list, and the decision with its reason. Pure functions; the maths is in
``docs/confidence.md``.

- :func:`calibrated` applies the user's Platt calibration shrunk toward a conservative prior
  while it rests on few labels: ``w * platt(x) + (1 - w) * min(x, c)`` with
  ``w = n / (n + PRIOR_LABELS)`` and ``c`` the evidence cap of the candidate (``PRIOR_CAP`` when
  it has none); then caps it at ``c``.
- :func:`auto_decision` gives the status and, when escalated, the reason: ``never_auto`` (the
  request matches one of the person's never-auto patterns), ``thin_evidence`` (fewer than
  ``min_labels`` labelled answers, or the evidence cap is what kept it below the threshold),
  ``below_threshold``, ``audit`` (would have been automatic, sampled to keep precision
  measured).
- :func:`audit_selected` is deterministic per prediction id: ``sha256("audit:<id>")`` read as a
  number in [0, 1) below the rate.
- :func:`wilson` is the 95% Wilson score interval of a proportion.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from memories import person_settings
from predictions.calibration import METHOD_PLATT, Calibration

AUTO = "auto"
ESCALATED = "escalated"
BELOW_THRESHOLD = "below_threshold"
THIN_EVIDENCE = "thin_evidence"
NEVER_AUTO = "never_auto"
AUDIT = "audit"
REASONS = (BELOW_THRESHOLD, THIN_EVIDENCE, NEVER_AUTO, AUDIT)

# A Platt fit on n labels counts as much as PRIOR_LABELS labels of the prior at n = PRIOR_LABELS.
PRIOR_LABELS = 10
# The prior: without calibration evidence, a raw confidence is taken at its word up to its
# evidence cap, or, for a candidate without one (a model's or the text predictor's score), up to
# PRIOR_CAP: whatever a provider says, an uncalibrated score is not a certainty.
PRIOR_CAP = 0.89

# The confidence a request needs when neither it nor the person's settings name one.
DEFAULT_THRESHOLD = 0.8

# The default list lives with the person's settings, which can replace it.
DEFAULT_NEVER_AUTO = person_settings.DEFAULT_NEVER_AUTO


@dataclass(frozen=True)
class Decision:
    status: str
    reason: str | None  # None when automatic


def calibrated(*, calibration: Calibration, raw: float, cap: float | None = None) -> float:
    """The calibrated confidence of a raw one: Platt shrunk toward the prior by its label count,
    then at most ``cap`` (the evidence the candidate rests on; None: no cap). In [0, 1]."""
    raw = min(1.0, max(0.0, raw if math.isfinite(raw) else 0.0))
    prior = min(raw, PRIOR_CAP if cap is None else cap)
    if calibration.method == METHOD_PLATT:
        n = max(0, calibration.n)
        weight = n / (n + PRIOR_LABELS)
        value = weight * calibration.apply(raw) + (1 - weight) * prior
    else:
        value = prior
    if cap is not None:
        value = min(value, cap)
    return min(1.0, max(0.0, value))


def never_auto_match(
    *, patterns: Iterable[str], text: str, tool: dict[str, Any] | None = None
) -> str | None:
    """The first pattern found in the request (its text, tool name and tool input), else None.
    A pattern that is not a valid regular expression is matched as plain text."""
    haystack = [text or ""]
    if isinstance(tool, dict):
        haystack.append(str(tool.get("name") or ""))
        tool_input = tool.get("input")
        if isinstance(tool_input, dict):
            haystack.extend(str(v) for v in tool_input.values())
        elif tool_input is not None:
            haystack.append(str(tool_input))
    subject = "\n".join(haystack)
    for pattern in patterns:
        if not isinstance(pattern, str) or not pattern.strip():
            continue
        try:
            found = re.search(pattern, subject, re.IGNORECASE) is not None
        except re.error:
            found = pattern.casefold() in subject.casefold()
        if found:
            return pattern
    return None


def audit_selected(*, prediction_id: int | str, rate: float) -> bool:
    """Whether this prediction is in the audit sample: the same answer for the same id."""
    if rate <= 0:
        return False
    digest = hashlib.sha256(f"audit:{prediction_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


def auto_decision(
    *,
    has_candidate: bool,
    confidence: float,
    threshold: float,
    labels: int,
    min_labels: int,
    uncapped: float | None = None,
    never_auto: str | None = None,
) -> Decision:
    """Automatic only when there is a candidate, nothing on the never-auto list matches, the
    person has at least ``min_labels`` labelled answers and ``confidence >= threshold``.
    ``uncapped`` is the confidence before the evidence cap: when it reached the threshold and
    the capped one did not, the reason is ``thin_evidence``. (The audit sample is drawn after the
    prediction has an id: :func:`audit_selected`.)"""
    if never_auto:
        return Decision(ESCALATED, NEVER_AUTO)
    if not has_candidate:
        return Decision(ESCALATED, BELOW_THRESHOLD)
    if confidence >= threshold:
        if labels < min_labels:
            return Decision(ESCALATED, THIN_EVIDENCE)
        return Decision(AUTO, None)
    if uncapped is not None and uncapped >= threshold:
        return Decision(ESCALATED, THIN_EVIDENCE)
    return Decision(ESCALATED, BELOW_THRESHOLD)


def wilson(*, successes: float, n: int, z: float = 1.96) -> tuple[float, float] | None:
    """The Wilson score interval of ``successes / n`` (None when ``n`` is 0). ``successes`` may
    be fractional (an edited answer counts half)."""
    if n <= 0:
        return None
    p = min(1.0, max(0.0, successes / n))
    denominator = 1 + z * z / n
    centre = p + z * z / (2 * n)
    margin = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (max(0.0, (centre - margin) / denominator), min(1.0, (centre + margin) / denominator))
