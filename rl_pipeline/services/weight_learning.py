"""Use case: learn a session's weights from its trades (per-trade updates) or from each
model's mark-to-market equity (period updates), with any registered rule."""

from __future__ import annotations

import pandas as pd

from rl_pipeline.backtest.trades import EquityCurve
from rl_pipeline.config import SessionConfig
from rl_pipeline.rl.periods import period_outcomes
from rl_pipeline.rl.weight_update import (
    ClosedTrade,
    WeightPath,
    WeightRule,
    apply_periods,
    apply_trades,
)
from rl_pipeline.timestamps import parse_time


def closed_trades(trades: pd.DataFrame) -> list[ClosedTrade]:
    """Trade rows (sorted by exit_time, entry_time, trade_id) as the engine's trades."""
    return [
        ClosedTrade(*row)
        for row in zip(
            trades["trade_id"],
            trades["ai_model_id"],
            trades["pnl"].astype(float),
            trades["pnl_percent"].astype(float),
            trades["exit_time"],
            trades["entry_time"],
            trades["symbol"],
            strict=True,
        )
    ]


def first_entries(trades: pd.DataFrame) -> dict[str, int]:
    """Each model's first entry time (epoch seconds)."""
    if trades.empty:
        return {}
    entry = parse_time(trades["entry_time"])
    first = pd.Series(entry).groupby(trades["ai_model_id"].to_numpy()).min()
    return {str(m): int(t) for m, t in first.items()}


def learn_weights(
    start: dict[str, float],
    trades: pd.DataFrame,
    curves: dict[str, EquityCurve],
    rule: WeightRule,
    config: SessionConfig,
) -> WeightPath:
    """The weight path of ``rule`` from ``start``. Raises ``ValueError`` for parameters the rule
    cannot take (a loss would make a weight zero or negative)."""
    if (
        rule.rule == "pnl_scaled"
        and rule.learning_rate * rule.punishment_multiplier * rule.g_max >= 1
    ):
        raise ValueError("learning_rate * punishment_multiplier * g_max must be < 1")
    if rule.rule == "binary" and rule.learning_rate * rule.punishment_multiplier >= 1:
        raise ValueError("learning_rate * punishment_multiplier must be < 1")
    period = rule.period
    if period.per_trade:
        return apply_trades(start, closed_trades(trades), rule)
    acting_curves = {m: curves[m] for m in start if start[m] > 0 and m in curves}
    outcomes = period_outcomes(
        acting_curves, first_entries(trades), period, config.backtest.trade_size
    )
    return apply_periods(start, outcomes, rule)


__all__ = ["closed_trades", "first_entries", "learn_weights"]
