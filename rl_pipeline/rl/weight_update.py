"""The reinforcement rule (DESIGN.md section 4): multiplicative reward and punishment per closed
trade, then projection of the active weights onto the capped simplex.

The rule is sequential by nature (each update depends on the previous weights), so it is a plain
loop over trades on a handful of floats.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

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
    ``vectors[k]`` (``vectors[0]`` = the start), effective from ``update_times[k - 1]``."""

    initial: dict[str, float]
    final: dict[str, float]
    active: list[str] = field(default_factory=list)
    changes: list[WeightChange] = field(default_factory=list)
    updates: int = 0
    update_times: list[str] = field(default_factory=list)
    vectors: list[list[float]] = field(default_factory=list)


def project(raw: Sequence[float], min_weight: float, max_weight: float) -> list[float]:
    """Scale ``raw`` by the one factor c that makes sum(clip(c * raw, lo, hi)) == 1.

    Scaling (not shifting) keeps the ratios the rule learned among the unclipped weights. The
    bounds widen to [min(lo, 1/n), max(hi, 1/n)] when n models could not satisfy them otherwise.
    """
    n = len(raw)
    if n == 0:
        return []
    lo, hi = min(min_weight, 1.0 / n), max(max_weight, 1.0 / n)

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


def apply_trades(
    start: dict[str, float], trades: Iterable[ClosedTrade], rule: WeightRule
) -> WeightPath:
    """Run the rule over trades already sorted by (exit_time, entry_time, trade_id)."""
    active = [m for m, w in start.items() if w > 0]
    index = {m: i for i, m in enumerate(active)}
    weights = [start[m] for m in active]
    path = WeightPath(initial=dict(start), final=dict(start), active=active, vectors=[weights])
    for trade in trades:
        if trade.pnl == 0.0 or trade.model_id not in index:
            continue
        g = rule.step_size(trade.pnl_percent)
        i = index[trade.model_id]
        raw = list(weights)
        if trade.pnl > 0:
            raw[i] *= 1.0 + rule.learning_rate * rule.reward_multiplier * g
            reason = "reward"
        else:
            raw[i] *= 1.0 - rule.learning_rate * rule.punishment_multiplier * g
            reason = "punishment"
        new = project(raw, rule.min_weight, rule.max_weight)
        path.updates += 1
        for m, j in index.items():
            if new[j] != weights[j]:
                why = reason if j == i else f"rebalance after {trade.model_id} {reason}"
                path.changes.append(WeightChange(path.updates, m, weights[j], new[j], why, trade))
        weights = new
        path.update_times.append(trade.exit_time)
        path.vectors.append(new)
    path.final = {m: 0.0 for m in start}
    path.final.update(dict(zip(active, weights, strict=True)))
    return path
