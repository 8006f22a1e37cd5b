"""Daily P&L of an equity curve: the change of its last value on each UTC day."""

from __future__ import annotations

import numpy as np

from rl_pipeline.backtest.trades import EquityCurve

SECONDS_PER_DAY = 86_400


def daily_pnl(curve: EquityCurve) -> tuple[np.ndarray, np.ndarray]:
    """(UTC day numbers, P&L of each day); the day before the first is the starting capital."""
    if len(curve.ts) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    day = curve.ts // SECONDS_PER_DAY
    last_of_day = np.ones(len(day), dtype=bool)
    last_of_day[:-1] = day[1:] != day[:-1]
    values = curve.equity[last_of_day]
    return day[last_of_day], np.diff(values, prepend=curve.starting_capital)
