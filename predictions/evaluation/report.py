"""The evaluation's figures, from the replay's records alone (pure arithmetic, no database).

Definitions (``n`` predictions; label = accepted 1.0, edited 0.5, rejected 0.0, as for
calibration, so an edited answer counts half right in every precision and risk):
- ``top1_accepted``: share of predictions whose top candidate the judge accepted;
- ``topk_hit``: share where any of the (up to k) candidates was accepted;
- ``mean_f1``: mean token F1 of the top candidate against the real reply (0 without one);
- ``brier`` and ``ece`` (10 equal-width bins) of the raw confidence and of the calibrated
  confidence, both as they were at prediction time (the calibration then in force:
  prequential, never fitted on the answer it is judged on);
- ``threshold``: predictions whose calibrated confidence is at least the threshold are answered
  automatically; ``coverage`` is their share, ``precision`` their mean label;
- ``coverage_at_precision``: the largest share answerable automatically, taking predictions in
  decreasing order of confidence, with a mean label of at least 0.9 (``metrics``);
- ``aurc``: area under the risk-coverage curve (lower is better);
- baselines: ``top1_accepted`` and ``mean_f1`` of the baselines' single answer;
- ``periods``: the predictions cut in ``PERIODS`` consecutive parts in time order, each with
  its top-1 accepted rate, calibrated ECE and what the threshold does: how the figures move
  as the history (and the calibration) grows, the first part being the cold start;
- ``automatic``: what the service actually answered by itself (``status`` auto, after the
  thin-evidence rule, the never-auto list and the audit sample): count, precision, its 95%
  Wilson interval, wrong automatic answers among the first 30 predictions; ``audited``: the
  same for the audit sample (would have been automatic, asked instead); ``escalation_reasons``:
  how many predictions were escalated for each reason;
- ``breakdown``: those figures (with top-1) per agent and per request type (the tool's name,
  else the question's first line with digits as ``#``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from predictions import metrics
from predictions.calibration import label_for
from predictions.confidence import AUDIT, wilson
from predictions.evaluation.replay import BASELINES, Record

PRECISION_TARGET = 0.9
BINS = 10
# The acceptance targets of issue 5 on the 30-day demo history.
TARGET_ECE = 0.05
TARGET_COVERAGE = 0.4
PERIODS = 4


def _confidence_figures(confidences: list[float], labels: list[float]) -> dict[str, Any]:
    return {
        "brier": metrics.brier(probs=confidences, labels=labels),
        "ece": metrics.ece(probs=confidences, labels=labels, bins=BINS),
        "aurc": metrics.aurc(confidences=confidences, correct=labels),
        "coverage_at_precision": metrics.coverage_at_precision(
            confidences=confidences, correct=labels, precision=PRECISION_TARGET
        ),
    }


def _periods(records: Sequence[Record], threshold: float) -> list[dict[str, Any]]:
    n = len(records)
    periods = []
    for part in range(PERIODS if n >= PERIODS else 0):
        start, end = n * part // PERIODS, n * (part + 1) // PERIODS
        chunk = records[start:end]
        labels = [label_for(r.outcome) for r in chunk]
        confidences = [r.confidence for r in chunk]
        auto = metrics.selective(confidences=confidences, correct=labels, threshold=threshold)
        periods.append(
            {
                "first": start + 1,
                "last": end,
                "top1_accepted": metrics.mean([float(r.outcome == "accepted") for r in chunk]),
                "ece_calibrated": metrics.ece(probs=confidences, labels=labels, bins=BINS),
                "threshold_coverage": auto["coverage"],
                "threshold_precision": auto["precision"],
            }
        )
    return periods


FIRST = 30


def request_type(record: Record) -> str:
    """The tool's name, else the question's first line with digits as ``#`` (its template)."""
    tool = getattr(record, "tool", None)
    if isinstance(tool, dict) and tool.get("name"):
        return str(tool["name"])
    first = (record.prompt or "").strip().splitlines()[0] if (record.prompt or "").strip() else ""
    return re.sub(r"\d+", "#", first)[:80] or "(empty)"


def _precision(labels: list[float]) -> dict[str, Any]:
    interval = wilson(successes=sum(labels), n=len(labels))
    return {
        "n": len(labels),
        "precision": metrics.mean(labels),
        "interval": list(interval) if interval else None,
    }


