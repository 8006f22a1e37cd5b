"""The session's charts as PNG bytes: one colour per model and per baseline everywhere, time
on the x axis, units on the y axis."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from rl_pipeline.backtest.trades import EquityCurve  # noqa: E402

# The same colour for a model or a baseline in every chart of the project.
COLORS = {
    "trading_ai": "#1f77b4",
    "lava_ai": "#2ca02c",
    "lgbm_ai": "#9467bd",
    "mistral_ai": "#8c564b",
    "adaptive": "#d62728",
    "static_initial": "#7f7f7f",
    "static": "#7f7f7f",
    "equal": "#ff7f0e",
}
STYLES = {"static_initial": "--", "static": "--", "equal": "--"}
WIDTHS = {"adaptive": 2.4}


def color(name: str) -> str | None:
    return COLORS.get(name.removeprefix("rule:"))


def png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _time_axis(ax) -> None:
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(mdates.AutoDateLocator()))
    ax.set_xlabel("time (UTC)")
    ax.grid(alpha=0.3)


def _times(ts: np.ndarray) -> pd.DatetimeIndex:
    return pd.to_datetime(ts, unit="s", utc=True)


def _curves_chart(
    curves: dict[str, EquityCurve], title: str, ylabel: str, values, height: float
) -> bytes:
    """One line per named curve of ``values(curve)`` over time."""
    fig, ax = plt.subplots(figsize=(9, height))
    for name, curve in curves.items():
        if len(curve.ts):
            ax.plot(
                _times(curve.ts),
                values(curve),
                STYLES.get(name, "-"),
                color=color(name),
                linewidth=WIDTHS.get(name, 1.2),
                label=name,
            )
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    _time_axis(ax)
    ax.legend(loc="best", fontsize=8)
    return png(fig)


def equity_chart(curves: dict[str, EquityCurve], title: str) -> bytes:
    """Mark-to-market equity of each named curve."""
    return _curves_chart(curves, title, "equity (account currency)", lambda c: c.equity, 3.8)


def _drawdown_percent(curve: EquityCurve) -> np.ndarray:
    values = np.concatenate(([curve.starting_capital], curve.equity))
    peaks = np.maximum.accumulate(values)
    return (100.0 * (values - peaks) / peaks)[1:]


def drawdown_chart(curves: dict[str, EquityCurve], title: str) -> bytes:
    """Drawdown from the running peak, in percent."""
    return _curves_chart(curves, title, "drawdown (%)", _drawdown_percent, 2.8)


def weights_chart(
    start_ts: int, update_times: list[str], vectors: np.ndarray, models: list[str]
) -> bytes:
    """Each active model's weight through the session (a step after each update)."""
    fig, ax = plt.subplots(figsize=(9, 3.2))
    updates = pd.DatetimeIndex(pd.to_datetime(list(update_times), utc=True))
    times = _times(np.array([start_ts])).append(updates)
    vectors = np.asarray(vectors, dtype=np.float64)
    for j, model in enumerate(models):
        ax.step(times, vectors[: len(times), j], where="post", color=color(model), label=model)
    ax.set_title("model weights through the session")
    ax.set_ylabel("weight (share of the vote)")
    ax.set_ylim(0, 1)
    _time_axis(ax)
    ax.legend(loc="best", fontsize=8)
    return png(fig)
