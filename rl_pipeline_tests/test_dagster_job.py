"""The reinforcement session through the real Dagster CLI and instance."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import dagster as dg
import pytest
import yaml

from rl_pipeline.dagster_defs.assets.session_assets import SESSION_ASSETS
from rl_pipeline.store import ai_models
from rl_pipeline_tests.conftest import PROJECT_ROOT, VENV_BIN

JOB = "reinforcement_session_job"


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def execute(*extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(VENV_BIN / "dagster"), "job", "execute", "-m", "rl_pipeline", "-j", JOB, *extra],
        cwd=PROJECT_ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_job_runs_a_full_session_recorded_in_the_instance(
    small_store: sqlite3.Connection, dagster_home: Path
) -> None:
    done = execute("-c", str(PROJECT_ROOT / "run_config" / "default_session.yaml"))
    assert done.returncode == 0, done.stderr[-3000:]
    session = small_store.execute(
        "SELECT s.session_id, s.status, r.dagster_run_id FROM reinforcement_sessions s "
        "JOIN session_runs r USING (session_id)"
    ).fetchone()
    assert session["status"] == "completed"
    assert session["session_id"] == session["dagster_run_id"]  # session id = run id by default
    sid = session["session_id"]
    metrics = small_store.execute(
        "SELECT model_id, total_trades FROM performance_metrics WHERE session_id = ?", (sid,)
    ).fetchall()
    assert len(metrics) == 4
    assert dict(map(tuple, metrics))["trading_ai"] > 0
    assert (
        small_store.execute(
            "SELECT COUNT(*) FROM model_weight_history WHERE session_id = ?", (sid,)
        ).fetchone()[0]
        >= 4
    )
    live = ai_models.live_weights(small_store)
    assert sum(live.values()) == pytest.approx(1.0, abs=1e-9)

    instance = dg.DagsterInstance.get()
    run = instance.get_run_by_id(sid)
    assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
    for asset in SESSION_ASSETS:
        event = instance.get_latest_materialization_event(asset.key)
        assert event is not None and event.run_id == sid, asset.key
    summary = instance.get_latest_materialization_event(dg.AssetKey("performance_metrics"))
    metadata = summary.asset_materialization.metadata
    assert metadata["rows"].value == 4
    assert "trading_ai" in metadata["summary"].value


def test_run_config_sets_the_session_parameters(
    small_store: sqlite3.Connection, dagster_home: Path, tmp_path: Path
) -> None:
    run_config = {
        "ops": {
            "market_bars": {
                "config": {
                    "test_period_days": 7,
                    "learning_rate": 0.05,
                    "reward_multiplier": 2.0,
                    "punishment_multiplier": 0.5,
                    "fee_bps": 0.0,
                    "symbols": ["AAA"],
                    "session_id": "configured-session",
                }
            }
        }
    }
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(run_config))
    done = execute("-c", str(path))
    assert done.returncode == 0, done.stderr[-3000:]
    row = small_store.execute(
        "SELECT test_period_days, learning_rate, reward_multiplier, punishment_multiplier, "
        "status FROM reinforcement_sessions WHERE session_id = 'configured-session'"
    ).fetchone()
    assert tuple(row) == (7, 0.05, 2.0, 0.5, "completed")
    symbols = small_store.execute(
        "SELECT DISTINCT symbol FROM trade_results WHERE session_id = 'configured-session'"
    ).fetchall()
    assert [s[0] for s in symbols] == ["AAA"]


def test_failing_step_fails_the_run_and_the_session(
    small_store: sqlite3.Connection, dagster_home: Path
) -> None:
    small_store.execute(
        "CREATE TRIGGER refuse_history BEFORE INSERT ON model_weight_history "
        "BEGIN SELECT RAISE(ABORT, 'history table refuses writes'); END"
    )
    done = execute()
    assert done.returncode != 0
    row = small_store.execute(
        "SELECT s.status, r.error FROM reinforcement_sessions s JOIN session_runs r "
        "USING (session_id)"
    ).fetchone()
    assert row["status"] == "failed"
    assert "model_weights" in row["error"] and "refuses writes" in row["error"]
    assert small_store.execute("SELECT COUNT(*) FROM trade_results").fetchone()[0] == 0


def test_bad_run_config_is_rejected_before_a_session_opens(
    small_store: sqlite3.Connection, dagster_home: Path, tmp_path: Path
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"ops": {"market_bars": {"config": {"test_period_days": 0}}}}))
    done = execute("-c", str(path))
    assert done.returncode != 0
    assert "test_period_days" in done.stderr + done.stdout
    assert small_store.execute("SELECT COUNT(*) FROM reinforcement_sessions").fetchone()[0] == 0
