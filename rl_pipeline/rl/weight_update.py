"""The weight engine (docs/SEMANTICS.md): any registered rule's multiplicative update per
outcome, the projection of the acting models' weights back onto their mass within the bounds,
and the sleeping-experts convention.

A model *acts* from its first outcome in the session on (its first closed trade, or in period
mode the first period in which it held a position). Until then it sleeps: its weight stays
exactly at its start value and the rule moves weight only among the models that have acted,
whose total mass it keeps. A model that never acts ends the session with its start weight.

Updates are sequential by nature, but multiplying weights and renormalising commute: while the
acting set is fixed, no bound binds and the rule does not share mass, a whole run of updates is
one cumulative product per model (vectorised). An update that would leave the bounds is
projected on its own, then the next run starts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rl_pipeline.rl.parameters import WeightRule
from rl_pipeline.rl.rules import UpdateRule, get_rule

__all__ = [
    "ClosedTrade",
    "PeriodOutcome",
    "WeightChange",
    "WeightPath",
    "WeightRule",
    "apply_periods",
    "apply_trades",
    "effective_bounds",
    "project",
    "session_start_weights",
    "widened_bounds",
]


@dataclass(frozen=True)
class ClosedTrade:
    trade_id: str
    model_id: str
    pnl: float
    pnl_percent: float
    exit_time: str
    entry_time: str
    symbol: str = ""


@dataclass(frozen=True)
class PeriodOutcome:
    """One update period: each acting model's mark-to-market pnl over it. ``end`` is the time
    of the period's last bar (the update is in force for bars after it)."""

    start: str
    end: str
    pnl: dict[str, float]
    pnl_percent: dict[str, float]


@dataclass(frozen=True)
class WeightChange:
    """One row of model_weight_history: the change of one model's weight at update ``seq``."""

    seq: int
    model_id: str
    old_weight: float
    new_weight: float
    reason: str
    trade: ClosedTrade | None
    period: PeriodOutcome | None = None


@dataclass
class WeightPath:
    """The weights through a session: after update k the active weights are
    ``vectors[k]`` (``vectors[0]`` = the start), effective from ``update_times[k - 1]``;
    update k is the trade ``applied[k - 1]`` (per-trade updates) or the period
    ``periods[k - 1]``. ``acted`` are the models that acted; the others kept their start
    weight."""

    initial: dict[str, float]
    final: dict[str, float]
    active: list[str] = field(default_factory=list)
    updates: int = 0
    update_times: list[str] = field(default_factory=list)
    vectors: list[list[float]] | np.ndarray = field(default_factory=list)
    applied: list[ClosedTrade] = field(default_factory=list)
    periods: list[PeriodOutcome] = field(default_factory=list)
    acted: list[str] = field(default_factory=list)
    rule: str = "binary"

    @property
    def changes(self) -> list[WeightChange]:
        """Every change of one model's weight, in update order (built on demand: the engine
        only keeps the vectors)."""
        out = []
        vectors = np.asarray(self.vectors, dtype=np.float64)
        for k in range(1, self.updates + 1):
            before, after = vectors[k - 1], vectors[k]
            trade = self.applied[k - 1] if self.applied else None
            period = self.periods[k - 1] if self.periods else None
            for j, model_id in enumerate(self.active):
                if after[j] == before[j]:
                    continue
                out.append(
                    WeightChange(
                        k,
                        model_id,
                        float(before[j]),
                        float(after[j]),
                        self._reason(model_id, trade, period),
                        trade,
                        period,
                    )
                )
        return out

    def _reason(
        self, model_id: str, trade: ClosedTrade | None, period: PeriodOutcome | None
    ) -> str:
        if trade is not None:
            reason = "reward" if trade.pnl > 0 else "punishment"
            return (
                reason
                if model_id == trade.model_id
                else f"rebalance after {trade.model_id} {reason}"
            )
        assert period is not None
        if model_id not in period.pnl:
            return f"{self.rule} period update (rebalance)"
        return f"{self.rule} period update: pnl {period.pnl[model_id]:+.2f}"


