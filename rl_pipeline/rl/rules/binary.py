"""The specification's rule: a fixed step up for a win, down for a loss, whatever the size."""

from __future__ import annotations

import numpy as np

from rl_pipeline.rl.parameters import WeightRule
from rl_pipeline.rl.rules.base import UpdateRule


def reward_or_punish(pnl: np.ndarray, g: np.ndarray, p: WeightRule) -> np.ndarray:
    """1 + eta R g for a win, 1 - eta P g for a loss, 1 when the outcome is exactly 0."""
    return np.where(
        pnl > 0,
        1.0 + p.learning_rate * p.reward_multiplier * g,
        np.where(pnl < 0, 1.0 - p.learning_rate * p.punishment_multiplier * g, 1.0),
    )


class BinaryRule(UpdateRule):
    name = "binary"
    summary = "w *= 1 + eta*R on a win, 1 - eta*P on a loss (the specification's rule)"

    def factors(self, pnl: np.ndarray, pnl_percent: np.ndarray, p: WeightRule) -> np.ndarray:
        return reward_or_punish(pnl, np.ones(len(pnl)), p)
