"""The Dagster web UI's server on 127.0.0.1, driven through its GraphQL API: the three jobs,
the sensors, the schedule and the asset graph are there, and a launched run completes."""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster_graphql import DagsterGraphQLClient

from rl_pipeline.dagster_defs.launch import register_session_partition
from rl_pipeline.store.ai_models import live_weights
from rl_pipeline_tests.conftest import PROJECT_ROOT, VENV_BIN
from rl_pipeline_tests.support.dagster_cli import make_dagster_home
from rl_pipeline_tests.support.processes import pick_free_port

REPOSITORY_QUERY = """
{
  repositoriesOrError {
    ... on RepositoryConnection {
      nodes {
        name
        location { name }
        jobs { name }
        sensors { name }
        schedules { name cronSchedule }
        assetNodes { assetKey { path } dependencyKeys { path } }
      }
    }
  }
}
"""


@pytest.fixture
def webserver(small_store, tmp_path: Path, monkeypatch) -> Iterator[tuple[int, Path]]:
    home = make_dagster_home(tmp_path / "dagster_home")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    port = pick_free_port()
    log = (tmp_path / "webserver.log").open("wb")
    process = subprocess.Popen(
        [
            str(VENV_BIN / "dagster-webserver"),
            "-m",
            "rl_pipeline",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=PROJECT_ROOT,
        env=os.environ.copy(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2):
                    break
            except OSError:
                assert process.poll() is None, (tmp_path / "webserver.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "webserver did not start in 120 s"
                time.sleep(0.5)
        yield port, home
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_graphql_lists_jobs_sensors_schedule_assets_and_runs_a_session(webserver, small_store):
    port, _ = webserver
    client = DagsterGraphQLClient("127.0.0.1", port_number=port)
    (repo,) = client._execute(REPOSITORY_QUERY)["repositoriesOrError"]["nodes"]
    assert {j["name"] for j in repo["jobs"]} >= {
        "reinforcement_session_job",
        "backtest_job",
        "weight_update_job",
    }
    assert {s["name"] for s in repo["sensors"]} == {
        "session_request_sensor",
        "new_market_data_sensor",
        "win_rate_degradation_sensor",
        "session_run_failure_sensor",
    }
    assert [s["name"] for s in repo["schedules"]] == ["nightly_session_schedule"]
    graph = {
        n["assetKey"]["path"][0]: [d["path"][0] for d in n["dependencyKeys"]]
        for n in repo["assetNodes"]
    }
    assert graph["features"] == ["market_bars"]
    assert graph["trade_results"] == ["model_signals"]
    assert set(graph["live_weights"]) == {"trade_results", "model_weights", "performance_metrics"}

    session_id = str(uuid.uuid4())
    register_session_partition(session_id)
    run_id = client.submit_job_execution(
        "reinforcement_session_job",
        repository_location_name=repo["location"]["name"],
        repository_name=repo["name"],
        run_config={"ops": {"market_bars": {"config": {"test_period_days": 5}}}},
        tags={"dagster/partition": session_id},
    )
    deadline = time.monotonic() + 240
    status = client.get_run_status(run_id)
    while status.value not in ("SUCCESS", "FAILURE", "CANCELED"):
        assert time.monotonic() < deadline, f"run {run_id} still {status} after 240 s"
        time.sleep(1)
        status = client.get_run_status(run_id)
    assert status.value == "SUCCESS"
    row = small_store.execute(
        "SELECT status FROM reinforcement_sessions WHERE session_id = ?", (session_id,)
    ).fetchone()
    assert row[0] == "completed"
    assert sum(live_weights(small_store).values()) == pytest.approx(1.0, abs=1e-9)
