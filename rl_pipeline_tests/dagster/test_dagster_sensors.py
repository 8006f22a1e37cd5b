"""Sensors and the schedule, evaluated against a real ephemeral Dagster instance and a real
SQLite store: run requests, run config, cursors, and no request running twice."""

from __future__ import annotations

import datetime
import json
import os
import re
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from rl_pipeline.config import SessionConfig
from rl_pipeline.configuration.store import import_config
from rl_pipeline.dagster_defs.definitions import defs
from rl_pipeline.dagster_defs.resources.store import StoreResource
from rl_pipeline.dagster_defs.sensors.session_sensors import (
    new_market_data_sensor,
    nightly_session_schedule,
    session_request_sensor,
    session_run_failure_sensor,
    win_rate_degradation_sensor,
)
from rl_pipeline.market.synthetic import generate_default_bars
from rl_pipeline.session import stages as stages
from rl_pipeline.session.requests import claim_request, get_request, request_session
from rl_pipeline.store import ai_models
from rl_pipeline.store.bars import count_bars
from rl_pipeline_tests.support.store_state import assert_failed_cleanly, session_outcome


@pytest.fixture
def instance() -> dg.DagsterInstance:
    """A real, temporary Dagster instance (its own folder, storage and instance ref)."""
    with dg.instance_for_test() as inst:
        yield inst


@pytest.fixture
def store(db_path: Path) -> StoreResource:
    return StoreResource(db_path=str(db_path))


READABLE_ID = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{6}Z-[0-9a-f]{8}$")


def evaluate(sensor, instance, store, cursor=None):
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"store": store})
    return sensor(context)


def test_session_requests_run_once_each(
    small_store: sqlite3.Connection, instance, store, monkeypatch
) -> None:
    monkeypatch.setenv("RL_PIPELINE_MAX_RUNNING_SESSIONS", "3")  # room for all three
    first = request_session(small_store, SessionConfig(test_period_days=3), "api")
    second = request_session(small_store, SessionConfig(test_period_days=4), "cli")
    taken = request_session(small_store, SessionConfig(), "cli")
    assert claim_request(small_store, taken, "process")  # launched elsewhere already
    result = evaluate(session_request_sensor, instance, store)
    assert [r.run_key for r in result.run_requests] == [first, second]
    assert [r.partition_key for r in result.run_requests] == [first, second]
    assert result.run_requests[0].run_config == {
        "loggers": {"console": {"config": {"log_level": "INFO"}}}
    }
    (partitions,) = result.dynamic_partitions_requests
    assert list(partitions.partition_keys) == [first, second]
    # Claimed now: the next evaluation finds nothing, and nobody else can claim them.
    assert isinstance(evaluate(session_request_sensor, instance, store), dg.SkipReason)
    assert not claim_request(small_store, first, "process")


def test_new_market_data_is_imported_or_set_aside(
    conn: sqlite3.Connection, instance, store, tmp_path: Path, monkeypatch
) -> None:
    inbox = tmp_path / "incoming"
    inbox.mkdir()
    monkeypatch.setenv("RL_PIPELINE_INCOMING_DIR", str(inbox))
    bars = generate_default_bars(symbols=("NEW",), days=2, seed=3)
    good = bars.assign(timestamp=pd.to_datetime(bars["ts"], unit="s", utc=True))
    good[["symbol", "timestamp", "open", "high", "low", "close", "volume"]].to_csv(
        inbox / "new.csv", index=False
    )
    (inbox / "broken.csv").write_text(
        "symbol,timestamp,open,high,low,close,volume\nX,2025-01-01T00:00:00Z,1,0.5,1,1,1\n"
    )
    result = evaluate(new_market_data_sensor, instance, store)
    assert len(result.run_requests) == 1
    session_id = result.run_requests[0].run_key
    assert result.run_requests[0].partition_key == session_id
    assert json.loads(result.cursor) == {"imported": 1, "rejected": 1}
    assert count_bars(conn) == 48
    assert (inbox / "imported" / "new.csv").exists()
    error = (inbox / "rejected" / "broken.csv.error.txt").read_text()
    assert "broken.csv row 1: high must be >= max(open, close)" in error
    status = conn.execute(
        "SELECT requested_by, status FROM session_requests WHERE session_id = ?", (session_id,)
    ).fetchone()
    assert tuple(status) == ("sensor:new_market_data", "launched")
    again = evaluate(new_market_data_sensor, instance, store, cursor=result.cursor)
    assert not again.run_requests and json.loads(again.cursor) == {"imported": 1, "rejected": 1}


