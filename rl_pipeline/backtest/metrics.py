"""Per-model performance metrics (docs/SEMANTICS.md)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from rl_pipeline.backtest.trades import EquityCurve

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class PerformanceMetrics:
    total_trades: int
    win_rate: float
    total_pnl: float
    avg_trade_pnl: float
    sharpe_ratio: float | None
    max_drawdown: float

    def as_dict(self) -> dict:
        return asdict(self)


def max_drawdown(curve: EquityCurve) -> float:
    """Largest fall from a running peak, as a positive fraction of that peak."""
    values = np.concatenate(([curve.starting_capital], curve.equity))
    peaks = np.maximum.accumulate(values)
    return float(np.max((peaks - values) / peaks))


def daily_returns(curve: EquityCurve) -> np.ndarray:
    """Returns of the curve's last value on each UTC day; day 0 is the starting capital."""
    if len(curve.ts) == 0:
        return np.zeros(0)
    day = curve.ts // SECONDS_PER_DAY
    last_of_day = np.ones(len(day), dtype=bool)
    last_of_day[:-1] = day[1:] != day[:-1]
    values = np.concatenate(([curve.starting_capital], curve.equity[last_of_day]))
    return values[1:] / values[:-1] - 1.0


def sharpe_ratio(curve: EquityCurve, periods_per_year: int) -> float | None:
    """Annualised Sharpe of daily returns, risk-free 0; None below two returns or zero spread."""
    returns = daily_returns(curve)
    if len(returns) < 2:
        return None
    spread = float(np.std(returns, ddof=1))
    if spread == 0.0 or not math.isfinite(spread):
        return None
    return float(np.mean(returns) / spread * math.sqrt(periods_per_year))


def compute_metrics(
    pnl: np.ndarray, curve: EquityCurve, periods_per_year: int
) -> PerformanceMetrics:
    total = len(pnl)
    total_pnl = float(np.sum(pnl)) if total else 0.0
    return PerformanceMetrics(
        total_trades=total,
        win_rate=float(np.count_nonzero(pnl > 0) / total) if total else 0.0,
        total_pnl=total_pnl,
        avg_trade_pnl=total_pnl / total if total else 0.0,
        sharpe_ratio=sharpe_ratio(curve, periods_per_year),
        max_drawdown=max_drawdown(curve),
    )
