"""The session's charts as PNG bytes: one colour per model and per baseline everywhere, time
on the x axis, units on the y axis."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import matplotlib.dates as mdates
import numpy as np
import pandas as pd

# Figures are built without pyplot: no global backend is chosen or changed (a notebook that
# imports these charts keeps its inline plots) and no figure is left open in a long process.
from matplotlib.figure import Figure

from rl_pipeline.backtest.trades import EquityCurve

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
    # the update rules (a campaign's learning curve) and the best model in hindsight
    "binary": "#e377c2",
    "pnl_scaled": "#17becf",
    "hedge": "#bcbd22",
    "fixed_share": "#000000",
    "best_in_hindsight": "#555555",
}
STYLES = {"static_initial": "--", "static": "--", "equal": "--", "best_in_hindsight": ":"}
WIDTHS = {"adaptive": 2.4}
ENSEMBLE_LABELS = {
    "adaptive": "ensemble, adaptive weights",
    "static_initial": "ensemble, static weights",
    "equal": "ensemble, equal weights",
}


ChartCall = tuple[Callable[..., bytes], tuple[Any, ...]]


def draw(call: ChartCall) -> bytes:
    """One chart from ``(chart function, its arguments)``: a task any executor can run (a
    session's charts are drawn side by side on the workers its fits used)."""
    chart, args = call
    return chart(*args)


def color(name: str) -> str | None:
    return COLORS.get(name.removeprefix("rule:"))


def png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return buffer.getvalue()


def _time_axis(ax, label: str = "time (UTC)") -> None:
    # minticks=3: with the default 5, ranges of a few days fall back to hourly ticks that
    # exceed maxticks (matplotlib then warns and picks an arbitrary interval).
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlabel(label)
    ax.grid(alpha=0.3)


def _legend(ax) -> None:
    """Beside the plot, never over the lines."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)


def _times(ts: np.ndarray) -> np.ndarray:
    # Plain datetime64 in UTC (the axis says so): matplotlib converts these as one array,
    # where a timezone-aware index goes through a Python object per point.
    return np.asarray(ts, dtype=np.int64).astype("datetime64[s]")


def _parsed_times(values) -> np.ndarray:
    """ISO 8601 texts (any offset) as plain UTC datetime64."""
    return pd.to_datetime(list(values), utc=True).tz_convert(None).to_numpy()


def _curves_chart(
    curves: dict[str, EquityCurve],
    title: str,
    ylabel: str,
    values,
    height: float,
    faint: frozenset[str] = frozenset(),
    labels: dict[str, str] | None = None,
) -> bytes:
    """One line per named curve of ``values(curve)`` over time; ``faint`` ones thin and pale."""
    fig = Figure(figsize=(9, height))
    ax = fig.subplots()
    for name, curve in curves.items():
        if len(curve.ts):
            ax.plot(
                _times(curve.ts),
                values(curve),
                STYLES.get(name, "-"),
                color=color(name),
                linewidth=0.9 if name in faint else WIDTHS.get(name, 1.2),
                alpha=0.4 if name in faint else 1.0,
                label=(labels or {}).get(name, name),
            )
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    _time_axis(ax)
    _legend(ax)
    return png(fig)


def equity_chart(curves: dict[str, EquityCurve], title: str) -> bytes:
    """Mark-to-market equity of each named curve."""
    return _curves_chart(curves, title, "equity (account currency)", lambda c: c.equity, 3.8)


def ensemble_chart(ensembles: dict[str, EquityCurve], models: dict[str, EquityCurve]) -> bytes:
    """The ensemble's equity on adaptive, static and equal weights, each model faintly behind."""
    return _curves_chart(
        {**models, **ensembles},
        "ensemble equity: adaptive vs static vs equal weights (models faint)",
        "equity (account currency)",
        lambda c: c.equity,
        3.8,
        faint=frozenset(models),
        labels=ENSEMBLE_LABELS,
    )


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
    fig = Figure(figsize=(9, 3.2))
    ax = fig.subplots()
    times = np.concatenate((_times(np.array([start_ts])), _parsed_times(update_times)))
    vectors = np.asarray(vectors, dtype=np.float64)
    for j, model in enumerate(models):
        ax.step(times, vectors[: len(times), j], where="post", color=color(model), label=model)
    ax.set_title("model weights through the session")
    ax.set_ylabel("weight (share of the vote)")
    ax.set_ylim(0, 1)
    _time_axis(ax)
    _legend(ax)
    return png(fig)


def campaign_chart(curve: pd.DataFrame, strategies: list[str]) -> bytes:
    """Cumulative P&L after each session of a campaign (``test_end`` on x), per strategy."""
    fig = Figure(figsize=(9, 3.8))
    ax = fig.subplots()
    ends = _parsed_times(curve["test_end"])
    for name in strategies:
        ax.plot(
            ends,
            curve[name],
            STYLES.get(name, "-"),
            marker="o",
            markersize=3,
            color=color(name),
            label=name.removeprefix("rule:"),
        )
    ax.axhline(0.0, color="grey", linewidth=0.5)
    ax.set_title("campaign learning curve")
    ax.set_ylabel("cumulative P&L (account currency)")
    _time_axis(ax, "end of each session's test period (UTC)")
    _legend(ax)
    return png(fig)
