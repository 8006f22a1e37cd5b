"""The multi-AI orchestrator trades on the weights learned so far; the report compares it."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

from rl_pipeline.config import SessionConfig
from rl_pipeline.ensemble.orchestrator import ensemble_signals, weights_before_each_bar
from rl_pipeline.rl.weight_update import WeightPath
from rl_pipeline.session import stages as stages
from rl_pipeline.store import results

T0 = 1_767_225_600  # 2026-01-01 00:00:00 UTC


def path_with_updates() -> WeightPath:
    return WeightPath(
        initial={"a": 0.5, "b": 0.5},
        final={"a": 0.7, "b": 0.3},
        active=["a", "b"],
        update_times=["2026-01-01 02:00:00", "2026-01-01 04:00:00"],
        vectors=[[0.5, 0.5], [0.6, 0.4], [0.7, 0.3]],
    )


def test_weights_in_force_are_those_of_trades_closed_strictly_before_the_bar() -> None:
    bars = T0 + 3600 * np.arange(6)  # 00:00 .. 05:00
    w = weights_before_each_bar(path_with_updates(), bars)
    expected = [[0.5, 0.5]] * 3 + [[0.6, 0.4]] * 2 + [[0.7, 0.3]]
    np.testing.assert_allclose(w, expected)


def test_ensemble_score_and_threshold() -> None:
    weights = np.array([[0.6, 0.4], [0.6, 0.4], [0.6, 0.4]])
    signals = np.array([[1, -1], [1, 1], [-1, 0]])
    confidence = np.array([[0.5, 0.5], [0.2, 0.1], [1.0, 1.0]])
    out = ensemble_signals(weights, signals, confidence, threshold=0.15)
    # scores: 0.3 - 0.2 = 0.1 (flat), 0.12 + 0.04 = 0.16 (long), -0.6 (short)
    assert out.signal.tolist() == [0, 1, -1]
    np.testing.assert_allclose(out.confidence, [0.0, 0.16, 0.6])


def test_report_is_consistent_with_the_stored_rows(small_store: sqlite3.Connection) -> None:
    summary = stages.run_session(small_store, SessionConfig(test_period_days=10), publish=True)
    stored = json.loads(
        small_store.execute(
            "SELECT report FROM session_reports WHERE session_id = ?", (summary.session_id,)
        ).fetchone()[0]
    )
    report = stored["ensemble_report"]
    assert set(report["ensembles"]) == {"adaptive", "static_initial", "equal"}
    metrics = results.read_metrics(small_store, summary.session_id).set_index("model_id")
    for model_id, alone in report["models_alone"].items():
        assert alone["total_pnl"] == pytest.approx(metrics.loc[model_id, "total_pnl"])
        assert alone["total_trades"] == metrics.loc[model_id, "total_trades"]
    traded = [m for m in report["models_alone"] if report["models_alone"][m]["total_trades"]]
    best = max(traded, key=lambda m: report["models_alone"][m]["total_pnl"])
    assert report["best_single_model"] == best
    adaptive = report["ensembles"]["adaptive"]["total_pnl"]
    static = report["ensembles"]["static_initial"]["total_pnl"]
    equal = report["ensembles"]["equal"]["total_pnl"]
    assert report["regret_vs_best_model"] == pytest.approx(
        report["models_alone"][best]["total_pnl"] - adaptive
    )
    # The verdict is on daily P&L differences, which add up to the difference in total P&L.
    for name, baseline in (("adaptive_minus_static", static), ("adaptive_minus_equal", equal)):
        v = report["verdict"][name]
        assert v["mean"] * v["days"] == pytest.approx(adaptive - baseline, abs=1e-6)
        assert v["ci_low"] <= v["mean"] <= v["ci_high"]
        expected = "yes" if v["ci_low"] > 0 else "no" if v["ci_high"] < 0 else "inconclusive"
        assert v["answer"] == expected
    assert report["learning_paid"] == report["verdict"]["adaptive_minus_static"]["answer"]
    # The tournament replays every rule; the session's own rule is the adaptive ensemble.
    entries = {e["rule"]: e for e in report["tournament"]}
    assert set(entries) == {"binary", "pnl_scaled", "hedge", "fixed_share"}
    own = entries[report["rule"]]
    assert own["total_pnl"] == adaptive
    assert own["final_weights"] == stored["weights_after"]
    assert own["verdict"]["adaptive_minus_static"] == report["verdict"]["adaptive_minus_static"]
    for entry in entries.values():
        assert sum(entry["final_weights"].values()) == pytest.approx(1.0)
        assert entry["max_drawdown"] >= 0
    # The adaptive and static ensembles differ only through the learned weights.
    assert report["ensembles"]["adaptive"] != report["ensembles"]["static_initial"]