def project(
    raw: Sequence[float], min_weight: float, max_weight: float, total: float = 1.0
) -> list[float]:
    """Scale ``raw`` by the one factor c that makes sum(clip(c * raw, lo, hi)) == total.

    Scaling (not shifting) keeps the ratios the rule learned among the unclipped weights. The
    bounds widen to [min(lo, total/n), max(hi, total/n)] when n models could not meet them.
    """
    n = len(raw)
    if n == 0:
        return []
    lo, hi = widened_bounds(n, min_weight, max_weight, total)

    def clipped(c: float) -> list[float]:
        return [min(max(c * v, lo), hi) for v in raw]

    if n * lo >= total or not any(v > 0 for v in raw):
        return [total / n] * n
    breaks = sorted({b / v for v in raw if v > 0 for b in (lo, hi)})
    prev = 0.0
    for b in breaks:
        if sum(clipped(b)) >= total:
            break
        prev = b
    else:
        return clipped(breaks[-1])
    mid = (prev + b) / 2.0
    free = [lo < mid * v < hi for v in raw]
    fixed_total = sum(w for w, f in zip(clipped(mid), free, strict=True) if not f)
    slope = sum(v for v, f in zip(raw, free, strict=True) if f)
    c = (total - fixed_total) / slope if slope > 0 else b
    # The solution lies in [prev, b]; rounding (a model with all the weight, min_weight 0)
    # could put c outside, even at 0, where every weight would clip to zero.
    weights = clipped(min(max(c, prev), b))
    s = sum(weights)
    return [w / s * total for w in weights]


def session_start_weights(
    live: dict[str, float], active: Iterable[str], rule: WeightRule
) -> dict[str, float]:
    """Inactive models hold 0; a model that becomes active with no weight starts at min_weight."""
    active = list(active)
    raw = [live.get(m, 0.0) if live.get(m, 0.0) > 0 else rule.min_weight for m in active]
    projected = project(raw, rule.min_weight, rule.max_weight)
    weights = {m: 0.0 for m in live}
    weights.update(dict(zip(active, projected, strict=True)))
    return weights


def widened_bounds(
    n: int, min_weight: float, max_weight: float, total: float = 1.0
) -> tuple[float, float]:
    """[min(lo, total/n), max(hi, total/n)]: bounds that n weights summing to total can meet."""
    return min(min_weight, total / n), max(max_weight, total / n)


def effective_bounds(n: int, rule: WeightRule) -> tuple[float, float]:
    return widened_bounds(n, rule.min_weight, rule.max_weight)


