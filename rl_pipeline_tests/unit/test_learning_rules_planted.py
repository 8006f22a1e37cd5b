"""The update rules on synthetic outcomes whose truth is planted: which model has the edge, and
when the regime switches, is known in advance; the number of periods each rule may take is
derived below from the rule, not read off the code's output."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rl_pipeline.evaluation.bootstrap import paired_block_bootstrap
from rl_pipeline.rl.weight_update import (
    ClosedTrade,
    PeriodOutcome,
    WeightRule,
    apply_periods,
    apply_trades,
)
from rl_pipeline.timestamps import format_time

MODELS = ("edge", "loser_1", "loser_2", "loser_3")
T0 = 1_767_225_600  # 2026-01-01 00:00:00 UTC


def periods_from(returns: np.ndarray) -> list[PeriodOutcome]:
    """(periods x models) returns in % of trade_size (trade_size 10,000)."""
    return [
        PeriodOutcome(
            str(format_time(np.array([T0 + 3600 * k]))[0]),
            str(format_time(np.array([T0 + 3600 * k + 3599]))[0]),
            {m: float(r) * 100 for m, r in zip(MODELS, row, strict=True)},
            {m: float(r) for m, r in zip(MODELS, row, strict=True)},
        )
        for k, row in enumerate(returns)
    ]


def periods_needed(eta: float, gap: float, sigma: float, log_ratio: float, z: float = 4.0) -> int:
    """Smallest T with eta * (T * gap - z * sigma * sqrt(2 T)) >= log_ratio.

    log(w_i / w_j) moves by eta * (r_i - r_j) per period under hedge; r_i - r_j has mean
    ``gap`` and standard deviation sigma * sqrt(2), so after T periods the sum falls short of
    T * gap by more than z * sigma * sqrt(2 T) with probability < 1e-4 (z = 4, Gaussian tail):
    at that T the ratio exceeds exp(log_ratio) against each loser with overwhelming odds."""
    root = z * sigma * math.sqrt(2) + math.sqrt(2 * z**2 * sigma**2 + 4 * gap * log_ratio / eta)
    return math.ceil((root / (2 * gap)) ** 2)


@pytest.mark.parametrize("rule", ["hedge", "fixed_share"])
def test_a_model_with_an_edge_among_losers_gets_most_of_the_free_mass(rule: str) -> None:
    eta, gap, sigma = 0.01, 1.0, 1.0  # the default learning rate; +-0.5 % per period
    n = len(MODELS)
    alpha = 0.002
    # Hedge: the edge model holds the majority once w_edge / w_loser > n - 1 for every loser
    # (equal start), a log ratio of ln(n - 1). Fixed share then mixes: with b a loser's weight,
    # ((1 - alpha) a + alpha/n) / ((1 - alpha) b + alpha/n) costs the log ratio at most
    # alpha / (n (1 - alpha) b) per period, and until the majority is reached b >= 1/(2(n-1)),
    # so fixed share is hedge with the gap reduced by 2 (n - 1) alpha / (n (1 - alpha) eta).
    lost = 2 * (n - 1) * alpha / (n * (1 - alpha) * eta) if rule == "fixed_share" else 0.0
    T = periods_needed(eta, gap - lost, sigma, math.log(n - 1))
    rng = np.random.default_rng(11)
    returns = rng.normal(-0.5, sigma, size=(T, n))
    returns[:, 0] += gap
    params = WeightRule(
        rule=rule, learning_rate=eta, share_alpha=alpha, min_weight=0.0, max_weight=1.0
    )
    path = apply_periods({m: 1 / n for m in MODELS}, periods_from(returns), params)
    assert path.final["edge"] > 0.5
    assert path.final["edge"] == max(path.final.values())
    # Before a tenth of that horizon it has not got there yet: the bound is not vacuous.
    early = apply_periods({m: 1 / n for m in MODELS}, periods_from(returns[: T // 10]), params)
    assert early.final["edge"] < 0.5


def test_binary_favours_a_high_win_rate_loser_over_a_low_win_rate_winner() -> None:
    """The documented flaw: binary pays the count of wins, not their size."""
    rng = np.random.default_rng(3)
    trades, pnl = [], {"often": 0.0, "rarely": 0.0}
    for k in range(400):
        model = ("often", "rarely")[k % 2]
        win = rng.random() < (0.7 if model == "often" else 0.3)
        # often: wins 70 % by 10, loses by 40 (loses money); rarely: wins 30 % by 50, loses 10.
        value = (10.0 if win else -40.0) if model == "often" else (50.0 if win else -10.0)
        pnl[model] += value
        t = f"2026-01-01 00:{k // 60:02d}:{k % 60:02d}"
        trades.append(ClosedTrade(f"t{k}", model, value, value / 100, t, t))
    assert pnl["often"] < 0 < pnl["rarely"]
    start = {"often": 0.5, "rarely": 0.5}
    binary = apply_trades(start, trades, WeightRule(rule="binary"))
    hedge = apply_trades(start, trades, WeightRule(rule="hedge"))
    assert binary.final["often"] > binary.final["rarely"]
    assert hedge.final["rarely"] > hedge.final["often"]


def test_after_a_regime_switch_fixed_share_moves_faster_than_hedge() -> None:
    eta, gap, sigma, alpha, n = 0.1, 1.0, 1.0, 0.01, len(MODELS)
    regime = 300
    rng = np.random.default_rng(5)
    first = rng.normal(-0.5, sigma, size=(regime, n))
    first[:, 0] += gap  # "edge" is best
    second = rng.normal(-0.5, sigma, size=(regime, n))
    second[:, 1] += gap  # then "loser_1" is best
    periods = periods_from(np.vstack([first, second]))
    # Fixed share keeps every weight >= alpha/n, so the new best climbs from at worst alpha/n:
    # it needs log ratio ln((n - 1) * n / alpha) against each other model. Hedge starts the
    # second regime with the new best at about exp(-eta * gap * regime) of the old best, and
    # needs about `regime` periods just to undo that.
    horizon = periods_needed(eta, gap, sigma, math.log((n - 1) * n / alpha))
    assert horizon < regime / 2
    bounds = {"min_weight": 0.0, "max_weight": 1.0, "learning_rate": eta, "share_alpha": alpha}
    start = {m: 1 / n for m in MODELS}
    shared = apply_periods(
        start, periods[: regime + horizon], WeightRule(rule="fixed_share", **bounds)
    )
    hedge = apply_periods(start, periods[: regime + horizon], WeightRule(rule="hedge", **bounds))
    assert shared.final["loser_1"] > 0.5
    assert hedge.final["loser_1"] < 0.5
    assert hedge.final["edge"] > 0.5


def test_the_bootstrap_interval_covers_a_planted_mean_difference() -> None:
    """200 seeded simulations of 250 days of autocorrelated daily P&L differences (AR(1),
    phi 0.3) with a planted mean of 5: the 95 % interval must cover 5 in at least 90 %."""
    covered, n, phi = 0, 250, 0.3
    for s in range(200):
        rng = np.random.default_rng(1000 + s)
        noise = rng.normal(0.0, 50.0, n)
        x = np.empty(n)
        x[0] = noise[0]
        for t in range(1, n):
            x[t] = phi * x[t - 1] + noise[t]
        v = paired_block_bootstrap(5.0 + x, resamples=1000, seed=s)
        covered += v.ci_low <= 5.0 <= v.ci_high
    assert covered >= 180


def test_the_verdict_says_yes_no_and_inconclusive() -> None:
    rng = np.random.default_rng(2)
    assert paired_block_bootstrap(rng.normal(30, 10, 60)).answer == "yes"
    assert paired_block_bootstrap(rng.normal(-30, 10, 60)).answer == "no"
    assert paired_block_bootstrap(rng.normal(0, 10, 60)).answer == "inconclusive"
    assert paired_block_bootstrap(np.array([5.0])).answer == "inconclusive"
    # Seeded: the same differences and seed give the same verdict, another seed another draw.
    d = rng.normal(1, 10, 60)
    assert paired_block_bootstrap(d, seed=9) == paired_block_bootstrap(d.copy(), seed=9)
    assert paired_block_bootstrap(d, seed=9).ci_low != paired_block_bootstrap(d, seed=10).ci_low
