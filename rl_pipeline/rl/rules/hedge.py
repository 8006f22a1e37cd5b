"""Hedge (Freund and Schapire): exponential weights on each model's own return."""

from __future__ import annotations

import numpy as np

from rl_pipeline.rl.parameters import WeightRule
from rl_pipeline.rl.rules.base import UpdateRule, clipped_return


class HedgeRule(UpdateRule):
    name = "hedge"
    summary = "w *= exp(eta * r), r = the model's pnl in % of trade_size, clipped"

    def factors(self, pnl: np.ndarray, pnl_percent: np.ndarray, p: WeightRule) -> np.ndarray:
        return np.exp(p.learning_rate * clipped_return(pnl_percent, p))
