"""The weight engine over sequences of wins and losses on several active models, for every
registered rule, with the sleeping-experts convention (docs/SEMANTICS.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rl_pipeline.rl.rules import rule_names
from rl_pipeline.rl.weight_update import (
    ClosedTrade,
    PeriodOutcome,
    WeightRule,
    apply_periods,
    apply_trades,
    project,
    session_start_weights,
)

LOOSE = WeightRule(min_weight=0.0, max_weight=1.0)


def trade(n: int, model: str, pnl: float, pnl_percent: float | None = None) -> ClosedTrade:
    pct = pnl / 100 if pnl_percent is None else pnl_percent
    return ClosedTrade(f"t{n}", model, pnl, pct, f"2026-01-01 0{n}:00:00", "2026-01-01 00:00:00")


def rescaled(w: dict[str, float], models: str, mass: float) -> dict[str, float]:
    """``models``' weights scaled to ``mass``, the others untouched."""
    total = sum(w[m] for m in models)
    return {k: (v / total * mass if k in models else v) for k, v in w.items()}


def test_wins_and_losses_by_hand_with_sleeping_models() -> None:
    start = {"a": 0.25, "b": 0.35, "c": 0.40}
    trades = [
        trade(1, "a", 12.0),
        trade(2, "b", -3.0),
        trade(3, "c", 0.0),
        trade(4, "a", -1.0),
        trade(5, "c", 2.0),
    ]
    path = apply_trades(start, trades, LOOSE)
    w = dict(start)
    # 1: a is the only model that has acted: its mass (0.25) cannot move.
    # 2: b acts too: b loses, a and b share their 0.6; c sleeps at 0.40.
    w["b"] *= 1 - 0.01 * 0.8
    w = rescaled(w, "ab", 0.6)
    # 3: breaks even: no update, and c has still not acted.
    assert path.vectors[2][2] == 0.40
    w["a"] *= 1 - 0.01 * 0.8  # 4
    w = rescaled(w, "ab", 0.6)
    w["c"] *= 1 + 0.01 * 1.5  # 5: c acts; now all three share the whole mass
    w = rescaled(w, "abc", 1.0)
    assert path.final == pytest.approx(w, abs=1e-15)
    assert sum(path.final.values()) == pytest.approx(1.0, abs=1e-12)
    assert path.updates == 4
    assert path.acted == ["a", "b", "c"]
    reasons = {(c.seq, c.model_id): c.reason for c in path.changes}
    assert (1, "a") not in reasons  # a lone acting model keeps its weight
    assert reasons[(2, "b")] == "punishment"
    assert reasons[(2, "a")] == "rebalance after b punishment"
    assert reasons[(4, "c")] == "reward"
    assert not any(c.model_id == "c" for c in path.changes if c.seq < 4)


def test_a_model_that_never_acts_keeps_its_start_weight_exactly() -> None:
    start = {"a": 0.2, "b": 0.3, "c": 0.5}
    trades = [trade(i, "ab"[i % 2], (-1) ** i * (i + 1)) for i in range(1, 9)]
    for name in rule_names():
        path = apply_trades(start, trades, WeightRule(rule=name))
        assert path.final["c"] == 0.5, name
        assert path.final["a"] + path.final["b"] == pytest.approx(0.5, abs=1e-15), name
        assert path.acted == ["a", "b"]


def test_history_rebuilds_the_weight_vector_at_every_update() -> None:
    start = {"a": 0.2, "b": 0.3, "c": 0.5}
    trades = [trade(i, "abc"[i % 3], (-1) ** i * (i + 1)) for i in range(1, 9)]
    path = apply_trades(start, trades, WeightRule())
    vector = dict(start)
    for change in path.changes:
        assert vector[change.model_id] == change.old_weight
        vector[change.model_id] = change.new_weight
    assert vector == path.final


