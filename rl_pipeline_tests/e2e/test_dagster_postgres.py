"""The Dagster instance on a real PostgreSQL server, configured by deploy/dagster_postgres.yaml:
a session run through the real ``dagster job execute`` CLI is recorded in Postgres."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psycopg2
import pytest
from dagster_postgres import (
    PostgresEventLogStorage,
    PostgresRunStorage,
    PostgresScheduleStorage,
)

from rl_pipeline.dagster_defs.assets.session_assets import SESSION_ASSETS
from rl_pipeline_tests.conftest import PROJECT_ROOT
from rl_pipeline_tests.support.dagster_cli import execute_job
from rl_pipeline_tests.support.postgres_server import PostgresServer, postgres_server

DEPLOY_FILE = PROJECT_ROOT / "deploy" / "dagster_postgres.yaml"


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[PostgresServer]:
    with postgres_server(tmp_path / "postgres") as server:
        yield server


@pytest.fixture
def postgres_dagster_home(
    tmp_path: Path, postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A DAGSTER_HOME whose dagster.yaml is the repo's deploy file, pointed at the server by
    the DAGSTER_PG_* variables it reads."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DEPLOY_FILE, home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DAGSTER_PG_HOST", postgres.host)
    monkeypatch.setenv("DAGSTER_PG_PORT", str(postgres.port))
    monkeypatch.setenv("DAGSTER_PG_DB", postgres.db_name)
    monkeypatch.setenv("DAGSTER_PG_USERNAME", postgres.username)
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", postgres.password)
    return home


def test_a_session_run_is_recorded_in_the_postgres_instance(
    small_store: sqlite3.Connection, postgres_dagster_home: Path, postgres: PostgresServer
) -> None:
    done, sid = execute_job(
        "reinforcement_session_job",
        "-c",
        str(PROJECT_ROOT / "run_config" / "default_session.yaml"),
    )
    assert done.returncode == 0, done.stderr[-3000:]

    # The project's store stays the SQLite file the run wrote.
    session = small_store.execute(
        "SELECT s.status, r.dagster_run_id FROM reinforcement_sessions s "
        "JOIN session_runs r USING (session_id) WHERE session_id = ?",
        (sid,),
    ).fetchone()
    assert session["status"] == "completed"
    run_id = session["dagster_run_id"]

    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        assert isinstance(instance.run_coordinator, dg.QueuedRunCoordinator)
        assert instance.run_coordinator.get_run_queue_config().max_concurrent_runs == 4

        run = instance.get_run_by_id(run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
        assert run.tags["dagster/partition"] == sid
        assert instance.has_dynamic_partition("session", sid)
        for asset in SESSION_ASSETS:
            event = instance.get_latest_materialization_event(asset.key)
            assert event is not None and event.run_id == run_id, asset.key
            assert event.asset_materialization.partition == sid
        metrics = instance.get_latest_materialization_event(dg.AssetKey("performance_metrics"))
        assert metrics.asset_materialization.metadata["dagster/row_count"].value == 4

    # Nothing went to the SQLite instance storage a default DAGSTER_HOME would hold ...
    assert not (postgres_dagster_home / "history").exists()
    assert not (postgres_dagster_home / "schedules").exists()
    # ... the rows are in the server's database.
    with (
        psycopg2.connect(
            host=postgres.host,
            port=postgres.port,
            user=postgres.username,
            password=postgres.password,
            dbname=postgres.db_name,
        ) as db,
        db.cursor() as cursor,
    ):
        cursor.execute("SELECT status FROM runs WHERE run_id = %s", (run_id,))
        assert cursor.fetchall() == [("SUCCESS",)]
        cursor.execute(
            "SELECT COUNT(*) FROM event_logs WHERE run_id = %s "
            "AND dagster_event_type = 'ASSET_MATERIALIZATION'",
            (run_id,),
        )
        assert cursor.fetchone()[0] >= len(SESSION_ASSETS)
    db.close()
