"""Sweeps on a real store: a point with the session's settings reproduces the session's report
exactly, each rule's point reproduces its line of the rule tournament, a planted answer (bounds
that pin every weight at 1/n give equal weights) comes out, the stored ranking is the stated
sort, the warning counts the points, and a sweep creates no session, leaves the live weights
alone and stores nothing when its grid is refused."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from rl_pipeline.config import SessionConfig
from rl_pipeline.rl.rules import rule_names
from rl_pipeline.session.stages import run_session
from rl_pipeline.session.sweep import SweepError, SweepGrid, rank_key, run_sweep, sweep_view
from rl_pipeline.store import ai_models
from rl_pipeline_tests.support.analytics_store import dump

CONFIG = SessionConfig(test_period_days=10, backtest={"history_days": 10})


def db_file(conn: sqlite3.Connection) -> Path:
    return Path(conn.execute("PRAGMA database_list").fetchone()["file"])


def stored_report(conn: sqlite3.Connection, session_id: str) -> dict:
    row = conn.execute(
        "SELECT report FROM session_reports WHERE session_id = ?", (session_id,)
    ).fetchone()
    return json.loads(row[0])["ensemble_report"]


def without_sweeps(lines: list[str]) -> list[str]:
    return [line for line in lines if "sweep" not in line]


def test_the_sessions_own_point_and_every_rule_reproduce_its_report_exactly(
    small_store: sqlite3.Connection,
) -> None:
    session = run_session(small_store, CONFIG)
    report = stored_report(small_store, session.session_id)
    live = ai_models.live_weights(small_store)
    before = dump(db_file(small_store))
    grid = SweepGrid(rule=tuple(rule_names()), learning_rate=(0.01, 0.03), threshold=(0.1, 0.15))
    progress: list[str] = []
    view = run_sweep(small_store, grid, progress=progress.append, progress_every=5)

    assert view["session_id"] == session.session_id
    assert view["points"] == len(rule_names()) * 2 * 2 == len(view["table"])
    own = next(r for r in view["table"] if r["point"] == view["session_point"])
    assert (own["rule"], own["learning_rate"], own["threshold"]) == ("binary", 0.01, 0.15)
    # Exactly the session's numbers: P&L, Sharpe, baselines and both verdicts.
    adaptive = report["ensembles"]["adaptive"]
    assert own["total_pnl"] == adaptive["total_pnl"]
    assert own["sharpe"] == adaptive["sharpe_ratio"]
    assert own["max_drawdown"] == adaptive["max_drawdown"]
    assert own["total_trades"] == adaptive["total_trades"]
    assert own["static_pnl"] == report["ensembles"]["static_initial"]["total_pnl"]
    assert own["equal_pnl"] == report["ensembles"]["equal"]["total_pnl"]
    assert own["verdict"] == report["verdict"]
    assert own["final_weights"] == session.weights_learned
    # Every rule at the session's other settings is its line of the report's tournament.
    for line in report["tournament"]:
        point = next(
            r
            for r in view["table"]
            if r["rule"] == line["rule"] and r["learning_rate"] == 0.01 and r["threshold"] == 0.15
        )
        assert point["total_pnl"] == line["total_pnl"], line["rule"]
        assert point["sharpe"] == line["sharpe"], line["rule"]
        assert point["verdict"] == line["verdict"], line["rule"]
        assert point["final_weights"] == line["final_weights"], line["rule"]
    # The signals came from the cache the session filled; no session, no live weights changed:
    # the store differs only by the sweep's own rows.
    assert all(what.startswith("reused") for what in view["signal_cache"].values())
    assert ai_models.live_weights(small_store) == live
    assert without_sweeps(dump(db_file(small_store))) == without_sweeps(before)
    # A progress line every 5 points and at the end, with its ETA.
    counted = [line for line in progress if " points, " in line]
    assert [line.split(": ")[1].split(" ")[0] for line in counted] == [
        "5/16",
        "10/16",
        "15/16",
        "16/16",
    ]
    assert all("ETA" in line for line in counted)


def test_the_stored_ranking_is_the_stated_sort_and_the_warning_counts_the_points(
    small_store: sqlite3.Connection,
) -> None:
    run_session(small_store, CONFIG)
    grid = SweepGrid(
        rule=("hedge", "pnl_scaled"),
        learning_rate=(0.005, 0.02),
        reward_multiplier=(1.0, 1.5),
        threshold=(0.05, 0.1, 0.2),
    )
    view = run_sweep(small_store, grid)
    n = 2 * 2 * 2 * 3
    rows = [
        dict(r)
        for r in small_store.execute(
            "SELECT point, rank, total_pnl, sharpe FROM sweep_points WHERE sweep_id = ?",
            (view["sweep_id"],),
        )
    ]
    assert len(rows) == n
    by_key = [r["point"] for r in sorted(rows, key=rank_key)]
    by_rank = [r["point"] for r in sorted(rows, key=lambda r: r["rank"])]
    assert by_rank == by_key and sorted(r["rank"] for r in rows) == list(range(1, n + 1))
    assert [r["point"] for r in view["table"]] == by_key
    assert view["table"][0]["total_pnl"] == max(r["total_pnl"] for r in rows)
    # The multiple-testing warning names N, the optimism of the best, and Bonferroni.
    warning = view["warning"]
    assert f"{n} points were tried" in warning and f"the best of {n}" in warning
    assert "optimistic" in warning and f"Bonferroni correction for {n} tests" in warning
    testing = view["multiple_testing"]
    assert testing["points"] == n
    assert testing["bonferroni_confidence"] == pytest.approx(1 - 0.05 / n)
    for row in view["table"]:
        for name in ("adaptive_minus_static", "adaptive_minus_equal"):
            nominal, adjusted = row["verdict"][name], row["bonferroni"][name]
            assert adjusted["p_value"] == pytest.approx(min(1.0, nominal["p_value"] * n))
            # The adjusted interval is the wider one.
            assert adjusted["ci_low"] <= nominal["ci_low"] + 1e-9
            assert adjusted["ci_high"] >= nominal["ci_high"] - 1e-9
    # Read back as stored.
    assert sweep_view(small_store) == view
    assert sweep_view(small_store, view["sweep_id"]) == view


def test_bounds_that_pin_every_weight_reproduce_equal_weights(
    small_store: sqlite3.Connection,
) -> None:
    """Planted answer: with min_weight = max_weight = 1/3 and three active models no rule can
    move a weight, so every point's adaptive ensemble is the equal-weights ensemble."""
    session = run_session(small_store, CONFIG)
    assert len(session.active) == 3
    third = 1.0 / 3.0
    grid = SweepGrid(
        rule=tuple(rule_names()),
        learning_rate=(0.01, 0.1),
        min_weight=(third,),
        max_weight=(third,),
        threshold=(0.1, 0.2),
    )
    view = run_sweep(small_store, grid)
    for row in view["table"]:
        learned = {m: row["final_weights"][m] for m in session.active}
        assert learned == pytest.approx(dict.fromkeys(session.active, third))
        assert row["total_pnl"] == pytest.approx(row["equal_pnl"], abs=1e-9)
        difference = row["verdict"]["adaptive_minus_equal"]
        assert difference["mean"] == pytest.approx(0.0, abs=1e-9)
        assert difference["answer"] == "inconclusive"
    assert view["session_point"] is None


