"""Update periods: each model's mark-to-market pnl per period, for the period rules."""

from __future__ import annotations

import numpy as np

from rl_pipeline.backtest.trades import EquityCurve
from rl_pipeline.rl.parameters import UpdatePeriod
from rl_pipeline.rl.weight_update import PeriodOutcome
from rl_pipeline.timestamps import format_time


def period_ends(ts: np.ndarray, period: UpdatePeriod) -> np.ndarray:
    """Index of the last bar time of each period on the session's timeline (distinct, sorted
    bar times of all symbols): every ``bars`` times, or UTC clock periods of ``seconds``."""
    if len(ts) == 0:
        return np.zeros(0, dtype=np.int64)
    group = np.arange(len(ts)) // period.bars if period.bars else ts // period.seconds
    last = np.ones(len(ts), dtype=bool)
    last[:-1] = group[1:] != group[:-1]
    return np.flatnonzero(last)


def period_outcomes(
    curves: dict[str, EquityCurve],
    first_entry_ts: dict[str, int | None],
    period: UpdatePeriod,
    trade_size: float,
) -> list[PeriodOutcome]:
    """One outcome per period: the pnl of each model that has held a position by the period's
    end (it acts from then on), as the change of its equity over the period."""
    if not curves:
        return []
    ts = next(iter(curves.values())).ts
    ends = period_ends(ts, period)
    starts = np.concatenate(([0], ends[:-1] + 1))
    start_times, end_times = format_time(ts[starts]), format_time(ts[ends])
    pnl: dict[str, np.ndarray] = {}
    for model_id, curve in curves.items():
        if len(curve.ts) != len(ts) or not np.array_equal(curve.ts, ts):
            raise ValueError(f"{model_id}: its equity curve is not on the session's timeline")
        at_end = curve.equity[ends]
        pnl[model_id] = np.diff(at_end, prepend=curve.starting_capital)
    outcomes = []
    for k, end in enumerate(ends):
        acting = [
            m for m in curves if first_entry_ts.get(m) is not None and first_entry_ts[m] <= ts[end]
        ]
        outcomes.append(
            PeriodOutcome(
                start=str(start_times[k]),
                end=str(end_times[k]),
                pnl={m: float(pnl[m][k]) for m in acting},
                pnl_percent={m: float(100.0 * pnl[m][k] / trade_size) for m in acting},
            )
        )
    return outcomes
