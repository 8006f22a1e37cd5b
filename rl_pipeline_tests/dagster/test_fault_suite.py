"""Faults with real processes: a session killed with SIGKILL at each of its stages, in plain
Python and as a Dagster run launched like the API launches one. Afterwards: the session is
failed with a reason, it left no rows and no model artifacts, the live weights and the
analytics are as before, the store is intact, and the Dagster run is failed (not STARTED
forever) within the launcher's bound."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from rl_pipeline import paths
from rl_pipeline.analytics.trades import trade_analysis
from rl_pipeline.config import SessionConfig
from rl_pipeline.dagster_defs.partitions import PARTITION_TAG
from rl_pipeline.session import stages as stages
from rl_pipeline.session.launch import launch_session
from rl_pipeline.session.requests import prepare_dagster_home
from rl_pipeline.session.status import session_status
from rl_pipeline.store import ai_models
from rl_pipeline.store.connection import open_store
from rl_pipeline_tests.support.analytics_store import make_session_store
from rl_pipeline_tests.support.store_state import assert_failed_cleanly as failed_cleanly

HOOK = Path(__file__).parents[1] / "support" / "kill_at_stage"
STAGES = [
    "market_bars",
    "features",
    "model_signals",
    "trade_results",
    "model_weights",
    "performance_metrics",
    "live_weights",
]
# The launcher notices its run died at once; this is the bound a test waits for.
END_BOUND_S = 120

WORKER = """
import sys
from rl_pipeline.config import SessionConfig
from rl_pipeline.session.stages import run_session
from rl_pipeline.store.connection import open_store

conn = open_store(sys.argv[1])
run_session(conn, SessionConfig(test_period_days=5), session_id="victim", publish=True)
"""


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with bars and one completed session (so analytics have something to show)."""
    db, _ = make_session_store(tmp_path_factory.mktemp("faults"), periods=(5,))
    return db


def copy_store(template: Path, data: Path) -> Path:
    conn = open_store(template)
    db = data / "rl_pipeline.sqlite"
    conn.execute("VACUUM INTO ?", (str(db),))
    conn.close()
    return db


def state(db: Path) -> tuple[dict, dict, str]:
    conn = open_store(db)
    try:
        live = ai_models.live_weights(conn)
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()
    return live, trade_analysis(db), integrity


def assert_failed_cleanly(db: Path, session_id: str, before: tuple) -> None:
    conn = open_store(db)
    try:
        session_status(conn, session_id)  # runs the orphan clean-up
        # The same end state as every other way a session fails.
        failed_cleanly(conn, session_id, before[0], reason="")
    finally:
        conn.close()
    live, analytics, integrity = state(db)
    assert integrity == "ok"
    assert analytics == before[1]