def test_signals_missing_from_the_cache_are_computed_once_and_a_period_rule_reproduces(
    small_store: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = CONFIG.model_copy(
        update={
            "weights": CONFIG.weights.model_copy(update={"rule": "hedge", "update_every": "1d"})
        }
    )
    monkeypatch.setenv("RL_PIPELINE_SIGNAL_CACHE", "0")
    session = run_session(small_store, config)
    monkeypatch.delenv("RL_PIPELINE_SIGNAL_CACHE")
    assert small_store.execute("SELECT COUNT(*) FROM signal_cache").fetchone()[0] == 0
    report = stored_report(small_store, session.session_id)

    first = run_sweep(small_store, SweepGrid(learning_rate=(0.01, 0.05)), session.session_id)
    assert first["signal_cache"]["lgbm_ai"] == "computed"
    again = run_sweep(small_store, SweepGrid(learning_rate=(0.01, 0.05)), session.session_id)
    assert again["signal_cache"]["lgbm_ai"] == f"reused (computed by session {first['sweep_id']})"
    for view in (first, again):
        own = next(r for r in view["table"] if r["point"] == view["session_point"])
        assert (own["rule"], own["learning_rate"]) == ("hedge", 0.01)
        assert own["total_pnl"] == report["ensembles"]["adaptive"]["total_pnl"]
        assert own["verdict"] == report["verdict"]
    assert [r["total_pnl"] for r in first["table"]] == [r["total_pnl"] for r in again["table"]]


@pytest.mark.parametrize(
    ("grid", "field", "message"),
    [
        (SweepGrid(min_weight=(0.05, 0.5), max_weight=(0.3, 0.9)), "min_weight", "<= max_weight"),
        (SweepGrid(rule=("binary", "nope")), "rule", "unknown rule 'nope'"),
        (SweepGrid(learning_rate=(0.01, 0.0)), "learning_rate", "greater than 0"),
        (SweepGrid(learning_rate=(-0.1,)), "learning_rate", "greater than 0"),
        (SweepGrid(threshold=(1.5,)), "threshold", "less than or equal to 1"),
        (SweepGrid(max_weight=(float("nan"),)), "max_weight", "not a finite number"),
        (
            SweepGrid(learning_rate=(0.9,), punishment_multiplier=(1.5,)),
            "learning_rate * punishment_multiplier",
            "must be < 1",
        ),
        (
            SweepGrid(
                learning_rate=tuple(0.001 * k for k in range(1, 101)),
                threshold=tuple(0.01 * k for k in range(1, 60)),
            ),
            "points",
            "100 learning_rate x 59 threshold = 5900 points, at most 5000",
        ),
    ],
)
def test_a_refused_grid_names_the_field_and_stores_nothing(
    small_store: sqlite3.Connection, grid: SweepGrid, field: str, message: str
) -> None:
    run_session(small_store, CONFIG)
    before = dump(db_file(small_store))
    with pytest.raises(SweepError) as refused:
        run_sweep(small_store, grid)
    assert str(refused.value).startswith(f"{field}: ")
    assert message in str(refused.value)
    assert dump(db_file(small_store)) == before


def test_unknown_sessions_and_sweeps_are_named(small_store: sqlite3.Connection) -> None:
    with pytest.raises(LookupError, match="no completed session"):
        run_sweep(small_store, SweepGrid())
    with pytest.raises(LookupError, match="session 'nope' does not exist"):
        run_sweep(small_store, SweepGrid(), "nope")
    with pytest.raises(LookupError, match="no sweep has run yet"):
        sweep_view(small_store)
    with pytest.raises(LookupError, match="sweep 'nope' does not exist"):
        sweep_view(small_store, "nope")