def _automatic(records: Sequence[Record]) -> dict[str, Any]:
    auto = [label_for(r.outcome) for r in records if r.status == "auto"]
    audited = [
        label_for(r.outcome) for r in records if getattr(r, "escalation_reason", "") == AUDIT
    ]
    return {
        "automatic": _precision(auto)
        | {
            "wrong_in_first_30": sum(
                1 for r in records[:FIRST] if r.status == "auto" and r.outcome != "accepted"
            )
        },
        "audited": _precision(audited),
    }


def _breakdown(records: Sequence[Record], key) -> dict[str, Any]:
    groups: dict[str, list[Record]] = {}
    for record in records:
        groups.setdefault(key(record), []).append(record)
    return {
        name: {
            "predictions": len(group),
            "top1_accepted": metrics.mean([float(r.outcome == "accepted") for r in group]),
            **_automatic(group),
        }
        for name, group in sorted(groups.items(), key=lambda g: (-len(g[1]), g[0]))
    }


def report_build(*, records: Sequence[Record], threshold: float = 0.8) -> dict[str, Any]:
    """Every figure of the evaluation, JSON-serialisable (definitions in the module docstring).

    Figures that need data are ``None`` when there is none (no predictions, or no automatic
    answer for ``threshold``'s precision).
    """
    labels = [label_for(r.outcome) for r in records]
    raw = [r.raw_confidence for r in records]
    calibrated = [r.confidence for r in records]
    outcomes = Counter({"accepted": 0, "edited": 0, "rejected": 0})
    outcomes.update(r.outcome for r in records)
    auto = metrics.selective(confidences=calibrated, correct=labels, threshold=threshold)
    raw_figures = _confidence_figures(raw, labels)
    calibrated_figures = _confidence_figures(calibrated, labels)
    report: dict[str, Any] = {
        "predictions": len(records),
        "accuracy": {
            "top1_accepted": metrics.mean([float(r.outcome == "accepted") for r in records]),
            "topk_hit": metrics.mean([float(r.topk_hit) for r in records]),
            "mean_f1": metrics.mean([r.f1 for r in records]),
            "outcomes": dict(outcomes),
        },
        "confidence": {"raw": raw_figures, "calibrated": calibrated_figures},
        "threshold": {"value": threshold, **auto},
        "baselines": {
            name: {
                "top1_accepted": metrics.mean(
                    [float(r.baselines[name]["outcome"] == "accepted") for r in records]
                ),
                "mean_f1": metrics.mean([r.baselines[name]["f1"] for r in records]),
            }
            for name in BASELINES
        },
        "periods": _periods(records, threshold),
        "reliability": {
            "raw": metrics.reliability(probs=raw, labels=labels, bins=BINS),
            "calibrated": metrics.reliability(probs=calibrated, labels=labels, bins=BINS),
        },
        "risk_coverage": {
            "raw": metrics.risk_coverage(confidences=raw, correct=labels),
            "calibrated": metrics.risk_coverage(confidences=calibrated, correct=labels),
        },
    }
    report.update(_automatic(records))
    report["escalation_reasons"] = dict(
        Counter(
            getattr(r, "escalation_reason", "") or "unknown" for r in records if r.status != "auto"
        )
    )
    report["breakdown"] = {
        "by_agent": _breakdown(records, lambda r: r.agent or "(none)"),
        "by_request_type": _breakdown(records, request_type),
    }
    ece = calibrated_figures["ece"]
    report["targets"] = {
        "calibrated_ece_below": TARGET_ECE,
        "calibrated_ece_met": ece is not None and ece < TARGET_ECE,
        "threshold_coverage_at_least": TARGET_COVERAGE,
        "threshold_precision_at_least": PRECISION_TARGET,
        "threshold_met": (
            auto["coverage"] is not None
            and auto["precision"] is not None
            and auto["coverage"] >= TARGET_COVERAGE
            and auto["precision"] >= PRECISION_TARGET - metrics.PRECISION_SLACK
        ),
    }
    return report


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _automatic_line(title: str, figures: dict[str, Any]) -> str:
    interval = figures["interval"]
    return (
        f"{title}: {figures['n']}, precision {_fmt(figures['precision'])}"
        + (f" (95% {interval[0]:.2f}-{interval[1]:.2f})" if interval else "")
        + (
            f", wrong in the first {FIRST}: {figures['wrong_in_first_30']}"
            if "wrong_in_first_30" in figures
            else ""
        )
    )


