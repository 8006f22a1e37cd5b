"""The self-contained HTML report of one session: everything inline (PNG charts as data URIs,
no script, no stylesheet or font from the network), readable offline."""

from __future__ import annotations

import base64
import html
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rl_pipeline.backtest.metrics import extra_metrics
from rl_pipeline.backtest.trades import EquityCurve
from rl_pipeline.parallel.executors import InProcessExecutor, TaskExecutor
from rl_pipeline.reporting import charts
from rl_pipeline.rl.weight_update import WeightPath

MAX_TRADE_ROWS = 2000
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.9em; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.yes { color: #1a7f37; font-weight: bold; } .no { color: #cf222e; font-weight: bold; }
.inconclusive { color: #9a6700; font-weight: bold; }
.note { color: #555; font-size: 0.9em; }
img { max-width: 100%; }
"""


@dataclass(frozen=True)
class ReportInputs:
    """What the report shows, as the session computed it."""

    session_id: str
    summary: dict[str, Any]
    ensemble_curves: dict[str, EquityCurve]
    model_curves: dict[str, EquityCurve]
    path: WeightPath
    test_start_ts: int
    test_end_ts: int
    trades: pd.DataFrame


def _img(data: bytes, alt: str) -> str:
    encoded = base64.b64encode(data).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}">'


def _cell(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.4f}"
    return html.escape(str(value))


def _table(rows: list[dict[str, Any]], cls: str = "") -> str:
    if not rows:
        return '<p class="note">none</p>'
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in r.values()) + "</tr>" for r in rows
    )
    return f'<table class="{cls}"><tr>{head}</tr>{body}</table>'


def _answer(answer: str) -> str:
    return f'<span class="{html.escape(answer)}">{html.escape(answer)}</span>'


def _verdict_row(name: str, v: dict[str, Any]) -> str:
    if v["ci_low"] is None:
        interval = "fewer than two days"
    else:
        interval = f"[{v['ci_low']:+,.2f}, {v['ci_high']:+,.2f}]"
    p_value = "n/a" if v["p_value"] is None else f"{v['p_value']:.3f}"
    mean = "n/a" if v["mean"] is None else f"{v['mean']:+,.2f}"
    return (
        f"<tr><td>{html.escape(name)}</td><td>{_answer(v['answer'])}</td><td>{mean}</td>"
        f"<td>{interval}</td><td>{p_value}</td><td>{v['days']}</td></tr>"
    )


def _utc(ts: int) -> str:
    return pd.Timestamp(ts, unit="s", tz="UTC").strftime("%Y-%m-%d %H:%M UTC")


def _draw_charts(inputs: ReportInputs, executor: TaskExecutor) -> dict[str, bytes]:
    """The report's charts, drawn as independent tasks on ``executor`` (the costliest first).
    On workers, this process draws the cheapest chart meanwhile instead of waiting."""
    both = {**inputs.ensemble_curves, **inputs.model_curves}
    calls: dict[str, charts.ChartCall] = {
        "equity": (charts.equity_chart, (both, "mark-to-market equity")),
        "drawdown": (charts.drawdown_chart, (both, "drawdown from the running peak")),
    }
    if inputs.path.active:
        calls["weights"] = (
            charts.weights_chart,
            (
                inputs.test_start_ts,
                list(inputs.path.update_times),
                np.asarray(inputs.path.vectors),
                list(inputs.path.active),
            ),
        )
    names, work = list(calls), list(calls.values())
    # (A pool runs a single task in the calling thread: never two matplotlib threads here.)
    if isinstance(executor, InProcessExecutor) or len(work) < 3:
        return dict(zip(names, executor.map(charts.draw, work), strict=True))
    with ThreadPoolExecutor(1) as waiting:
        elsewhere = waiting.submit(executor.map, charts.draw, work[:-1])
        here = charts.draw(work[-1])
        return dict(zip(names, [*elsewhere.result(), here], strict=True))


def render_session_report(inputs: ReportInputs, executor: TaskExecutor | None = None) -> str:
    """The whole page; its charts are drawn on ``executor`` (default: in this process)."""
    s, report = inputs.summary, inputs.summary.get("ensemble_report") or {}
    verdict = report.get("verdict", {})
    both = {**inputs.ensemble_curves, **inputs.model_curves}
    images = _draw_charts(inputs, executor or InProcessExecutor())
    headline = verdict.get("adaptive_minus_static", {}).get("answer", "n/a")
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>rl_pipeline session {html.escape(inputs.session_id)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Session {html.escape(inputs.session_id)}</h1>",
        f"<p>Tested {_utc(inputs.test_start_ts)} to {_utc(inputs.test_end_ts)}; rule "
        f"<b>{html.escape(str(report.get('rule')))}</b>, updates every "
        f"{html.escape(str(report.get('update_every')))}. Learning paid (adaptive against static "
        f"weights): {_answer(headline)}.</p>",
        "<h2>Equity: the ensemble on adaptive, static and equal weights, and each model</h2>",
        _img(
            images["equity"],
            f"equity of: {', '.join(name for name, c in both.items() if len(c.ts))}",
        ),
        "<h2>Drawdown</h2>",
        _img(images["drawdown"], "drawdown"),
        "<h2>Weights over time</h2>",
        _img(images["weights"], "weights")
        if inputs.path.active
        else '<p class="note">no active model</p>',
        "<h2>Verdict: did learning pay?</h2>",
        "<p class='note'>Paired block bootstrap of the daily P&amp;L differences: mean per day "
        "and 95 % interval; <i>yes</i> only when the interval lies above 0.</p>",
        "<table><tr><th>comparison</th><th>answer</th><th>mean / day</th><th>95 % interval</th>"
        "<th>p-value</th><th>days</th></tr>",
        *(_verdict_row(name.replace("_", " "), v) for name, v in verdict.items()),
        "</table>",
        "<h2>Rule tournament</h2>",
        "<p class='note'>The same signals replayed through every registered rule from the same "
        "start weights.</p>",
        _table(
            [
                {
                    "rule": e["rule"]
                    + (" (this session)" if e["rule"] == report.get("rule") else ""),
                    "trades": e.get("total_trades"),
                    "pnl": e.get("total_pnl"),
                    "sharpe": e.get("sharpe"),
                    "max drawdown": e.get("max_drawdown"),
                    "vs static": e.get("verdict", {})
                    .get("adaptive_minus_static", {})
                    .get("answer"),
                    "vs equal": e.get("verdict", {}).get("adaptive_minus_equal", {}).get("answer"),
                    "final weights": " ".join(
                        f"{m}={w:.3f}" for m, w in e.get("final_weights", {}).items() if w > 0
                    )
                    or e.get("error", ""),
                }
                for e in report.get("tournament", [])
            ]
        ),
        "<h2>Ensembles and models</h2>",
        _table(
            [
                {"strategy": f"ensemble, {name.replace('_', ' ')}", **m}
                for name, m in report.get("ensembles", {}).items()
            ]
            + [
                {"strategy": f"{name} alone", **m}
                for name, m in report.get("models_alone", {}).items()
            ]
        ),
        "<h2>Per-model metrics and weights</h2>",
        _table(
            [
                {
                    "model": m,
                    "trades": x["total_trades"],
                    "win rate": x["win_rate"],
                    "pnl": x["total_pnl"],
                    "sharpe": x["sharpe_ratio"],
                    "max drawdown": x["max_drawdown"],
                    **{e.label or e.name: x.get(e.name) for e in extra_metrics()},
                    "weight before": s.get("weights_before", {}).get(m),
                    "weight learned": s.get("weights_learned", {}).get(m),
                    "live after": s.get("weights_after", {}).get(m),
                }
                for m, x in s.get("metrics", {}).items()
            ]
        ),
        *(
            f"<p class='note'>{html.escape(m)} inactive: {html.escape(why)}</p>"
            for m, why in s.get("inactive_models", {}).items()
        ),
        *(
            f"<p class='note'>{html.escape(m)} did not act: {html.escape(why)}</p>"
            for m, why in s.get("not_acting_models", {}).items()
        ),
        f"<h2>Trades ({len(inputs.trades)})</h2>",
        _table(
            inputs.trades.head(MAX_TRADE_ROWS)[
                [
                    "ai_model_id",
                    "symbol",
                    "direction",
                    "entry_time",
                    "exit_time",
                    "entry_price",
                    "exit_price",
                    "pnl",
                    "pnl_percent",
                ]
            ].to_dict("records"),
            "trades",
        ),
        (
            f"<p class='note'>the first {MAX_TRADE_ROWS} of {len(inputs.trades)} trades</p>"
            if len(inputs.trades) > MAX_TRADE_ROWS
            else ""
        ),
        "</body></html>",
    ]
    return "\n".join(parts)
