"""The specification's rule with each step scaled by the size of the return."""

from __future__ import annotations

import numpy as np

from rl_pipeline.rl.parameters import WeightRule
from rl_pipeline.rl.rules.base import UpdateRule
from rl_pipeline.rl.rules.binary import reward_or_punish


class PnlScaledRule(UpdateRule):
    name = "pnl_scaled"
    summary = "as binary, the step scaled by g = min(|pnl_percent| / scale_pct, g_max)"

    def factors(self, pnl: np.ndarray, pnl_percent: np.ndarray, p: WeightRule) -> np.ndarray:
        g = np.minimum(np.abs(pnl_percent) / p.scale_pct, p.g_max)
        return reward_or_punish(pnl, g, p)
