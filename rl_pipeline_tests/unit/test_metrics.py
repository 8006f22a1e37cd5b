"""Each performance metric on hand-computed cases (docs/SEMANTICS.md)."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from rl_pipeline.backtest.metrics import compute_metrics, daily_returns, max_drawdown, sharpe_ratio
from rl_pipeline.backtest.trades import EquityCurve

DAY = 86_400
T0 = 1_700_006_400  # a UTC midnight


def curve(points: list[tuple[int, float]], capital: float = 1000.0) -> EquityCurve:
    ts, equity = zip(*points, strict=True)
    return EquityCurve(np.array(ts), np.array(equity, dtype=float), capital)


def test_counts_win_rate_totals() -> None:
    pnl = np.array([10.0, -5.0, 0.0, 20.0])
    flat = curve([(T0, 1000.0)])
    m = compute_metrics(pnl, flat, 365)
    assert m.total_trades == 4
    assert m.win_rate == 0.5  # a zero-pnl trade is not a win
    assert m.total_pnl == 25.0
    assert m.avg_trade_pnl == 6.25


def test_no_trades() -> None:
    m = compute_metrics(np.zeros(0), curve([(T0, 1000.0)]), 365)
    assert (m.total_trades, m.win_rate, m.total_pnl, m.avg_trade_pnl) == (0, 0.0, 0.0, 0.0)
    assert m.sharpe_ratio is None


def test_max_drawdown_uses_running_peak_including_starting_capital() -> None:
    # Peak 1100, trough 880 -> 20 %; a later dip from 1200 to 1020 is 15 %.
    c = curve([(T0, 1100.0), (T0 + 1, 880.0), (T0 + 2, 1200.0), (T0 + 3, 1020.0)])
    assert max_drawdown(c) == pytest.approx(0.2)
    # A curve that only falls: measured from the starting capital.
    assert max_drawdown(curve([(T0, 900.0), (T0 + 1, 950.0)])) == pytest.approx(0.1)
    assert max_drawdown(curve([(T0, 1000.0), (T0 + 1, 1010.0)])) == 0.0


def test_daily_returns_take_each_days_last_value() -> None:
    c = curve(
        [
            (T0 + 3600, 990.0),
            (T0 + 7200, 1010.0),  # day 1 ends at 1010
            (T0 + DAY + 60, 1111.0),  # day 2 ends at 1111
            (T0 + 2 * DAY, 1000.0),
            (T0 + 2 * DAY + 5, 999.9),  # day 3 ends at 999.9
        ]
    )
    np.testing.assert_allclose(daily_returns(c), [0.01, 0.1, 999.9 / 1111 - 1])


def test_sharpe_ratio_by_hand() -> None:
    c = curve([(T0, 1010.0), (T0 + DAY, 1030.2), (T0 + 2 * DAY, 1019.898)])
    r = [0.01, 0.02, -0.01]
    expected = statistics.mean(r) / statistics.stdev(r) * math.sqrt(365)
    assert sharpe_ratio(c, 365) == pytest.approx(expected)
    assert sharpe_ratio(c, 252) == pytest.approx(expected * math.sqrt(252 / 365))


def test_sharpe_ratio_undefined_cases() -> None:
    assert sharpe_ratio(curve([(T0, 1010.0)]), 365) is None  # one return
    flat = curve([(T0, 1000.0), (T0 + DAY, 1000.0), (T0 + 2 * DAY, 1000.0)])
    assert sharpe_ratio(flat, 365) is None  # zero deviation