@pytest.mark.parametrize("stage", STAGES)
def test_a_session_killed_at_any_stage_ends_failed_and_leaves_nothing(
    template: Path, isolated_data_dir: Path, stage: str
) -> None:
    db = copy_store(template, isolated_data_dir)
    before = state(db)
    env = {
        **os.environ,
        "PYTHONPATH": str(HOOK),
        "RL_PIPELINE_TEST_KILL_AT_STAGE": stage,
        # The template's session cached these signals; the victim fits (and saves) its own.
        "RL_PIPELINE_SIGNAL_CACHE": "0",
    }
    proc = subprocess.run(
        [sys.executable, "-c", WORKER, str(db)], env=env, capture_output=True, text=True
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    conn = open_store(db)
    recorded = conn.execute("SELECT stage FROM session_runs WHERE session_id = 'victim'")
    assert recorded.fetchone()[0] == stage  # it really died there
    conn.close()
    if STAGES.index(stage) > STAGES.index("model_signals"):
        # The learning models have saved their files by now: the clean-up must remove them.
        assert any((paths.artifacts_dir() / "victim").iterdir())
    assert_failed_cleanly(db, "victim", before)
    # ... and the next session completes.
    conn = open_store(db)
    summary = stages.run_session(conn, SessionConfig(test_period_days=5), publish=True)
    assert session_status(conn, summary.session_id)["status"] == "completed"
    conn.close()


@pytest.mark.parametrize("stage", ["market_bars", "model_signals", "live_weights"])
def test_a_killed_dagster_run_ends_failed_within_the_bound(
    template: Path, isolated_data_dir: Path, monkeypatch: pytest.MonkeyPatch, stage: str
) -> None:
    db = copy_store(template, isolated_data_dir)
    before = state(db)
    monkeypatch.setenv("DAGSTER_HOME", str(isolated_data_dir / "dagster"))
    monkeypatch.setenv("PYTHONPATH", str(HOOK))
    monkeypatch.setenv("RL_PIPELINE_TEST_KILL_AT_STAGE", stage)
    conn = open_store(db)
    # The instance's storage is made before the launcher opens it too (two processes creating
    # it at once race in Dagster's own migrations).
    with dg.DagsterInstance.from_config(str(prepare_dagster_home())) as instance:
        launched = launch_session(conn, {"test_period_days": 5}, "cli")
        session_id = launched.session_id
        deadline = time.monotonic() + END_BOUND_S
        while True:
            runs = instance.get_runs(dg.RunsFilter(tags={PARTITION_TAG: session_id}))
            row = conn.execute(
                "SELECT s.status, r.stage FROM reinforcement_sessions s JOIN session_runs r "
                "USING (session_id) WHERE session_id = ?",
                (session_id,),
            ).fetchone()
            run_failed = runs and runs[0].status == dg.DagsterRunStatus.FAILURE
            if run_failed and row is not None and row["status"] == "failed":
                break
            assert time.monotonic() < deadline, (runs and runs[0].status, row and tuple(row))
            time.sleep(0.5)
    assert row["stage"] == stage
    error = conn.execute(
        "SELECT error FROM session_runs WHERE session_id = ?", (session_id,)
    ).fetchone()[0]
    assert "killed by signal 9" in error
    conn.close()
    assert_failed_cleanly(db, session_id, before)


def test_a_run_whose_launcher_was_killed_too_ends_when_the_next_session_starts(
    template: Path, isolated_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As soon as the session is open, kill its launcher and then its run's process: nobody
    watches, so the Dagster run stays STARTED and the session 'running' ... until the next
    launcher starts, which fails both before running its own session."""
    db = copy_store(template, isolated_data_dir)
    monkeypatch.setenv("DAGSTER_HOME", str(isolated_data_dir / "dagster"))
    conn = open_store(db)
    with dg.DagsterInstance.from_config(str(prepare_dagster_home())) as instance:
        first = launch_session(conn, {"test_period_days": 5}, "cli").session_id
        deadline = time.monotonic() + END_BOUND_S
        while (
            row := conn.execute(
                "SELECT r.pid, q.launcher_pid FROM session_runs r JOIN session_requests q "
                "USING (session_id) WHERE session_id = ?",
                (first,),
            ).fetchone()
        ) is None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(row["launcher_pid"], signal.SIGKILL)
        os.kill(row["pid"], signal.SIGKILL)
        time.sleep(1)
        (run,) = instance.get_runs(dg.RunsFilter(tags={PARTITION_TAG: first}))
        assert run.status == dg.DagsterRunStatus.STARTED  # nobody has ended it yet
        status = conn.execute(
            "SELECT status FROM reinforcement_sessions WHERE session_id = ?", (first,)
        ).fetchone()[0]
        assert status == "running"

        second = launch_session(conn, {"test_period_days": 5}, "cli").session_id
        while instance.get_run_by_id(run.run_id).status != dg.DagsterRunStatus.FAILURE:
            assert time.monotonic() < deadline + END_BOUND_S
            time.sleep(0.5)
        assert session_status(conn, first)["status"] == "failed"
        assert not (paths.artifacts_dir() / first).exists()
        while session_status(conn, second)["status"] in ("queued", "running"):
            assert time.monotonic() < deadline + 2 * END_BOUND_S
            time.sleep(0.5)
        assert session_status(conn, second)["status"] == "completed"
    conn.close()