def test_bounds_hold_and_sum_is_one() -> None:
    rule = WeightRule(learning_rate=0.5, reward_multiplier=1.5, min_weight=0.1, max_weight=0.6)
    start = {"a": 0.3, "b": 0.3, "c": 0.4}
    # b and c act first (c alone cannot move; then one win each keeps their ratio).
    wake = [trade(1, "c", 1e-9), trade(2, "b", 1e-9), trade(3, "c", 1e-9)]
    path = apply_trades(start, wake + [trade(i, "a", 5.0) for i in range(4, 10)], rule)
    assert path.final["a"] == pytest.approx(0.6)
    assert path.final["b"] >= 0.1 and path.final["c"] >= 0.1
    assert sum(path.final.values()) == pytest.approx(1.0, abs=1e-12)
    # The unclipped models keep the ratio they had (both won once while acting together).
    assert path.final["b"] / path.final["c"] == pytest.approx(0.3 / 0.4)


def test_pnl_scaled_mode() -> None:
    rule = WeightRule(rule="pnl_scaled", scale_pct=2.0, g_max=3.0, min_weight=0.0, max_weight=1.0)
    start = {"a": 0.5, "b": 0.5}
    wake = trade(0, "b", 1e-9, pnl_percent=0.0)  # b acts, with a step of g = 0
    one = apply_trades(start, [wake, trade(1, "a", 10.0, pnl_percent=1.0)], rule).final
    assert one["a"] == pytest.approx(0.5 * (1 + 0.015 * 0.5) / (0.5 * (1 + 0.015 * 0.5) + 0.5))
    capped = apply_trades(start, [wake, trade(1, "a", -10.0, pnl_percent=-50.0)], rule).final
    assert capped["a"] == pytest.approx(0.5 * (1 - 0.008 * 3) / (0.5 * (1 - 0.008 * 3) + 0.5))


def test_hedge_and_fixed_share_by_hand_on_periods() -> None:
    rule = WeightRule(
        rule="hedge", learning_rate=0.1, min_weight=0.0, max_weight=1.0, share_alpha=0.05
    )
    start = {"a": 0.5, "b": 0.3, "c": 0.2}
    periods = [
        PeriodOutcome("p1", "2026-01-01 00:00:00", {"a": 50.0, "b": -20.0}, {"a": 0.5, "b": -0.2}),
        PeriodOutcome("p2", "2026-01-02 00:00:00", {"a": 0.0, "b": 900.0}, {"a": 0.0, "b": 90.0}),
    ]
    hedge = apply_periods(start, periods, rule)
    a, b = 0.5 * math.exp(0.1 * 0.5), 0.3 * math.exp(0.1 * -0.2)
    # Period 2: b's 90 % is clipped to return_clip_pct (10 %).
    b *= math.exp(0.1 * 10.0)
    assert hedge.final == pytest.approx({"a": a / (a + b) * 0.8, "b": b / (a + b) * 0.8, "c": 0.2})
    shared = apply_periods(start, periods, WeightRule(**{**rule.__dict__, "rule": "fixed_share"}))
    a, b = 0.5 * math.exp(0.05), 0.3 * math.exp(-0.02)
    a, b = a / (a + b) * 0.8, b / (a + b) * 0.8
    a, b = 0.95 * a + 0.05 * 0.4, 0.95 * b + 0.05 * 0.4
    a, b = a, b * math.exp(1.0)
    a, b = a / (a + b) * 0.8, b / (a + b) * 0.8
    a, b = 0.95 * a + 0.05 * 0.4, 0.95 * b + 0.05 * 0.4
    assert shared.final == pytest.approx({"a": a, "b": b, "c": 0.2}, abs=1e-15)
    assert shared.updates == 2 and shared.update_times == [p.end for p in periods]


def test_inactive_models_hold_zero_and_new_ones_start_at_min_weight() -> None:
    rule = WeightRule(min_weight=0.05, max_weight=0.9)
    live = {"a": 0.25, "b": 0.35, "c": 0.40, "d": 0.0}
    start = session_start_weights(live, ["a", "b", "d"], rule)
    assert start["c"] == 0.0
    raw_total = 0.25 + 0.35 + 0.05
    assert start == pytest.approx(
        {"a": 0.25 / raw_total, "b": 0.35 / raw_total, "c": 0.0, "d": 0.05 / raw_total}
    )
    path = apply_trades(start, [trade(1, "c", 50.0), trade(2, "a", 5.0)], rule)
    assert path.final["c"] == 0.0  # an inactive model's trade changes nothing
    assert path.updates == 1


