"""The verdict on learning: a paired moving-block bootstrap of daily P&L differences.

Daily P&L of two strategies on the same days are paired, so the test is on their differences
d_1..d_n. Days are serially dependent (positions span days, regimes last weeks), so the
bootstrap resamples blocks of ``block_length`` consecutive days (circularly wrapped), by
default ceil(n ** (1/3)) days, the usual rate for the mean. The 95 % interval is the percentile
interval of the resampled means; the p-value is two-sided against "no difference": the share
of resampled means, centred on the observed mean, at least as far from it as the observed mean
is from 0. The answer is ``yes`` when the interval lies above 0, ``no`` when it lies below,
``inconclusive`` otherwise (always with fewer than two days).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Verdict:
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    answer: str
    days: int
    block_length: int
    resamples: int
    seed: int

    def as_dict(self) -> dict:
        return asdict(self)


def default_block_length(days: int) -> int:
    return max(1, math.ceil(days ** (1.0 / 3.0)))


def paired_block_bootstrap(
    differences: np.ndarray,
    resamples: int = 2000,
    seed: int = 7,
    block_length: int | None = None,
    confidence: float = CONFIDENCE,
) -> Verdict:
    """The verdict on mean(differences) > 0 (see the module docstring) at ``confidence``
    (default 95 %; a family of N comparisons uses 1 - 0.05 / N, Bonferroni)."""
    d = np.asarray(differences, dtype=np.float64)
    n = len(d)
    length = block_length or default_block_length(max(n, 1))
    if n < 2:
        mean = float(d.mean()) if n else None
        return Verdict(mean, None, None, None, "inconclusive", n, length, resamples, seed)
    length = min(length, n)
    rng = np.random.default_rng(seed)
    blocks = math.ceil(n / length)
    starts = rng.integers(0, n, size=(resamples, blocks))
    # A resample is blocks - 1 whole blocks and the first `tail` days of one more; the sums of
    # every circular window of those two lengths are taken once from a cumulative sum.
    tail = n - (blocks - 1) * length
    cumulative = np.concatenate(([0.0], np.cumsum(np.concatenate((d, d)))))
    first = np.arange(n)
    whole = cumulative[first + length] - cumulative[first]
    partial = cumulative[first + tail] - cumulative[first]
    means = (whole[starts[:, :-1]].sum(axis=1) + partial[starts[:, -1]]) / n
    mean = float(d.mean())
    alpha = (1.0 - confidence) / 2.0
    low, high = (float(x) for x in np.quantile(means, [alpha, 1.0 - alpha]))
    extreme = np.count_nonzero(np.abs(means - mean) >= abs(mean))
    p_value = (1 + extreme) / (resamples + 1)
    answer = "yes" if low > 0 else "no" if high < 0 else "inconclusive"
    return Verdict(mean, low, high, float(p_value), answer, n, length, resamples, seed)