def _product_runs(
    start: np.ndarray, factor: np.ndarray, lo: float, hi: float, mass: float
) -> np.ndarray:
    """(updates + 1) x acting models under a rule whose updates commute: cumulative products
    while no bound binds, a projection for the update that would leave [lo, hi]."""
    n_updates = len(factor)
    vectors = np.empty((n_updates + 1, start.shape[0]))
    vectors[0] = start
    logs_all = np.log(factor)
    k, run = 0, 64
    while k < n_updates:
        size = min(run, n_updates - k)
        trial = vectors[k] * np.exp(np.cumsum(logs_all[k : k + size], axis=0))
        trial /= trial.sum(axis=1, keepdims=True)
        if mass != 1.0:
            trial *= mass
        inside = ((trial >= lo) & (trial <= hi)).all(axis=1)
        good = size if inside.all() else int(np.argmin(inside))
        vectors[k + 1 : k + 1 + good] = trial[:good]
        k += good
        if good < size:
            vectors[k + 1] = project((vectors[k] * factor[k]).tolist(), lo, hi, mass)
            k += 1
            run = max(8, run // 4)
        else:
            run = min(run * 2, 8192)
    return vectors


def _shared_steps(
    start: np.ndarray,
    factor: np.ndarray,
    lo: float,
    hi: float,
    mass: float,
    rule: UpdateRule,
    p: WeightRule,
) -> np.ndarray:
    """A rule that shares mass after each update: one update at a time."""
    vectors = np.empty((len(factor) + 1, start.shape[0]))
    vectors[0] = start
    for k in range(len(factor)):
        raw = vectors[k] * factor[k]
        scaled = raw * (mass / raw.sum())
        if not ((scaled >= lo) & (scaled <= hi)).all():  # a bound binds: the exact projection
            scaled = np.asarray(project(raw.tolist(), lo, hi, mass))
        vectors[k + 1] = rule.share(scaled, mass, p)
    return vectors


def weight_vectors(
    start: np.ndarray, factor: np.ndarray, acting: np.ndarray, p: WeightRule
) -> np.ndarray:
    """(updates + 1) x models. ``factor[k]`` multiplies the weights at update k (1 for models
    without an outcome); ``acting[k]`` marks the models that have acted by update k (it only
    grows). Sleeping models keep their weight; the acting ones keep their joint mass."""
    rule = get_rule(p.rule)
    n_updates, n = factor.shape
    vectors = np.empty((n_updates + 1, n))
    vectors[0] = start
    if n_updates == 0:
        return vectors
    changes = np.flatnonzero((acting[1:] != acting[:-1]).any(axis=1)) + 1
    for seg_start, seg_end in zip(
        np.concatenate(([0], changes)), np.concatenate((changes, [n_updates])), strict=True
    ):
        awake = acting[seg_start]
        vectors[seg_start + 1 : seg_end + 1] = vectors[seg_start]
        if not awake.any():
            continue
        cols = np.flatnonzero(awake)
        # With every model acting the mass is exactly 1 (not a float sum a hair off it).
        mass = 1.0 if awake.all() else float(vectors[seg_start, cols].sum())
        lo, hi = widened_bounds(len(cols), p.min_weight, p.max_weight, mass)
        seg_start_vector, seg_factor = vectors[seg_start, cols], factor[seg_start:seg_end][:, cols]
        if rule.shares:
            block = _shared_steps(seg_start_vector, seg_factor, lo, hi, mass, rule, p)
        else:
            block = _product_runs(seg_start_vector, seg_factor, lo, hi, mass)
        vectors[seg_start + 1 : seg_end + 1, cols] = block[1:]
    return vectors


def _learn(
    path: WeightPath, pnl: np.ndarray, pct: np.ndarray, has: np.ndarray, rule: WeightRule
) -> WeightPath:
    """Fill ``path`` from (updates x active models) outcomes: ``has`` marks the models with an
    outcome at each update; a model acts from its first outcome on."""
    shape = has.shape
    factor = np.where(
        has, get_rule(rule.rule).factors(pnl.ravel(), pct.ravel(), rule).reshape(shape), 1.0
    )
    acting = np.logical_or.accumulate(has, axis=0) if shape[0] else has
    start = np.array([path.initial[m] for m in path.active], dtype=np.float64)
    path.vectors = weight_vectors(start, factor, acting, rule)
    path.final = {m: 0.0 for m in path.initial}
    path.final.update({m: float(w) for m, w in zip(path.active, path.vectors[-1], strict=True)})
    path.acted = [m for j, m in enumerate(path.active) if acting[:, j].any()]
    return path


def _empty_path(
    start: dict[str, float], active: list[str], rule: WeightRule, times: list[str], **events: Any
) -> WeightPath:
    """The path before any update: the start, the update times and their events."""
    path = WeightPath(
        initial=dict(start), final=dict(start), active=active, rule=rule.rule, **events
    )
    path.update_times, path.updates = times, len(times)
    if not active:
        path.vectors = np.zeros((1, 0))
    return path


def apply_trades(
    start: dict[str, float], trades: Iterable[ClosedTrade], rule: WeightRule
) -> WeightPath:
    """One update per closed trade (pnl != 0), in the order given: (exit_time, entry_time,
    trade_id)."""
    active = [m for m, w in start.items() if w > 0]
    index = {m: i for i, m in enumerate(active)}
    applied = [t for t in trades if t.pnl != 0.0 and t.model_id in index]
    path = _empty_path(start, active, rule, [t.exit_time for t in applied], applied=applied)
    if not active:
        return path
    shape = (len(applied), len(active))
    pnl, pct, has = np.zeros(shape), np.zeros(shape), np.zeros(shape, dtype=bool)
    rows, cols = np.arange(len(applied)), [index[t.model_id] for t in applied]
    pnl[rows, cols] = [t.pnl for t in applied]
    pct[rows, cols] = [t.pnl_percent for t in applied]
    has[rows, cols] = True
    return _learn(path, pnl, pct, has, rule)


def apply_periods(
    start: dict[str, float], periods: Sequence[PeriodOutcome], rule: WeightRule
) -> WeightPath:
    """One update per period; each outcome's model has acted from its first period on."""
    active = [m for m, w in start.items() if w > 0]
    kept = [p for p in periods if any(m in p.pnl for m in active)]
    path = _empty_path(start, active, rule, [p.end for p in kept], periods=kept)
    if not active:
        return path
    shape = (len(kept), len(active))
    pnl, pct, has = np.zeros(shape), np.zeros(shape), np.zeros(shape, dtype=bool)
    for k, period in enumerate(kept):
        for j, m in enumerate(active):
            if m in period.pnl:
                pnl[k, j], pct[k, j], has[k, j] = period.pnl[m], period.pnl_percent[m], True
    return _learn(path, pnl, pct, has, rule)
