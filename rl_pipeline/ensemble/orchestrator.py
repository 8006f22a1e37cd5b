"""The multi-AI orchestrator (docs/SEMANTICS.md): the ensemble's score at bar t is
sum_m w_m(t) * signal_m,t * confidence_m,t, with w(t) the weights after the trades that closed
before bar t; it goes LONG or SHORT when |score| >= threshold."""

from __future__ import annotations

import numpy as np

from rl_pipeline.models.base import Signals
from rl_pipeline.rl.weight_update import WeightPath
from rl_pipeline.timestamps import parse_time


def weights_before_each_bar(path: WeightPath, bar_times: np.ndarray) -> np.ndarray:
    """(bars x active models): the weight vector in force at each bar (UTC epoch seconds).

    An update made when a trade exited at time e is in force for bars strictly after e."""
    update_s = parse_time(path.update_times)
    count = np.searchsorted(update_s, bar_times, side="left")
    return np.asarray(path.vectors, dtype=np.float64)[count]


def ensemble_signals(
    weights: np.ndarray, signals: np.ndarray, confidences: np.ndarray, threshold: float
) -> Signals:
    """``weights``, ``signals`` and ``confidences`` are (bars x models)."""
    score = np.sum(weights * signals * confidences, axis=1)
    direction = np.where(np.abs(score) >= threshold, np.sign(score), 0).astype(np.int8)
    confidence = np.where(direction != 0, np.clip(np.abs(score), 0.0, 1.0), 0.0)
    return Signals(direction, confidence)