def test_single_active_model_gets_everything() -> None:
    assert project([0.25], 0.05, 0.9) == [1.0]
    assert project([0.25, 0.5], 0.05, 0.9, total=0.3) == pytest.approx([0.1, 0.2])


def test_projection_of_one_overwhelming_weight_with_min_weight_zero() -> None:
    """Rounding put the scale at 0 (every weight clipped to 0, then 0 / 0): found by a sweep
    with a huge reward_multiplier. The overwhelming model takes all the weight."""
    raw = [0.6349990135439947, 4.1745100194709473e298, 0.28015986065926696]
    weights = project(raw, 0.0, 1.0)
    assert weights == pytest.approx([0.0, 1.0, 0.0], abs=1e-12)
    assert sum(weights) == pytest.approx(1.0)
    assert session_start_weights({"a": 0.25, "b": 0.4}, ["a"], WeightRule()) == {"a": 1.0, "b": 0.0}


def sequential_reference(start, trades, rule):
    """The documented engine (docs/SEMANTICS.md), one trade at a time: multiply the trading
    model's weight, project the models that have acted onto their mass, share (fixed_share)."""
    active = [m for m, w in start.items() if w > 0]
    weights = dict((m, start[m]) for m in active)
    acted: list[str] = []
    for t in trades:
        if t.pnl == 0 or t.model_id not in active:
            continue
        if t.model_id not in acted:
            acted.append(t.model_id)
        awake = [m for m in active if m in acted]
        mass = 1.0 if len(awake) == len(active) else sum(weights[m] for m in awake)
        if rule.rule in ("hedge", "fixed_share"):
            r = max(-rule.return_clip_pct, min(rule.return_clip_pct, t.pnl_percent))
            factor = math.exp(rule.learning_rate * r)
        else:
            g = rule.step_size(t.pnl_percent)
            step = rule.reward_multiplier if t.pnl > 0 else -rule.punishment_multiplier
            factor = 1 + rule.learning_rate * step * g
        raw = [weights[m] * (factor if m == t.model_id else 1.0) for m in awake]
        new = project(raw, rule.min_weight, rule.max_weight, mass)
        if rule.rule == "fixed_share":
            new = [(1 - rule.share_alpha) * w + rule.share_alpha * mass / len(new) for w in new]
        weights.update(zip(awake, new, strict=True))
    return weights


@settings(max_examples=80, deadline=None)
@given(
    outcomes=st.lists(
        st.tuples(st.sampled_from("abcd"), st.floats(-50, 50, allow_nan=False)), max_size=300
    ),
    learning_rate=st.sampled_from([0.01, 0.1, 0.4]),
    bounds=st.sampled_from([(0.0, 1.0), (0.05, 0.9), (0.2, 0.35)]),
    name=st.sampled_from(rule_names()),
)
def test_vectorised_engine_equals_the_sequential_rule(outcomes, learning_rate, bounds, name):
    rule = WeightRule(
        learning_rate=learning_rate, min_weight=bounds[0], max_weight=bounds[1], rule=name
    )
    start = session_start_weights({"a": 0.3, "b": 0.3, "c": 0.4, "d": 0.0}, "abc", rule)
    trades = [trade(i, m, pnl, pnl_percent=pnl / 10) for i, (m, pnl) in enumerate(outcomes)]
    path = apply_trades(start, trades, rule)
    expected = sequential_reference(start, trades, rule)
    assert {m: path.final[m] for m in expected} == pytest.approx(expected, rel=1e-9, abs=1e-12)
    lo, hi = min(bounds[0], 1 / 3), max(bounds[1], 1 / 3)
    vectors = np.asarray(path.vectors)
    assert np.all(vectors >= lo - 1e-12) and np.all(vectors <= hi + 1e-12)
    np.testing.assert_allclose(vectors.sum(axis=1), 1.0, atol=1e-12)
