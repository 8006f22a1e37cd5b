"""Use case: check a session's results before its weights may go live. Each function returns
the problems it found (empty = passed); Dagster's blocking asset checks call them."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from rl_pipeline.config import SessionConfig
from rl_pipeline.rl.weight_update import WeightRule, effective_bounds

TOLERANCE = 1e-6
WEIGHT_SUM_TOLERANCE = 1e-9


def signal_problems(signals: pd.DataFrame, active: tuple[str, ...], n_bars: int) -> list[str]:
    problems = []
    bad_signal = ~signals["signal"].isin([-1, 0, 1])
    if bad_signal.any():
        problems.append(f"{int(bad_signal.sum())} signal(s) outside {{-1, 0, +1}}")
    confidence = signals["confidence"].to_numpy(float)
    bad_conf = ~(np.isfinite(confidence) & (confidence >= 0) & (confidence <= 1))
    if bad_conf.any():
        problems.append(f"{int(bad_conf.sum())} confidence value(s) outside [0, 1]")
    counts = signals.groupby("model_id").size().to_dict()
    for model_id in active:
        if counts.get(model_id, 0) != n_bars:
            problems.append(f"{model_id}: {counts.get(model_id, 0)} signal rows for {n_bars} bars")
    return problems


def trade_problems(trades: pd.DataFrame, config: SessionConfig) -> list[str]:
    """Exit after entry, direction, and pnl recomputed from the stored fills and costs."""
    if trades.empty:
        return []
    problems = []
    size = config.backtest.trade_size
    fee = config.costs.fee_bps / 1e4
    late = trades["exit_time"] <= trades["entry_time"]
    if late.any():
        problems.append(f"{int(late.sum())} trade(s) exit at or before their entry")
    direction = trades["direction"].map({"LONG": 1.0, "SHORT": -1.0})
    if direction.isna().any():
        problems.append(f"{int(direction.isna().sum())} trade(s) with an unknown direction")
    ratio = trades["exit_price"] / trades["entry_price"]
    expected = size * direction * (ratio - 1) - fee * size * (1 + ratio)
    off = (trades["pnl"] - expected).abs() > TOLERANCE
    if off.any():
        first = trades.loc[off.idxmax()]
        problems.append(
            f"{int(off.sum())} trade(s) whose pnl differs from the fills and costs "
            f"(first: {first['trade_id']}: stored {first['pnl']!r}, recomputed "
            f"{expected[off.idxmax()]!r})"
        )
    pct_off = (trades["pnl_percent"] - 100 * trades["pnl"] / size).abs() > TOLERANCE
    if pct_off.any():
        problems.append(f"{int(pct_off.sum())} trade(s) whose pnl_percent != 100 * pnl / size")
    slip = config.costs.slippage_bps
    stated = trades["metadata"].map(lambda m: json.loads(m).get("slippage_bps"))
    if (stated != slip).any():
        problems.append("trade metadata disagrees with the session's slippage")
    return problems


def weight_vector_problems(
    final: dict[str, float], active: tuple[str, ...], rule: WeightRule
) -> list[str]:
    """Finite, the active ones within their bounds and summing to 1, the inactive ones 0."""
    if not all(math.isfinite(w) for w in final.values()):
        return [f"non-finite weight in {final}"]
    problems = []
    lo, hi = effective_bounds(len(active), rule)
    total = sum(final[m] for m in active)
    if abs(total - 1) > WEIGHT_SUM_TOLERANCE:
        problems.append(f"active weights sum to {total!r}, not 1")
    for m, w in final.items():
        if m in active and not lo - 1e-12 <= w <= hi + 1e-12:
            problems.append(f"{m}: weight {w} outside [{lo}, {hi}]")
        if m not in active and w != 0:
            problems.append(f"{m}: inactive but weight {w}")
    return problems


def weight_problems(
    final: dict[str, float], active: tuple[str, ...], rule: WeightRule, history: pd.DataFrame
) -> list[str]:
    """The vector's problems, and whether model_weight_history is one unbroken chain per model
    (each change starts where the previous ended) ending at ``final``."""
    problems = weight_vector_problems(final, active, rule)
    if problems and problems[0].startswith("non-finite"):
        return problems
    rebuilt: dict[str, float] = {}
    for row in history.sort_values(["seq", "model_id"]).itertuples():
        if row.seq > 0 and row.old_weight != rebuilt.get(row.model_id):
            problems.append(
                f"model_weight_history chain broken for {row.model_id} at update {row.seq}: "
                f"old_weight {row.old_weight!r} != previous new_weight "
                f"{rebuilt.get(row.model_id)!r}"
            )
            break
        rebuilt[row.model_id] = row.new_weight
    for m, w in final.items():
        if abs(rebuilt.get(m, float("nan")) - w) > 1e-12:
            problems.append(f"{m}: model_weight_history rebuilds {rebuilt.get(m)!r}, not {w!r}")
    return problems


def metric_problems(metrics: pd.DataFrame, trades: pd.DataFrame) -> list[str]:
    """Counts, win rate and pnl of each metrics row against the session's trades."""
    problems = []
    for row in metrics.itertuples():
        pnl = trades.loc[trades["ai_model_id"] == row.model_id, "pnl"]
        n = len(pnl)
        expected = {
            "total_trades": n,
            "win_rate": float((pnl > 0).sum() / n) if n else 0.0,
            "total_pnl": float(pnl.sum()),
            "avg_trade_pnl": float(pnl.sum() / n) if n else 0.0,
        }
        for name, value in expected.items():
            if abs(getattr(row, name) - value) > TOLERANCE:
                problems.append(f"{row.model_id}: {name} {getattr(row, name)!r} != {value!r}")
    return problems
