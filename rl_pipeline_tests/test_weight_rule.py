"""The reinforcement rule over sequences of wins and losses on several active models."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rl_pipeline.rl.weight_update import (
    ClosedTrade,
    WeightRule,
    apply_trades,
    project,
    session_start_weights,
)

LOOSE = WeightRule(min_weight=0.0, max_weight=1.0)


def trade(n: int, model: str, pnl: float, pnl_percent: float | None = None) -> ClosedTrade:
    pct = pnl / 100 if pnl_percent is None else pnl_percent
    return ClosedTrade(f"t{n}", model, pnl, pct, f"2026-01-01 0{n}:00:00", "2026-01-01 00:00:00")


def normalise(w: dict[str, float]) -> dict[str, float]:
    total = sum(w.values())
    return {k: v / total for k, v in w.items()}


def test_wins_and_losses_by_hand() -> None:
    start = {"a": 0.25, "b": 0.35, "c": 0.40}
    trades = [trade(1, "a", 12.0), trade(2, "b", -3.0), trade(3, "c", 0.0), trade(4, "a", -1.0)]
    path = apply_trades(start, trades, LOOSE)
    w = dict(start)
    w["a"] *= 1 + 0.01 * 1.5  # win
    w = normalise(w)
    w["b"] *= 1 - 0.01 * 0.8  # loss
    w = normalise(w)
    # trade 3 breaks even: no change
    w["a"] *= 1 - 0.01 * 0.8
    w = normalise(w)
    assert path.final == pytest.approx(w, abs=1e-15)
    assert sum(path.final.values()) == pytest.approx(1.0, abs=1e-12)
    assert path.updates == 3
    # Every change is logged, with the traded model's reason and the others' rebalance.
    reasons = {(c.seq, c.model_id): c.reason for c in path.changes}
    assert reasons[(1, "a")] == "reward"
    assert reasons[(1, "b")] == "rebalance after a reward"
    assert reasons[(2, "b")] == "punishment"
    assert not any(c.trade.trade_id == "t3" for c in path.changes)


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
    path = apply_trades(start, [trade(i, "a", 5.0) for i in range(1, 9)], rule)
    assert path.final["a"] == pytest.approx(0.6)
    assert path.final["b"] >= 0.1 and path.final["c"] >= 0.1
    assert sum(path.final.values()) == pytest.approx(1.0, abs=1e-12)
    # The unclipped models keep the ratio they had.
    assert path.final["b"] / path.final["c"] == pytest.approx(0.3 / 0.4)


def test_pnl_scaled_mode() -> None:
    rule = WeightRule(mode="pnl_scaled", scale_pct=2.0, g_max=3.0, min_weight=0.0, max_weight=1.0)
    start = {"a": 0.5, "b": 0.5}
    one = apply_trades(start, [trade(1, "a", 10.0, pnl_percent=1.0)], rule).final
    assert one["a"] == pytest.approx(0.5 * (1 + 0.015 * 0.5) / (0.5 * (1 + 0.015 * 0.5) + 0.5))
    capped = apply_trades(start, [trade(1, "a", -10.0, pnl_percent=-50.0)], rule).final
    assert capped["a"] == pytest.approx(0.5 * (1 - 0.008 * 3) / (0.5 * (1 - 0.008 * 3) + 0.5))


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
    assert session_start_weights({"a": 0.25, "b": 0.4}, ["a"], WeightRule()) == {"a": 1.0, "b": 0.0}


def sequential_reference(start, trades, rule):
    """The documented rule (docs/SEMANTICS.md), one trade at a time: multiply, then project."""
    active = [m for m, w in start.items() if w > 0]
    weights = [start[m] for m in active]
    for t in trades:
        if t.pnl == 0 or t.model_id not in active:
            continue
        g = rule.step_size(t.pnl_percent)
        raw = list(weights)
        i = active.index(t.model_id)
        if t.pnl > 0:
            raw[i] *= 1 + rule.learning_rate * rule.reward_multiplier * g
        else:
            raw[i] *= 1 - rule.learning_rate * rule.punishment_multiplier * g
        weights = project(raw, rule.min_weight, rule.max_weight)
    return dict(zip(active, weights, strict=True))


@settings(max_examples=80, deadline=None)
@given(
    outcomes=st.lists(
        st.tuples(st.sampled_from("abcd"), st.floats(-50, 50, allow_nan=False)), max_size=300
    ),
    learning_rate=st.sampled_from([0.01, 0.1, 0.4]),
    bounds=st.sampled_from([(0.0, 1.0), (0.05, 0.9), (0.2, 0.35)]),
    mode=st.sampled_from(["binary", "pnl_scaled"]),
)
def test_vectorised_rule_equals_the_sequential_rule(outcomes, learning_rate, bounds, mode):
    rule = WeightRule(
        learning_rate=learning_rate, min_weight=bounds[0], max_weight=bounds[1], mode=mode
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
