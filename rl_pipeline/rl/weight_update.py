"""The reinforcement rule (docs/SEMANTICS.md): multiplicative reward and punishment per closed
trade, then projection of the active weights onto the capped simplex.

The rule is sequential by nature (each update depends on the previous weights), so it is a plain
loop over trades on a handful of floats.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from rl_pipeline.config import SessionConfig


@dataclass(frozen=True)
class WeightRule:
    learning_rate: float = 0.01
    reward_multiplier: float = 1.5
    punishment_multiplier: float = 0.8
    mode: str = "binary"
    scale_pct: float = 1.0
    g_max: float = 3.0
    min_weight: float = 0.05
    max_weight: float = 0.9

    @classmethod
    def from_config(cls, config: SessionConfig) -> WeightRule:
        w = config.weights
        return cls(
            config.learning_rate,
            config.reward_multiplier,
            config.punishment_multiplier,
            w.mode,
            w.scale_pct,
            w.g_max,
            w.min_weight,
            w.max_weight,
        )

    def step_size(self, pnl_percent: float) -> float:
        if self.mode == "binary":
            return 1.0
        return min(abs(pnl_percent) / self.scale_pct, self.g_max)


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
class WeightChange:
    """One row of model_weight_history: the change of one model's weight at update ``seq``."""

    seq: int
    model_id: str
    old_weight: float
    new_weight: float
    reason: str
    trade: ClosedTrade | None


@dataclass
class WeightPath:
    """The weights through a session: after update k the active weights are
    ``vectors[k]`` (``vectors[0]`` = the start), effective from ``update_times[k - 1]``;
    ``applied[k - 1]`` is the trade of update k."""

    initial: dict[str, float]
    final: dict[str, float]
    active: list[str] = field(default_factory=list)
    updates: int = 0
    update_times: list[str] = field(default_factory=list)
    vectors: list[list[float]] | np.ndarray = field(default_factory=list)
    applied: list[ClosedTrade] = field(default_factory=list)

    @property
    def changes(self) -> list[WeightChange]:
        """Every change of one model's weight, in update order (built on demand: the rule itself
        only keeps the vectors)."""
        out = []
        vectors = np.asarray(self.vectors, dtype=np.float64)
        for k, trade in enumerate(self.applied, start=1):
            traded = self.active.index(trade.model_id)
            reason = "reward" if trade.pnl > 0 else "punishment"
            before, after = vectors[k - 1], vectors[k]
            for j, model_id in enumerate(self.active):
                if after[j] != before[j]:
                    why = reason if j == traded else f"rebalance after {trade.model_id} {reason}"
                    out.append(
                        WeightChange(k, model_id, float(before[j]), float(after[j]), why, trade)
                    )
        return out


def project(raw: Sequence[float], min_weight: float, max_weight: float) -> list[float]:
    """Scale ``raw`` by the one factor c that makes sum(clip(c * raw, lo, hi)) == 1.

    Scaling (not shifting) keeps the ratios the rule learned among the unclipped weights. The
    bounds widen to [min(lo, 1/n), max(hi, 1/n)] when n models could not satisfy them otherwise.
    """
    n = len(raw)
    if n == 0:
        return []
    lo, hi = widened_bounds(n, min_weight, max_weight)

    def clipped(c: float) -> list[float]:
        return [min(max(c * v, lo), hi) for v in raw]

    if n * lo >= 1.0 or not any(v > 0 for v in raw):
        return [1.0 / n] * n
    breaks = sorted({b / v for v in raw if v > 0 for b in (lo, hi)})
    prev = 0.0
    for b in breaks:
        if sum(clipped(b)) >= 1.0:
            break
        prev = b
    else:
        return clipped(breaks[-1])
    mid = (prev + b) / 2.0
    free = [lo < mid * v < hi for v in raw]
    fixed_total = sum(w for w, f in zip(clipped(mid), free, strict=True) if not f)
    slope = sum(v for v, f in zip(raw, free, strict=True) if f)
    c = (1.0 - fixed_total) / slope if slope > 0 else b
    weights = clipped(c)
    total = sum(weights)
    return [w / total for w in weights]


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


