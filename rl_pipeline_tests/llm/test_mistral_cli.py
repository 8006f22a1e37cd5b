"""`rl-pipeline mistral ...` in subprocesses: other processes see and control the same server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rl_pipeline.mistral.manager import MistralServerManager
from rl_pipeline_tests.support.processes import servers_of

CLI = Path(sys.executable).parent / "rl-pipeline"


@pytest.fixture
def cli_env(data_dir: Path, llama_server_binary: Path) -> dict[str, str]:
    return dict(
        os.environ,
        RL_PIPELINE_DATA_DIR=str(data_dir),
        RL_PIPELINE_LLAMA_SERVER=str(llama_server_binary),
    )


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), "mistral", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_cli_sees_and_stops_a_server_this_process_started(
    manager: MistralServerManager, tiny_model: Path, cli_env: dict[str, str]
) -> None:
    started = manager.start(tiny_model)

    shown = cli(cli_env, "status", "--json")
    assert shown.returncode == 0, shown.stderr
    status = json.loads(shown.stdout)
    assert status["state"] == "running" and status["healthy"] is True
    assert status["pid"] == started["pid"] and status["port"] == started["port"]

    human = cli(cli_env, "status")
    assert "Mistral server: running (healthy)" in human.stdout
    assert f"pid:        {started['pid']}" in human.stdout
    assert str(tiny_model) in human.stdout

    stopped = cli(cli_env, "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert f"Mistral server stopped (pid {started['pid']}" in stopped.stdout
    assert servers_of(tiny_model) == []
    assert manager.status()["state"] == "stopped"

    again = cli(cli_env, "stop")
    assert again.returncode == 0 and "Mistral server is not running" in again.stdout


def test_cli_started_server_is_shared_and_outlives_the_cli(
    manager: MistralServerManager, tiny_model: Path, cli_env: dict[str, str]
) -> None:
    port = str(manager.config.port)
    # Two concurrent starts (the file lock serialises them): one server, both see it.
    procs = [
        subprocess.Popen(
            [
                str(CLI),
                "mistral",
                "start",
                "--model-path",
                str(tiny_model),
                "--port",
                port,
                "--json",
            ],
            env=cli_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    assert results[0]["pid"] == results[1]["pid"]
    assert sorted(r["already_running"] for r in results) == [False, True]
    pid = results[0]["pid"]
    # The CLI processes are gone; the shared server is not, and this process sees it.
    assert servers_of(tiny_model) == [pid]
    status = manager.status()
    assert status["state"] == "running" and status["owner"] == "shared" and status["healthy"]

    stopped = cli(cli_env, "stop", "--json")
    assert json.loads(stopped.stdout)["status"] is True
    assert servers_of(tiny_model) == []
    shown = cli(cli_env, "status")
    assert shown.stdout.startswith("Mistral server: stopped")


def test_cli_kill_9_shows_crashed(
    manager: MistralServerManager, tiny_model: Path, cli_env: dict[str, str]
) -> None:
    port = str(manager.config.port)
    start = cli(cli_env, "start", "--model-path", str(tiny_model), "--port", port)
    assert start.returncode == 0, start.stderr
    pid = manager.status()["pid"]
    assert pid is not None
    os.kill(pid, 9)
    shown = cli(cli_env, "status")
    assert "Mistral server: CRASHED" in shown.stdout and f"process {pid} is gone" in shown.stdout
    assert json.loads(cli(cli_env, "status", "--json").stdout)["state"] == "crashed"
    cleared = cli(cli_env, "stop")
    assert "it had crashed" in cleared.stdout
    assert cli(cli_env, "status").stdout.startswith("Mistral server: stopped")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model-path", "{models}/absent.gguf"], "model file not found: {models}/absent.gguf"),
        ([], "no model file given and none configured"),
        (["--model-path", "{models}/m.gguf", "--timeout", "0"], "Invalid value for '--timeout'"),
    ],
    ids=["missing-model", "no-model", "bad-timeout"],
)
def test_cli_errors_exit_non_zero(
    model_dir: Path, cli_env: dict[str, str], args: list[str], message: str
) -> None:
    result = cli(cli_env, "start", *(a.format(models=model_dir) for a in args))
    assert result.returncode != 0
    assert message.format(models=model_dir) in result.stderr
    assert servers_of(model_dir) == []
