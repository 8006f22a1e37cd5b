"""Workers that outlive a session's process: a Dask scheduler and two workers started with the
``dask scheduler`` and ``dask worker`` commands the README gives (with ``deploy/dask.yaml``), and
two session runs through ``dagster job execute`` (each in a process of its own) whose fits the
same worker processes run."""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import yaml
from distributed import Client

from rl_pipeline_tests.conftest import PROJECT_ROOT
from rl_pipeline_tests.support.dagster_cli import execute_job, make_dagster_home

DASK = Path(sys.executable).parent / "dask"
DASK_CONFIG = PROJECT_ROOT / "deploy" / "dask.yaml"


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclasses.dataclass(frozen=True)
class DaskCluster:
    address: str
    processes: list[subprocess.Popen]


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    """A scheduler on 127.0.0.1 (a free port, named in its scheduler file) and two
    single-threaded worker processes, started as the README says (once for this module's
    tests: each looks at it without changing it, or counts from what it found)."""
    folder = tmp_path_factory.mktemp("dask")
    scheduler_file = folder / "scheduler.json"
    log = (folder / "dask.log").open("w")
    local = ["--host", "127.0.0.1", "--no-dashboard", "--dashboard-address", "127.0.0.1:0"]
    env = {**os.environ, "DASK_CONFIG": str(DASK_CONFIG)}
    scheduler = subprocess.Popen(
        [DASK, "scheduler", *local, "--port", "0", "--scheduler-file", scheduler_file],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    workers = None
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() or not scheduler_file.read_text():
            assert scheduler.poll() is None and time.monotonic() < deadline, "no scheduler"
            time.sleep(0.2)
        workers = subprocess.Popen(
            [DASK, "worker", "--scheduler-file", scheduler_file, *local]
            + ["--nworkers", "2", "--nthreads", "1"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        address = json.loads(scheduler_file.read_text())["address"]
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield DaskCluster(address, [scheduler, workers])
    finally:
        if workers is not None:
            _stop(workers)
        _stop(scheduler)
        log.close()


def _worker_pids_and_fits(address: str) -> dict[int, int]:
    """Each worker process's pid and how many tasks it has run."""
    with Client(address, timeout="30s") as client:
        done = client.run(lambda dask_worker: (os.getpid(), dask_worker.state.executed_count))
    return dict(done.values())


def test_the_scheduler_and_workers_listen_on_127_0_0_1_only(dask_cluster: DaskCluster) -> None:
    listening = [
        connection.laddr
        for started in dask_cluster.processes
        for process in [psutil.Process(started.pid), *psutil.Process(started.pid).children(True)]
        for connection in process.net_connections(kind="inet")
        if connection.status == psutil.CONN_LISTEN
    ]
    # The scheduler, the two workers and their nannies, each with a port for Dask and one for
    # HTTP (health, metrics), which --no-dashboard alone left on every interface.
    assert len(listening) >= 6
    assert {address.ip for address in listening} == {"127.0.0.1"}, listening


def test_the_workers_allocate_as_deploy_dask_yaml_says(dask_cluster: DaskCluster) -> None:
    # Dask's own default (MALLOC_TRIM_THRESHOLD_=65536) made every fit fault its arrays in again.
    wanted = yaml.safe_load(DASK_CONFIG.read_text())["distributed"]["nanny"]["pre-spawn-environ"]
    names = sorted(wanted)
    with Client(dask_cluster.address, timeout="30s") as client:
        seen = client.run(lambda: {name: os.environ.get(name) for name in names})
    assert len(seen) == 2
    for environment in seen.values():
        assert environment == {name: str(value) for name, value in wanted.items()}


def test_sessions_in_fresh_processes_fit_on_the_same_running_workers(
    small_store: sqlite3.Connection,
    dask_cluster: DaskCluster,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(make_dagster_home(tmp_path / "dagster_home")))
    monkeypatch.setenv("RL_PIPELINE_DASK_ADDRESS", dask_cluster.address)
    monkeypatch.setenv("RL_PIPELINE_PARALLEL_MIN_ROWS", "0")  # these small fits go to Dask
    monkeypatch.setenv("RL_PIPELINE_SIGNAL_CACHE", "0")  # the second session fits again
    config = str(PROJECT_ROOT / "run_config" / "default_session.yaml")
    before = _worker_pids_and_fits(dask_cluster.address)
    assert len(before) == 2

    counts = []
    for _ in range(2):
        done, sid = execute_job("reinforcement_session_job", "-c", config)
        assert done.returncode == 0, done.stderr[-3000:]
        status = small_store.execute(
            "SELECT status FROM reinforcement_sessions WHERE session_id = ?", (sid,)
        ).fetchone()["status"]
        assert status == "completed"
        trades = small_store.execute(
            "SELECT COUNT(*) FROM trade_results WHERE session_id = ?", (sid,)
        ).fetchone()[0]
        assert trades > 0
        after = _worker_pids_and_fits(dask_cluster.address)
        # The same two processes, booted once, ran this session's fits too.
        assert after.keys() == before.keys()
        counts.append(sum(after.values()))
    assert sum(before.values()) < counts[0] < counts[1]
