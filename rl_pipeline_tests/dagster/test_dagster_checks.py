"""Each blocking asset check fails on deliberately corrupted data and keeps the weights from
going live (real store corruption through SQLite triggers, real Dagster execution)."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from rl_pipeline.config import SessionConfig
from rl_pipeline.dagster_defs.checks.session_checks import verdict
from rl_pipeline.dagster_defs.definitions import defs
from rl_pipeline.dagster_defs.resources.store import StoreResource
from rl_pipeline.session import stages as stages
from rl_pipeline.session.checks import signal_problems
from rl_pipeline.store import ai_models
from rl_pipeline_tests.conftest import PROJECT_ROOT, VENV_BIN
from rl_pipeline_tests.support.store_state import assert_failed_cleanly, session_outcome

CORRUPTIONS = {
    "trades_consistent": (
        "CREATE TRIGGER corrupt AFTER INSERT ON trade_results WHEN NEW.ai_model_id = 'lgbm_ai' "
        "BEGIN UPDATE trade_results SET exit_price = exit_price * 1.001 "
        "WHERE trade_id = NEW.trade_id; END",
        "differs from the fills",
    ),
    "weights_valid": (
        "CREATE TRIGGER corrupt AFTER INSERT ON model_weight_history "
        "WHEN NEW.reason = 'reward' AND NEW.model_id = 'lava_ai' "
        "BEGIN UPDATE model_weight_history SET new_weight = new_weight + 0.001 "
        "WHERE weight_id = NEW.weight_id; END",
        "model_weight_history chain broken for lava_ai",
    ),
    "metrics_consistent": (
        "CREATE TRIGGER corrupt AFTER INSERT ON performance_metrics "
        "WHEN NEW.model_id = 'trading_ai' "
        "BEGIN UPDATE performance_metrics SET win_rate = win_rate + 0.1 "
        "WHERE metric_id = NEW.metric_id; END",
        "trading_ai: win_rate",
    ),
}


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst


def run_session_job(instance, db_path: Path, session_id: str):
    instance.add_dynamic_partitions("session", [session_id])
    return defs.resolve_job_def("reinforcement_session_job").execute_in_process(
        partition_key=session_id,
        instance=instance,
        resources={"store": StoreResource(db_path=str(db_path))},
        raise_on_error=False,
    )


@pytest.mark.parametrize("check", sorted(CORRUPTIONS))
def test_check_fails_on_corruption_and_blocks_the_weights(
    check: str, small_store: sqlite3.Connection, db_path: Path, instance
) -> None:
    trigger, message = CORRUPTIONS[check]
    small_store.execute(trigger)
    before = ai_models.live_weights(small_store)
    result = run_session_job(instance, db_path, f"corrupt-{check}")
    assert not result.success
    evaluations = [
        e.event_specific_data
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ]
    failed = [ev.check_name for ev in evaluations if not ev.passed]
    assert failed == [check]
    # The session had trained and saved its models before the check: failing removes them.
    assert_failed_cleanly(small_store, f"corrupt-{check}", before, f"check {check} failed")
    assert message in session_outcome(small_store, f"corrupt-{check}")["error"]
    materialized = {
        e.event_specific_data.materialization.asset_key.path[0]
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION
    }
    assert "live_weights" not in materialized


def test_checks_pass_on_clean_data(small_store, db_path: Path, instance) -> None:
    result = run_session_job(instance, db_path, "clean")
    assert result.success
    evaluations = [
        e.event_specific_data
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ]
    assert len(evaluations) == 4 and all(ev.passed for ev in evaluations)


def test_signal_check_rejects_out_of_range_signals(small_store, db_path: Path) -> None:
    handle = stages.open_session(small_store, SessionConfig(test_period_days=5), "bad-signals")
    window = stages.load_market_window(small_store, "bad-signals", handle)
    features = stages.compute_features(small_store, "bad-signals", window)
    signals = stages.compute_signals(small_store, "bad-signals", window, features)
    assert signal_problems(signals.signals, signals.active, len(signals.test_bars)) == []
    corrupted = signals.signals.copy()
    corrupted.loc[3, "signal"] = 2
    corrupted.loc[5, "confidence"] = np.nan
    corrupted = corrupted.drop(index=7)
    problems = signal_problems(corrupted, signals.active, len(signals.test_bars))
    assert len(problems) == 3
    # The check's verdict on such signals fails the session (nothing half-written).
    verdict_ = verdict(
        StoreResource(db_path=str(db_path)), "bad-signals", "signals_in_range", problems
    )
    assert not verdict_.passed and verdict_.severity == dg.AssetCheckSeverity.ERROR
    status = small_store.execute(
        "SELECT status FROM reinforcement_sessions WHERE session_id = 'bad-signals'"
    ).fetchone()[0]
    assert status == "failed"


def test_definitions_validate_from_the_cli(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    done = subprocess.run(
        [str(VENV_BIN / "dagster"), "definitions", "validate", "-m", "rl_pipeline"],
        cwd=PROJECT_ROOT,
        env={**__import__("os").environ, "DAGSTER_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Validation successful" in done.stderr + done.stdout
