"""PNG plots for asset metadata (matplotlib, headless), embedded in Markdown."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402


def figure_markdown(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"![plot](data:image/png;base64,{encoded})"


def weight_evolution(update_times: list[str], vectors: list[list[float]], models: list[str]) -> str:
    """Each active model's weight after every update of the session."""
    times = pd.to_datetime(update_times, utc=True)
    frame = pd.DataFrame(vectors[1:], columns=models, index=times) if update_times else None
    fig, ax = plt.subplots(figsize=(8, 3.5))
    if frame is not None and len(frame):
        start = pd.DataFrame([vectors[0]], columns=models, index=[times[0]])
        pd.concat([start, frame]).plot(ax=ax, drawstyle="steps-post")
    ax.set_title("Model weights through the session")
    ax.set_ylabel("weight")
    return figure_markdown(fig)


def equity_curves(curves: dict[str, tuple[list[int], list[float]]]) -> str:
    """Mark-to-market equity of each model (and the ensemble) over the test period."""
    fig, ax = plt.subplots(figsize=(8, 3.5))
    for name, (ts, equity) in curves.items():
        ax.plot(pd.to_datetime(ts, unit="s", utc=True), equity, label=name)
    ax.set_title("Equity curves")
    ax.legend(loc="best", fontsize=8)
    return figure_markdown(fig)


def campaign_curve(curve: pd.DataFrame, strategies: list[str]) -> str:
    """Cumulative P&L after each session of a campaign, per strategy."""
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ends = pd.to_datetime(curve["test_end"], utc=True)
    for name in strategies:
        style = "--" if name in ("static", "equal") else ":" if name == "best_in_hindsight" else "-"
        ax.plot(ends, curve[name], style, marker="o", label=name.removeprefix("rule:"))
    ax.axhline(0.0, color="grey", linewidth=0.5)
    ax.set_title("Campaign learning curve")
    ax.set_xlabel("end of each session's test period (UTC)")
    ax.set_ylabel("cumulative P&L")
    ax.legend(loc="best", fontsize=8)
    fig.autofmt_xdate()
    return figure_markdown(fig)