def widened_bounds(n: int, min_weight: float, max_weight: float) -> tuple[float, float]:
    """[min(lo, 1/n), max(hi, 1/n)]: bounds that n weights summing to 1 can always meet."""
    return min(min_weight, 1.0 / n), max(max_weight, 1.0 / n)


def effective_bounds(n: int, rule: WeightRule) -> tuple[float, float]:
    return widened_bounds(n, rule.min_weight, rule.max_weight)


def factors(rule: WeightRule, pnl: np.ndarray, pnl_percent: np.ndarray) -> np.ndarray:
    """The multiplier of each (non-zero pnl) trade's model weight."""
    if rule.mode == "binary":
        g = np.ones(len(pnl))
    else:
        g = np.minimum(np.abs(pnl_percent) / rule.scale_pct, rule.g_max)
    return np.where(
        pnl > 0,
        1.0 + rule.learning_rate * rule.reward_multiplier * g,
        1.0 - rule.learning_rate * rule.punishment_multiplier * g,
    )


def weight_vectors(
    start: np.ndarray, model_index: np.ndarray, factor: np.ndarray, lo: float, hi: float
) -> np.ndarray:
    """(updates + 1) x models: the weight vector after each update.

    Multiplying one weight and renormalising commutes, so while no bound binds a whole run of
    updates is one cumulative product per model (vectorised); the update that would leave
    [lo, hi] is projected on its own, then the next run starts. Runs grow while they succeed.
    """
    n_updates, n = len(factor), len(start)
    vectors = np.empty((n_updates + 1, n))
    vectors[0] = start
    k, run = 0, 64
    while k < n_updates:
        size = min(run, n_updates - k)
        logs = np.zeros((size, n))
        logs[np.arange(size), model_index[k : k + size]] = np.log(factor[k : k + size])
        trial = vectors[k] * np.exp(np.cumsum(logs, axis=0))
        trial /= trial.sum(axis=1, keepdims=True)
        inside = ((trial >= lo) & (trial <= hi)).all(axis=1)
        good = size if inside.all() else int(np.argmin(inside))
        vectors[k + 1 : k + 1 + good] = trial[:good]
        k += good
        if good < size:
            raw = vectors[k].copy()
            raw[model_index[k]] *= factor[k]
            vectors[k + 1] = project(raw.tolist(), lo, hi)
            k += 1
            run = max(8, run // 4)
        else:
            run = min(run * 2, 8192)
    return vectors


def apply_trades(
    start: dict[str, float], trades: Iterable[ClosedTrade], rule: WeightRule
) -> WeightPath:
    """Run the rule over trades already sorted by (exit_time, entry_time, trade_id)."""
    active = [m for m, w in start.items() if w > 0]
    index = {m: i for i, m in enumerate(active)}
    applied = [t for t in trades if t.pnl != 0.0 and t.model_id in index]
    path = WeightPath(initial=dict(start), final=dict(start), active=active, applied=applied)
    path.update_times = [t.exit_time for t in applied]
    path.updates = len(applied)
    if not active:
        path.vectors = np.zeros((1, 0))
        return path
    lo, hi = effective_bounds(len(active), rule)
    path.vectors = weight_vectors(
        np.array([start[m] for m in active], dtype=np.float64),
        np.array([index[t.model_id] for t in applied], dtype=np.int64),
        factors(
            rule,
            np.array([t.pnl for t in applied], dtype=np.float64),
            np.array([t.pnl_percent for t in applied], dtype=np.float64),
        ),
        lo,
        hi,
    )
    path.final = {m: 0.0 for m in start}
    path.final.update({m: float(w) for m, w in zip(active, path.vectors[-1], strict=True)})
    return path
