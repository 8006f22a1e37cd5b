"""The parameters every update rule reads (a plain view of ``SessionConfig`` for the core)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rl_pipeline.config import SessionConfig

TRADE = "trade"
_DURATION = re.compile(r"^(\d+)(min|h|d)$")
_SECONDS = {"min": 60, "h": 3_600, "d": 86_400}


@dataclass(frozen=True)
class UpdatePeriod:
    """When weights update: after every closed trade, every ``bars`` distinct bar times, or
    every ``seconds`` of UTC clock time (periods aligned on multiples of it since the epoch)."""

    bars: int | None = None
    seconds: int | None = None

    @property
    def per_trade(self) -> bool:
        return self.bars is None and self.seconds is None


def parse_update_every(value: str | int) -> UpdatePeriod:
    """``trade``, a bar count (``24``) or a duration (``30min``, ``1h``, ``4h``, ``1d``)."""
    text = str(value).strip()
    if text == TRADE:
        return UpdatePeriod()
    if text.isdigit() and int(text) >= 1:
        return UpdatePeriod(bars=int(text))
    match = _DURATION.match(text)
    if match and int(match.group(1)) >= 1:
        return UpdatePeriod(seconds=int(match.group(1)) * _SECONDS[match.group(2)])
    raise ValueError(
        f"update_every must be 'trade', a bar count (e.g. 24) or a duration such as 30min, 1h, "
        f"1d; got {value!r}"
    )


@dataclass(frozen=True)
class WeightRule:
    """Which rule, and its parameters. ``learning_rate`` is eta for every rule: the step per
    trade of ``binary``/``pnl_scaled``, the exponent per percent of ``trade_size`` earned of
    ``hedge``/``fixed_share``."""

    learning_rate: float = 0.01
    reward_multiplier: float = 1.5
    punishment_multiplier: float = 0.8
    rule: str = "binary"
    scale_pct: float = 1.0
    g_max: float = 3.0
    min_weight: float = 0.05
    max_weight: float = 0.9
    update_every: str = TRADE
    return_clip_pct: float = 10.0
    share_alpha: float = 0.002

    @classmethod
    def from_config(cls, config: SessionConfig, rule: str | None = None) -> WeightRule:
        """The session's rule, or another registered ``rule`` with the same parameters."""
        w = config.weights
        return cls(
            config.learning_rate,
            config.reward_multiplier,
            config.punishment_multiplier,
            rule or w.rule,
            w.scale_pct,
            w.g_max,
            w.min_weight,
            w.max_weight,
            str(w.update_every),
            w.return_clip_pct,
            w.share_alpha,
        )

    @property
    def period(self) -> UpdatePeriod:
        return parse_update_every(self.update_every)

    def step_size(self, pnl_percent: float) -> float:
        """g of the specification's rule: 1 in ``binary`` mode, scaled by the return otherwise."""
        if self.rule == "binary":
            return 1.0
        return min(abs(pnl_percent) / self.scale_pct, self.g_max)