def test_win_rate_degradation_triggers_once_per_new_session(
    small_store: sqlite3.Connection, instance, store, monkeypatch
) -> None:
    assert isinstance(evaluate(win_rate_degradation_sensor, instance, store), dg.SkipReason)
    summary = stages.run_session(small_store, SessionConfig(test_period_days=10), publish=True)
    win_rate = summary.report["ensembles"]["adaptive"]["win_rate"]
    monkeypatch.setenv("RL_PIPELINE_WIN_RATE_THRESHOLD", str(min(1.0, win_rate + 0.01)))
    result = evaluate(win_rate_degradation_sensor, instance, store)
    assert len(result.run_requests) == 1 and result.cursor == summary.session_id
    # The same latest session is not judged twice.
    again = evaluate(win_rate_degradation_sensor, instance, store, cursor=result.cursor)
    assert isinstance(again, dg.SkipReason)
    monkeypatch.setenv("RL_PIPELINE_WIN_RATE_THRESHOLD", str(max(0.0, win_rate - 0.01)))
    healthy = evaluate(win_rate_degradation_sensor, instance, store)
    assert not healthy.run_requests and healthy.cursor == summary.session_id


def test_nightly_schedule_requests_one_session_per_tick(
    small_store: sqlite3.Connection, instance, store
) -> None:
    tick = datetime.datetime(2026, 11, 25, 2, 0, tzinfo=datetime.UTC)
    context = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=tick, resources={"store": store}
    )
    request = nightly_session_schedule(context)
    assert request.run_key == request.partition_key == "2026-11-25T020000Z-nightly"
    assert instance.has_dynamic_partition("session", "2026-11-25T020000Z-nightly")
    again = nightly_session_schedule(
        dg.build_schedule_context(
            instance=instance, scheduled_execution_time=tick, resources={"store": store}
        )
    )
    assert again.run_key == request.run_key
    rows = small_store.execute("SELECT COUNT(*) FROM session_requests").fetchone()[0]
    assert rows == 1
    assert nightly_session_schedule.cron_schedule == "0 2 * * *"


def test_run_failure_sensor_fails_the_session_of_a_failed_run(
    small_store: sqlite3.Connection, instance, store, db_path: Path
) -> None:
    # A session left 'running' by a run that then failed outside any session stage.
    live = ai_models.live_weights(small_store)
    stages.open_session(small_store, SessionConfig(), "orphan-of-failed-run")
    instance.add_dynamic_partitions("session", ["orphan-of-failed-run"])
    job = defs.resolve_job_def("reinforcement_session_job")
    result = job.execute_in_process(
        partition_key="orphan-of-failed-run",
        instance=instance,
        resources={"store": store},
        raise_on_error=False,
    )
    assert not result.success  # opening the same session twice fails in market_bars
    run = instance.get_run_by_id(result.run_id)
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
    context = dg.build_run_status_sensor_context(
        sensor_name="session_run_failure_sensor",
        dagster_instance=instance,
        dagster_run=run,
        dagster_event=failure,
    ).for_run_failure()
    session_run_failure_sensor(context)
    assert_failed_cleanly(small_store, "orphan-of-failed-run", live, f"run {result.run_id}")


def test_definitions_hold_three_jobs_four_sensors_one_schedule() -> None:
    repo = defs.get_repository_def()
    assert {j.name for j in repo.get_all_jobs()} >= {
        "reinforcement_session_job",
        "backtest_job",
        "weight_update_job",
    }
    assert {s.name for s in repo.sensor_defs} == {
        "session_request_sensor",
        "new_market_data_sensor",
        "win_rate_degradation_sensor",
        "session_run_failure_sensor",
    }
    assert [s.name for s in repo.schedule_defs] == ["nightly_session_schedule"]