def report_table(report: dict[str, Any]) -> str:
    """The report as a plain-text table (what ``evaluate`` prints)."""
    acc = report["accuracy"]
    raw, cal = report["confidence"]["raw"], report["confidence"]["calibrated"]
    auto = report["threshold"]
    outcomes = acc["outcomes"]
    lines = [
        f"Predictions: {report['predictions']}  (accepted {outcomes['accepted']}, "
        f"edited {outcomes['edited']}, rejected {outcomes['rejected']})",
        "",
        f"{'accuracy':<34}{'Clone':>10}{'most frequent':>15}{'most similar':>14}",
    ]
    base = report["baselines"]
    lines.append(
        f"{'top-1 accepted rate':<34}{_fmt(acc['top1_accepted']):>10}"
        f"{_fmt(base['most_frequent']['top1_accepted']):>15}"
        f"{_fmt(base['most_similar']['top1_accepted']):>14}"
    )
    lines.append(
        f"{'mean token F1':<34}{_fmt(acc['mean_f1']):>10}"
        f"{_fmt(base['most_frequent']['mean_f1']):>15}"
        f"{_fmt(base['most_similar']['mean_f1']):>14}"
    )
    lines.append(f"{'top-k hit rate':<34}{_fmt(acc['topk_hit']):>10}{'-':>15}{'-':>14}")
    lines += ["", f"{'confidence':<34}{'raw':>10}{'calibrated':>15}"]
    for name, key in (("Brier score", "brier"), ("ECE (10 bins)", "ece"), ("AURC", "aurc")):
        lines.append(f"{name:<34}{_fmt(raw[key]):>10}{_fmt(cal[key]):>15}")
    lines.append(
        f"{'coverage at precision 0.9':<34}"
        f"{_fmt(raw['coverage_at_precision']['coverage']):>10}"
        f"{_fmt(cal['coverage_at_precision']['coverage']):>15}"
    )
    lines += [
        "",
        f"At threshold {auto['value']:g} (calibrated): coverage {_fmt(auto['coverage'])}, "
        f"precision {_fmt(auto['precision'])} ({auto['n_auto']} answered automatically)",
    ]
    if report["periods"]:
        lines += [
            "",
            f"{'by part of the replay (time order)':<34}{'top-1':>10}{'ECE cal.':>10}"
            f"{'coverage':>10}{'precision':>11}",
        ]
        for period in report["periods"]:
            lines.append(
                f"{'predictions ' + str(period['first']) + '-' + str(period['last']):<34}"
                f"{_fmt(period['top1_accepted']):>10}{_fmt(period['ece_calibrated']):>10}"
                f"{_fmt(period['threshold_coverage']):>10}{_fmt(period['threshold_precision']):>11}"
            )
    lines += ["", _automatic_line("Answered automatically", report["automatic"])]
    lines.append(_automatic_line("Audit sample (asked instead)", report["audited"]))
    if report["escalation_reasons"]:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(report["escalation_reasons"].items()))
        lines.append(f"Escalated: {reasons}")
    for title, key in (("agent", "by_agent"), ("request type", "by_request_type")):
        rows = report["breakdown"][key]
        lines += [
            "",
            f"{'by ' + title:<34}{'n':>6}{'top-1':>8}{'auto':>6}{'precision':>11}  95% interval",
        ]
        for name, row in list(rows.items())[:12]:
            auto = row["automatic"]
            interval = auto["interval"]
            lines.append(
                f"{name[:33]:<34}{row['predictions']:>6}{_fmt(row['top1_accepted']):>8}"
                f"{auto['n']:>6}{_fmt(auto['precision']):>11}  "
                + (f"{interval[0]:.2f}-{interval[1]:.2f}" if interval else "-")
            )
    targets = report["targets"]
    lines.append("")
    lines.append(
        f"Targets: calibrated ECE < {targets['calibrated_ece_below']:g}: "
        f"{'met' if targets['calibrated_ece_met'] else 'missed'}; coverage >= "
        f"{targets['threshold_coverage_at_least']:g} at precision >= "
        f"{targets['threshold_precision_at_least']:g}: "
        f"{'met' if targets['threshold_met'] else 'missed'}"
    )
    return "\n".join(lines)
