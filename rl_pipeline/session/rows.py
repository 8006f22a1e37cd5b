"""How a session's results become rows of the specification's tables."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from rl_pipeline.backtest.metrics import PerformanceMetrics
from rl_pipeline.backtest.trades import Costs, TradeArrays
from rl_pipeline.rl.weight_update import WeightChange, WeightPath
from rl_pipeline.timestamps import format_time


def trade_rows(
    session_id: str,
    model_id: str,
    bars: pd.DataFrame,
    trades: TradeArrays,
    costs: Costs,
    size: float,
) -> pd.DataFrame:
    """``trade_results`` rows; prices are the fills (slippage included), the raw prices, fees and
    exit reason go to ``metadata``."""
    ts = bars["ts"].to_numpy()
    all_symbols = bars["symbol"].to_numpy()
    symbols = all_symbols[trades.entry_index]
    # A trade still open when the period ends exits at the last bar's close: its exit time is
    # that bar's end (its open time plus the bar's length), after its entry at the bar's open.
    exit_ts = ts[trades.exit_index].copy()
    last = trades.exit_index[trades.end_of_period]
    before = np.maximum(last - 1, 0)
    bar_length = np.where(
        (last > 0) & (all_symbols[before] == all_symbols[last]), ts[last] - ts[before], 0
    )
    exit_ts[trades.end_of_period] = ts[last] + bar_length
    decision_time = format_time(ts[trades.decision_index])
    metadata = [
        json.dumps(
            {
                "decision_time": d,
                "entry_open": float(eo),
                "exit_reference": float(xr),
                "exit_reason": "end_of_period" if eop else "signal_change",
                "fees": float(f),
                "fee_bps": costs.fee_bps,
                "slippage_bps": costs.slippage_bps,
                "size": size,
                "quantity": size / float(ef),
            }
        )
        for d, eo, xr, eop, f, ef in zip(
            decision_time,
            trades.entry_raw,
            trades.exit_raw,
            trades.end_of_period,
            trades.fees,
            trades.entry_fill,
            strict=True,
        )
    ]
    return pd.DataFrame(
        {
            "trade_id": [
                f"{session_id}-{model_id}-{s}-{t}"
                for s, t in zip(symbols, ts[trades.entry_index], strict=True)
            ],
            "session_id": session_id,
            "symbol": symbols,
            "entry_time": format_time(ts[trades.entry_index]),
            "exit_time": format_time(exit_ts),
            "entry_price": trades.entry_fill,
            "exit_price": trades.exit_fill,
            "direction": np.where(trades.direction > 0, "LONG", "SHORT"),
            "pnl": trades.pnl,
            "pnl_percent": trades.pnl_percent,
            "confidence": trades.confidence,
            "ai_model_id": model_id,
            "metadata": metadata,
        }
    )


def history_rows(
    session_id: str, path: WeightPath, live: dict[str, float], start_time: str
) -> list[tuple]:
    """``model_weight_history`` rows: the session-start vector (seq 0), then every change."""
    rows = [
        (
            f"{session_id}-{0:07d}-{model_id}",
            session_id,
            model_id,
            live[model_id],
            new,
            start_time,
            "session start",
            json.dumps({"seq": 0, "live_weight": live[model_id]}),
        )
        for model_id, new in path.initial.items()
    ]
    for change in path.changes:
        rows.append(
            (
                f"{session_id}-{change.seq:07d}-{change.model_id}",
                session_id,
                change.model_id,
                change.old_weight,
                change.new_weight,
                change.trade.exit_time if change.trade else change.period.end,
                change.reason,
                json.dumps(update_context(change, path.rule)),
            )
        )
    return rows


def update_context(change: WeightChange, rule: str) -> dict:
    """The ``trade_context`` JSON of one change: the trade, or the period and its pnls."""
    t, period = change.trade, change.period
    if t is not None:
        return {
            "seq": change.seq,
            "rule": rule,
            "trade_id": t.trade_id,
            "trade_model_id": t.model_id,
            "symbol": t.symbol,
            "pnl": t.pnl,
            "pnl_percent": t.pnl_percent,
            "entry_time": t.entry_time,
            "exit_time": t.exit_time,
        }
    return {
        "seq": change.seq,
        "rule": rule,
        "period_start": period.start,
        "period_end": period.end,
        "pnl": period.pnl,
        "pnl_percent": period.pnl_percent,
    }


def metric_rows(session_id: str, metrics: dict[str, PerformanceMetrics]) -> list[tuple]:
    """``performance_metrics`` rows, one per model."""
    return [
        (
            f"{session_id}-{m}",
            m,
            session_id,
            x.win_rate,
            x.total_pnl,
            x.avg_trade_pnl,
            x.sharpe_ratio,
            x.max_drawdown,
            x.total_trades,
        )
        for m, x in metrics.items()
    ]
