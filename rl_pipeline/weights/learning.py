"""Use case: learn a session's weights from its trades (per-trade updates) or from each
model's mark-to-market equity (period updates), with any registered rule."""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class LearningInputs:
    """What every rule learns from, built once per session: the closed trades in order, each
    model's first entry and its equity curve."""

    closed: list[ClosedTrade]
    first_entry: dict[str, int]
    curves: dict[str, EquityCurve]


def closed_trades(trades: pd.DataFrame) -> list[ClosedTrade]:
    """Trade rows (sorted by exit_time, entry_time, trade_id) as the engine's trades."""
    columns = ("trade_id", "ai_model_id", "pnl", "pnl_percent", "exit_time", "entry_time")
    values = [trades[c].tolist() for c in (*columns, "symbol")]
    return [ClosedTrade(*row) for row in zip(*values, strict=True)]


def learning_inputs(trades: pd.DataFrame, curves: dict[str, EquityCurve]) -> LearningInputs:
    return LearningInputs(closed_trades(trades), first_entries(trades), curves)


def first_entries(trades: pd.DataFrame) -> dict[str, int]:
    """Each model's first entry time (epoch seconds)."""
    if trades.empty:
        return {}
    entry = parse_time(trades["entry_time"])
    first = pd.Series(entry).groupby(trades["ai_model_id"].to_numpy()).min()
    return {str(m): int(t) for m, t in first.items()}


def learn_weights(
    start: dict[str, float],
    inputs: LearningInputs,
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
        return apply_trades(start, inputs.closed, rule)
    acting_curves = {m: inputs.curves[m] for m in start if start[m] > 0 and m in inputs.curves}
    outcomes = period_outcomes(
        acting_curves, inputs.first_entry, period, config.backtest.trade_size
    )
    return apply_periods(start, outcomes, rule)


__all__ = ["LearningInputs", "closed_trades", "first_entries", "learn_weights", "learning_inputs"]
