"""The winrate test runner on small hand-computed cases (docs/SEMANTICS.md)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rl_pipeline.backtest.trades import Costs, equity_curve, simulate_trades

FEE = 10.0  # bps per side
SLIP = 5.0  # bps per fill
SIZE = 1000.0
CAPITAL = 10_000.0

# One symbol, six hourly bars. Signals decide at bar t; the position starts at bar t+1's open.
OPEN = np.array([100.0, 102.0, 104.0, 106.0, 98.0, 96.0])
CLOSE = np.array([101.0, 103.0, 105.0, 100.0, 97.0, 95.0])
SIGNAL = np.array([1, 1, 0, -1, -1, -1], dtype=np.int8)
CONFIDENCE = np.array([0.9, 0.8, 0.0, 0.6, 0.5, 0.4])
TS = 1_700_000_000 + 3600 * np.arange(6)
CODES = np.zeros(6, dtype=np.int64)


def run():
    costs = Costs(FEE, SLIP)
    trades = simulate_trades(CODES, OPEN, CLOSE, SIGNAL, CONFIDENCE, costs, int(SIZE))
    return trades, equity_curve(CODES, TS, CLOSE, trades, costs, SIZE, CAPITAL)


# Hand computation of the two trades.
LONG_ENTRY = 102.0 * 1.0005  # bar 1 open, slippage against a buyer
LONG_EXIT = 106.0 * 0.9995  # bar 3 open (position goes flat), slippage against a seller
LONG_PNL = SIZE * (LONG_EXIT / LONG_ENTRY - 1) - 0.001 * (SIZE + SIZE * LONG_EXIT / LONG_ENTRY)
SHORT_ENTRY = 98.0 * 0.9995  # bar 4 open, selling short
SHORT_EXIT = 95.0 * 1.0005  # the period ends: bought back at bar 5's close
SHORT_PNL = -SIZE * (SHORT_EXIT / SHORT_ENTRY - 1) - 0.001 * (
    SIZE + SIZE * SHORT_EXIT / SHORT_ENTRY
)


def test_long_trade_with_fees_and_slippage() -> None:
    trades, _ = run()
    assert len(trades) == 2
    assert trades.direction[0] == 1
    assert trades.entry_index[0] == 1 and trades.exit_index[0] == 3
    assert trades.entry_fill[0] == pytest.approx(102.051)
    assert trades.exit_fill[0] == pytest.approx(105.947)
    assert trades.pnl[0] == pytest.approx(LONG_PNL, abs=1e-9)
    assert trades.pnl[0] == pytest.approx(36.1388, abs=1e-4)
    assert trades.pnl_percent[0] == pytest.approx(100 * LONG_PNL / SIZE)
    assert trades.confidence[0] == 0.9  # confidence at the decision bar (bar 0)
    assert not trades.end_of_period[0]


def test_short_trade_closed_at_end_of_period() -> None:
    trades, _ = run()
    assert trades.direction[1] == -1
    assert trades.entry_index[1] == 4 and trades.exit_index[1] == 5
    assert trades.end_of_period[1]
    assert trades.exit_raw[1] == 95.0  # the last close, not an open
    assert trades.pnl[1] == pytest.approx(SHORT_PNL, abs=1e-9)
    assert trades.pnl[1] == pytest.approx(27.6720, abs=1e-4)
    assert trades.confidence[1] == 0.6


def test_mark_to_market_equity_curve() -> None:
    _, curve = run()
    entry_fee = 0.001 * SIZE
    expected = [
        CAPITAL,
        CAPITAL + SIZE * (103.0 / LONG_ENTRY - 1) - entry_fee,
        CAPITAL + SIZE * (105.0 / LONG_ENTRY - 1) - entry_fee,
        CAPITAL + LONG_PNL,
        CAPITAL + LONG_PNL - SIZE * (97.0 / SHORT_ENTRY - 1) - entry_fee,
        CAPITAL + LONG_PNL + SHORT_PNL,
    ]
    np.testing.assert_allclose(curve.equity, expected, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(curve.ts, TS)


def test_reversal_exits_and_enters_on_the_same_open() -> None:
    signal = np.array([1, -1, -1, 0], dtype=np.int8)
    open_ = np.array([10.0, 11.0, 12.0, 13.0])
    close = np.array([10.5, 11.5, 12.5, 13.5])
    trades = simulate_trades(
        np.zeros(4, dtype=np.int64), open_, close, signal, np.ones(4), Costs(0, 0), 100.0
    )
    assert list(trades.direction) == [1, -1]
    assert list(trades.entry_index) == [1, 2] and list(trades.exit_index) == [2, 3]
    assert trades.pnl[0] == pytest.approx(100 * (12 / 11 - 1))
    # The short is still open when the period ends: closed at the last close.
    assert trades.end_of_period[1]
    assert trades.pnl[1] == pytest.approx(-100 * (13.5 / 12 - 1))


def test_trades_never_cross_symbols_and_equity_sums_symbols() -> None:
    # Symbol A's last signal is LONG, symbol B starts right after: no position leaks into B.
    codes = np.array([0, 0, 0, 1, 1, 1])
    ts = np.array([0, 3600, 7200, 0, 3600, 7200])
    open_ = np.array([10.0, 10.0, 11.0, 20.0, 20.0, 22.0])
    close = np.array([10.0, 11.0, 12.0, 20.0, 21.0, 24.0])
    signal = np.array([0, 1, 1, 0, 0, -1], dtype=np.int8)
    costs = Costs(0, 0)
    trades = simulate_trades(codes, open_, close, signal, np.ones(6), costs, 100.0)
    assert len(trades) == 1
    assert trades.entry_index[0] == 2 and trades.end_of_period[0]
    curve = equity_curve(codes, ts, close, trades, costs, 100.0, 1000.0)
    np.testing.assert_array_equal(curve.ts, [0, 3600, 7200])
    np.testing.assert_allclose(curve.equity, [1000.0, 1000.0, 1000.0 + 100 * (12 / 11 - 1)])


def test_no_signal_no_trade() -> None:
    trades = simulate_trades(
        np.zeros(3, dtype=np.int64),
        np.ones(3),
        np.ones(3),
        np.zeros(3, dtype=np.int8),
        np.zeros(3),
        Costs(FEE, SLIP),
        SIZE,
    )
    assert len(trades) == 0


@settings(max_examples=60, deadline=None)
@given(
    signals=st.lists(st.sampled_from([-1, 0, 1]), min_size=4, max_size=40),
    data=st.data(),
)
def test_bars_after_t_change_nothing_decided_or_closed_by_t(signals, data) -> None:
    n = len(signals)
    t = data.draw(st.integers(min_value=0, max_value=n - 2))
    rng = np.random.default_rng(n * 31 + t)
    open_ = rng.uniform(50, 150, n)
    close = rng.uniform(50, 150, n)
    open2, close2 = open_.copy(), close.copy()
    open2[t + 1 :] *= rng.uniform(0.5, 1.5, n - t - 1)
    close2[t + 1 :] *= rng.uniform(0.5, 1.5, n - t - 1)
    codes = np.zeros(n, dtype=np.int64)
    sig = np.array(signals, dtype=np.int8)
    ts = 3600 * np.arange(n)
    costs = Costs(FEE, SLIP)
    a = simulate_trades(codes, open_, close, sig, np.ones(n), costs, SIZE)
    b = simulate_trades(codes, open2, close2, sig, np.ones(n), costs, SIZE)
    closed_a = a.exit_index <= t
    closed_b = b.exit_index <= t
    np.testing.assert_array_equal(a.pnl[closed_a], b.pnl[closed_b])
    # Decisions made at or before t: same entries and directions.
    decided_a = a.decision_index <= t
    np.testing.assert_array_equal(a.entry_index[decided_a], b.entry_index[b.decision_index <= t])
    np.testing.assert_array_equal(a.direction[decided_a], b.direction[b.decision_index <= t])
    ca = equity_curve(codes, ts, close, a, costs, SIZE, CAPITAL)
    cb = equity_curve(codes, ts, close2, b, costs, SIZE, CAPITAL)
    np.testing.assert_array_equal(ca.equity[: t + 1], cb.equity[: t + 1])
