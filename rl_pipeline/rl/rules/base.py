"""The interface of an update rule: how one outcome multiplies the weight of the model it
belongs to, and (optionally) what happens to the acting models' weights after each update."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from rl_pipeline.rl.parameters import WeightRule


class UpdateRule(ABC):
    """One rule. ``factors`` must be vectorised over outcomes; a rule that ``shares`` mass after
    each update (so updates no longer commute) sets ``shares = True`` and overrides ``share``."""

    name: ClassVar[str]
    summary: ClassVar[str]
    shares: ClassVar[bool] = False

    @abstractmethod
    def factors(self, pnl: np.ndarray, pnl_percent: np.ndarray, p: WeightRule) -> np.ndarray:
        """The multiplier of each outcome's model weight (> 0)."""

    def share(self, weights: np.ndarray, mass: float, p: WeightRule) -> np.ndarray:
        """After an update (and the bounds projection) of the acting models' ``weights``, whose
        sum is ``mass``."""
        return weights


def clipped_return(pnl_percent: np.ndarray, p: WeightRule) -> np.ndarray:
    """The return the exponential rules learn from: percent of trade_size, clipped to
    +-return_clip_pct so that one outlier period cannot decide a weight."""
    return np.clip(pnl_percent, -p.return_clip_pct, p.return_clip_pct)
