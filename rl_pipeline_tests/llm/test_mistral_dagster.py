"""MistralServerResource through the real ``dagster job execute``: lazy start, one server at a time,
nothing left running after a run that succeeds, fails, is interrupted or is killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from rl_pipeline.config import MistralConfig
from rl_pipeline.mistral.manager import MistralServerManager
from rl_pipeline.mistral.state import STATE_FILE
from rl_pipeline_tests.support.processes import popen_interruptible, servers_of, wait_until

JOB_FILE = Path(__file__).with_name("dagster_jobs.py")
DAGSTER = Path(sys.executable).parent / "dagster"


class ServerSampler:
    """Counts the test model's server processes every few ms while a run is going on."""

    def __init__(self, model: Path) -> None:
        self.model = model
        self.max_seen = 0
        self.pids: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = servers_of(self.model)
            self.max_seen = max(self.max_seen, len(pids))
            self.pids.update(pids)
            self._stop.wait(0.01)

    def __enter__(self) -> ServerSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class JobRunner:
    """Runs the test jobs with ``dagster job execute`` in a subprocess (own DAGSTER_HOME)."""

    def __init__(self, tmp_path: Path, data_dir: Path, config: MistralConfig, model: Path) -> None:
        self.tmp_path = tmp_path
        self.record = tmp_path / "record.jsonl"
        self.resource_config = {
            "model_path": str(model),
            "server_binary": config.server_binary,
            "port": config.port,
            "start_timeout_s": config.start_timeout_s,
            "stop_grace_s": config.stop_grace_s,
            "ctx_size": config.ctx_size,
        }
        dagster_home = tmp_path / "dagster_home"
        dagster_home.mkdir()
        self.env = dict(
            os.environ, DAGSTER_HOME=str(dagster_home), RL_PIPELINE_DATA_DIR=str(data_dir)
        )
        self.started: list[subprocess.Popen[str]] = []

    def launch(self, job: str, **step: object) -> subprocess.Popen[str]:
        step_config = {"record_file": str(self.record), **step}
        run_config = {
            "resources": {"mistral": {"config": self.resource_config}},
            "ops": {"ask": {"config": step_config}, "ask_again": {"config": step_config}},
        }
        config_file = self.tmp_path / f"{job}.yaml"
        config_file.write_text(json.dumps(run_config))  # JSON is YAML
        cmd = [str(DAGSTER), "job", "execute", "-f", str(JOB_FILE), "-j", job]
        proc = popen_interruptible(  # the test interrupts it with SIGINT
            [*cmd, "-c", str(config_file)],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.started.append(proc)
        return proc

    def records(self) -> list[dict]:
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text().splitlines()]


@pytest.fixture
def run_job(
    tmp_path: Path, data_dir: Path, config: MistralConfig, tiny_model: Path
) -> Iterator[JobRunner]:
    runner = JobRunner(tmp_path, data_dir, config, tiny_model)
    yield runner
    for proc in runner.started:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_in_process_run_starts_one_server_lazily_and_stops_it(
    run_job: JobRunner, tiny_model: Path, run_dir: Path, config: MistralConfig
) -> None:
    with ServerSampler(tiny_model) as sampler:
        proc = run_job.launch("mistral_in_process_job")
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    events = run_job.records()
    assert [e["event"] for e in events] == ["asked", "asked_again"]
    # Both steps share the run's resource: one server, owned by the run process.
    (server,) = {e["server_pid"] for e in events}
    assert all(e["servers"] == [server] for e in events)
    assert sampler.max_seen == 1 and sampler.pids == {server}
    # Stopped cleanly at teardown (record removed), not merely killed with the run process; the
    # parent's second resource initialisation started nothing.
    assert f"Mistral server stopped (pid {server}" in output
    assert not (run_dir / STATE_FILE).exists()
    assert servers_of(tiny_model) == []
    assert MistralServerManager(config, run_dir).status()["state"] == "stopped"


def test_failed_multiprocess_run_leaves_no_server(
    run_job: JobRunner, tiny_model: Path, run_dir: Path, config: MistralConfig
) -> None:
    with ServerSampler(tiny_model) as sampler:
        proc = run_job.launch("mistral_multiprocess_job", fail=True)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "planned failure after starting the server" in output
    (event,) = run_job.records()
    assert event["servers"] == [event["server_pid"]]
    assert event["step_pid"] != proc.pid  # the step ran in its own process
    assert sampler.max_seen == 1
    assert f"Mistral server stopped (pid {event['server_pid']}" in output  # the step's teardown
    assert not (run_dir / STATE_FILE).exists()
    assert servers_of(tiny_model) == []
    assert MistralServerManager(config, run_dir).status()["state"] == "stopped"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["interrupted", "killed"])
def test_interrupted_or_killed_run_leaves_no_server(
    run_job: JobRunner, tiny_model: Path, run_dir: Path, config: MistralConfig, sig: signal.Signals
) -> None:
    with ServerSampler(tiny_model) as sampler:
        proc = run_job.launch("mistral_in_process_job", sleep_s=60)
        assert wait_until(
            lambda: any(e["event"] == "sleeping" for e in run_job.records()), timeout_s=30
        )
        (server,) = {e["server_pid"] for e in run_job.records()}
        assert servers_of(tiny_model) == [server]
        # SIGINT is how Dagster interrupts a run (teardown runs); SIGKILL allows no cleanup at
        # all, and PR_SET_PDEATHSIG takes the server down with the run process.
        proc.send_signal(sig)
        output, _ = proc.communicate(timeout=30)
        assert wait_until(lambda: servers_of(tiny_model) == []), output
    assert proc.returncode != 0
    assert sampler.max_seen == 1
    status = MistralServerManager(config, run_dir).status()
    assert status["state"] == "stopped"
    if sig == signal.SIGINT:  # teardown ran and stopped it cleanly
        assert f"Mistral server stopped (pid {server}" in output
        assert not (run_dir / STATE_FILE).exists()
    else:  # nothing could clean up: the record stays, and says why the server is gone
        assert f"owner process {proc.pid} exited" in status["detail"]
