"""The winrate test runner's kernel: signals -> trades with costs -> mark-to-market equity.

Exact semantics in docs/SEMANTICS.md. Everything is vectorised with numpy over all bars of all
symbols at once; bars are sorted by symbol then time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Costs:
    fee_bps: float
    slippage_bps: float


@dataclass(frozen=True)
class TradeArrays:
    """One entry per trade, in (symbol, entry) order. Indices point into the bar arrays."""

    entry_index: np.ndarray
    exit_index: np.ndarray
    decision_index: np.ndarray
    direction: np.ndarray
    entry_raw: np.ndarray
    exit_raw: np.ndarray
    entry_fill: np.ndarray
    exit_fill: np.ndarray
    fees: np.ndarray
    pnl: np.ndarray
    pnl_percent: np.ndarray
    confidence: np.ndarray
    end_of_period: np.ndarray

    def __len__(self) -> int:
        return len(self.pnl)


@dataclass(frozen=True)
class EquityCurve:
    """Portfolio equity of one model at the close of each distinct bar time."""

    ts: np.ndarray
    equity: np.ndarray
    starting_capital: float


def symbol_bounds(symbol_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the first and the last bar of each symbol."""
    n = len(symbol_codes)
    change = symbol_codes[1:] != symbol_codes[:-1]
    first = np.ones(n, dtype=bool)
    last = np.ones(n, dtype=bool)
    first[1:] = change
    last[:-1] = change
    return first, last


def positions(signal: np.ndarray, first: np.ndarray) -> np.ndarray:
    """The position held during bar t is the signal decided at bar t-1 (entered at t's open)."""
    pos = np.zeros(len(signal), dtype=np.int8)
    pos[1:] = signal[:-1]
    pos[first] = 0
    return pos


def simulate_trades(
    symbol_codes: np.ndarray,
    open_: np.ndarray,
    close: np.ndarray,
    signal: np.ndarray,
    confidence: np.ndarray,
    costs: Costs,
    trade_size: float,
) -> TradeArrays:
    """Trades of one model: each maximal run of bars with the same non-zero position."""
    first, last = symbol_bounds(symbol_codes)
    pos = positions(signal, first)
    prev = np.zeros_like(pos)
    prev[1:] = pos[:-1]
    prev[first] = 0
    nxt = np.zeros_like(pos)
    nxt[:-1] = pos[1:]
    nxt[last] = 0
    entry = np.flatnonzero((pos != 0) & (pos != prev))
    end = np.flatnonzero((pos != 0) & (pos != nxt))
    end_of_period = last[end]
    exit_index = np.where(end_of_period, end, end + 1)
    direction = pos[entry].astype(np.int8)
    entry_raw = open_[entry]
    exit_raw = np.where(end_of_period, close[end], open_[np.minimum(end + 1, len(open_) - 1)])
    slip = costs.slippage_bps / 1e4
    fee_rate = costs.fee_bps / 1e4
    sign = direction.astype(np.float64)  # int8 arithmetic with a Python int would overflow
    entry_fill = entry_raw * (1.0 + sign * slip)
    exit_fill = exit_raw * (1.0 - sign * slip)
    ratio = exit_fill / entry_fill
    # Fees on both fills' notional: the entry is `trade_size`, the exit is quantity * exit fill.
    fees = fee_rate * trade_size * (1.0 + ratio)
    pnl = float(trade_size) * sign * (ratio - 1.0) - fees
    return TradeArrays(
        entry_index=entry,
        exit_index=exit_index,
        decision_index=entry - 1,
        direction=direction,
        entry_raw=entry_raw,
        exit_raw=exit_raw,
        entry_fill=entry_fill,
        exit_fill=exit_fill,
        fees=fees,
        pnl=pnl,
        pnl_percent=100.0 * pnl / trade_size,
        confidence=confidence[entry - 1] if len(entry) else np.zeros(0),
        end_of_period=end_of_period,
    )


def equity_curve(
    symbol_codes: np.ndarray,
    ts: np.ndarray,
    close: np.ndarray,
    trades: TradeArrays,
    costs: Costs,
    trade_size: float,
    starting_capital: float,
) -> EquityCurve:
    """Mark-to-market equity: closed pnl plus open trades marked at each close, entry costs
    counted, summed over symbols on one timeline."""
    n = len(ts)
    if n == 0:
        return EquityCurve(ts, np.zeros(0), starting_capital)
    first, _ = symbol_bounds(symbol_codes)
    # Trade number + 1 over each trade's bars, 0 outside trades (trades never overlap per symbol).
    numbers = np.arange(1, len(trades) + 1, dtype=np.float64)
    last_bar = np.where(trades.end_of_period, trades.exit_index, trades.exit_index - 1)
    marks = np.bincount(trades.entry_index, numbers, minlength=n + 1)
    marks -= np.bincount(last_bar + 1, numbers, minlength=n + 1)
    in_trade = np.cumsum(marks[:n]).astype(np.int64)
    held = np.flatnonzero(in_trade)
    k = in_trade[held] - 1
    unrealised = np.zeros(n)
    fee = costs.fee_bps / 1e4 * trade_size
    notional = float(trade_size) * trades.direction
    unrealised[held] = notional[k] * (close[held] / trades.entry_fill[k] - 1.0) - fee
    # A trade closed at the period's last close is realised on that bar, not marked.
    unrealised[trades.exit_index[trades.end_of_period]] = 0.0
    realised = np.bincount(trades.exit_index, trades.pnl, minlength=n)
    cum = np.cumsum(realised)
    if symbol_codes[0] == symbol_codes[-1]:
        # One symbol: its bars are the timeline (strictly increasing times).
        return EquityCurve(
            ts=ts, equity=starting_capital + (cum + unrealised), starting_capital=starting_capital
        )
    group_start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    before_group = np.where(group_start > 0, cum[group_start - 1], 0.0)
    contribution = cum - before_group + unrealised
    delta = np.diff(contribution, prepend=0.0)
    delta[first] = contribution[first]
    order = np.argsort(ts, kind="stable")
    running, ts_sorted = np.cumsum(delta[order]), ts[order]
    last_of_time = np.ones(n, dtype=bool)
    last_of_time[:-1] = ts_sorted[1:] != ts_sorted[:-1]
    return EquityCurve(
        ts=ts_sorted[last_of_time],
        equity=starting_capital + running[last_of_time],
        starting_capital=starting_capital,
    )
