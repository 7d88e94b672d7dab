"""The evaluation plot: reliability diagram and risk-coverage curve, side by side, as a PNG.

matplotlib is an optional extra (``pip install -e '.[plot]'``); without it ``plot_write``
raises ``PlotUnavailable`` with that instruction, and nothing else of the evaluation needs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class PlotUnavailable(RuntimeError):
    """matplotlib is not installed."""


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise PlotUnavailable(
            "--plot needs matplotlib, the optional 'plot' extra: pip install -e '.[plot]'"
        ) from None
    matplotlib.use("Agg")  # files only: never opens a window or needs a display
    from matplotlib import pyplot

    return pyplot


def plot_check() -> None:
    """Raise ``PlotUnavailable`` now if ``plot_write`` could not work (no matplotlib)."""
    _pyplot()


def plot_write(*, report: dict[str, Any], path: str | Path, title: str = "") -> None:
    """Write the reliability diagram (calibrated and raw confidence, bars of the bin counts)
    and the risk-coverage curves to ``path`` (PNG)."""
    plt = _pyplot()
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.6), dpi=110)
    try:
        left.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=1, label="perfect")
        for kind, style in (("calibrated", "o-"), ("raw", "s:")):
            bins = [b for b in report["reliability"][kind] if b["count"]]
            ece = report["confidence"][kind]["ece"]
            left.plot(
                [b["mean_confidence"] for b in bins],
                [b["mean_label"] for b in bins],
                style,
                label=f"{kind} (ECE {ece:.3f})" if ece is not None else kind,
            )
        counts = report["reliability"]["calibrated"]
        total = max(1, sum(b["count"] for b in counts))
        left.bar(
            [(b["lower"] + b["upper"]) / 2 for b in counts],
            [b["count"] / total for b in counts],
            width=0.09,
            color="0.85",
            label="share of predictions (calibrated)",
            zorder=0,
        )
        left.set(
            xlim=(0, 1),
            ylim=(0, 1),
            xlabel="confidence",
            ylabel="observed correctness (mean label)",
            title="Reliability",
        )
        left.legend(loc="upper left", fontsize=8)

        for kind, style in (("calibrated", "-"), ("raw", ":")):
            points = report["risk_coverage"][kind]
            if points:
                right.step(
                    [0.0] + [c for c, _ in points],
                    [points[0][1]] + [r for _, r in points],
                    style,
                    where="post",
                    label=f"{kind} (AURC {report['confidence'][kind]['aurc']:.3f})",
                )
        right.axhline(0.1, color="0.6", linestyle="--", linewidth=1, label="risk 0.1")
        auto = report["threshold"]
        if auto["coverage"] is not None and auto["precision"] is not None:
            right.plot(
                [auto["coverage"]],
                [1 - auto["precision"]],
                "k*",
                markersize=10,
                label=f"threshold {auto['value']:g}",
            )
        right.set(
            xlim=(0, 1),
            ylim=(0, 1),
            xlabel="coverage (share answered automatically)",
            ylabel="risk (1 - precision)",
            title="Risk-coverage",
        )
        right.legend(loc="upper left", fontsize=8)
        if title:
            figure.suptitle(title, fontsize=10)
        figure.tight_layout()
        figure.savefig(path, format="png")
    finally:
        plt.close(figure)
