"""Fixed share (Herbster and Warmuth): hedge, then a fraction alpha of the acting models' mass
shared equally among them, so weight can return to a model whose regime comes back."""

from __future__ import annotations

import numpy as np

from rl_pipeline.rl.parameters import WeightRule
from rl_pipeline.rl.rules.hedge import HedgeRule


class FixedShareRule(HedgeRule):
    name = "fixed_share"
    summary = "hedge, then w = (1 - alpha) w + alpha * mass / n over the acting models"
    shares = True

    def share(self, weights: np.ndarray, mass: float, p: WeightRule) -> np.ndarray:
        return (1.0 - p.share_alpha) * weights + p.share_alpha * mass / len(weights)