def test_sensor_and_schedule_sessions_start_from_the_active_configuration(
    small_store: sqlite3.Connection, instance, store, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("RL_PIPELINE_MAX_RUNNING_SESSIONS", "2")  # room for both sessions
    session = SessionConfig().model_dump(mode="json")
    session["learning_rate"] = 0.02
    session["costs"]["fee_bps"] = 3.0
    weights = {"trading_ai": 0.25, "lava_ai": 0.25, "lgbm_ai": 0.25, "mistral_ai": 0.25}
    import_config(small_store, {"schema_version": 1, "session": session, "weights": weights})
    tick = datetime.datetime(2026, 11, 26, 2, 0, tzinfo=datetime.UTC)
    scheduled = nightly_session_schedule(
        dg.build_schedule_context(
            instance=instance, scheduled_execution_time=tick, resources={"store": store}
        )
    )
    inbox = tmp_path / "incoming"
    inbox.mkdir()
    monkeypatch.setenv("RL_PIPELINE_INCOMING_DIR", str(inbox))
    bars = generate_default_bars(symbols=("NEW",), days=2, seed=3)
    frame = bars.assign(timestamp=pd.to_datetime(bars["ts"], unit="s", utc=True))
    frame[["symbol", "timestamp", "open", "high", "low", "close", "volume"]].to_csv(
        inbox / "new.csv", index=False
    )
    sensed = evaluate(new_market_data_sensor, instance, store).run_requests[0]
    for session_id in (scheduled.run_key, sensed.run_key):
        config = get_request(small_store, session_id).config
        assert config.learning_rate == 0.02 and config.costs.fee_bps == 3.0, session_id


def test_new_sessions_get_readable_partition_keys_and_old_uuid_partitions_still_run(
    small_store: sqlite3.Connection, instance, store
) -> None:
    request_session(small_store, SessionConfig(test_period_days=3), "api")
    result = evaluate(session_request_sensor, instance, store)
    (requested,) = result.run_requests
    new_key = requested.partition_key
    assert READABLE_ID.match(new_key), new_key  # e.g. 2026-12-02T031401Z-1a2b3c4d
    (partitions,) = result.dynamic_partitions_requests
    old_key = str(uuid.uuid4())  # a session id as they were made before
    instance.add_dynamic_partitions("session", [*partitions.partition_keys, old_key])
    job = defs.resolve_job_def("reinforcement_session_job")
    short = {"ops": {"market_bars": {"config": {"test_period_days": 3}}}}
    for key, run_config in ((new_key, requested.run_config), (old_key, short)):
        run = job.execute_in_process(
            partition_key=key, instance=instance, resources={"store": store}, run_config=run_config
        )
        assert run.success, key
        assert session_outcome(small_store, key)["status"] == "completed", key
        event = instance.get_latest_materialization_event(dg.AssetKey("live_weights"))
        assert event.asset_materialization.partition == key


@pytest.mark.parametrize(("setting", "status"), [(None, "RUNNING"), ("off", "STOPPED")])
def test_automation_is_on_by_default_and_one_setting_turns_it_off(setting, status) -> None:
    """Read by a fresh process, as the daemon's code server reads it."""
    env = {k: v for k, v in os.environ.items() if k != "RL_PIPELINE_AUTOMATION"}
    if setting:
        env["RL_PIPELINE_AUTOMATION"] = setting
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "from rl_pipeline.dagster_defs.definitions import defs\n"
            "repo = defs.get_repository_def()\n"
            "for d in [*repo.sensor_defs, *repo.schedule_defs]:\n"
            "    print(d.name, d.default_status.value)",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    statuses = dict(zip(shown[::2], shown[1::2], strict=True))
    assert len(statuses) == 5 and set(statuses.values()) == {status}, statuses
