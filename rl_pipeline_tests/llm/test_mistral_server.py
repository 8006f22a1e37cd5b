"""MistralServerManager against a real llama-server: lifecycle, errors, crash detection."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from rl_pipeline.config import MistralConfig
from rl_pipeline.mistral import manager as manager_module
from rl_pipeline.mistral import procfs
from rl_pipeline.mistral.client import chat_completion
from rl_pipeline.mistral.errors import (
    ModelFileError,
    ModelNotConfiguredError,
    PortInUseError,
    ServerAlreadyRunningError,
    ServerBinaryNotFoundError,
    ServerExitedError,
    StartTimeoutError,
)
from rl_pipeline.mistral.manager import MistralServerManager
from rl_pipeline.mistral.state import STATE_FILE
from rl_pipeline_tests.support.grammars import SIGNAL_GRAMMAR, SIGNAL_SCHEMA
from rl_pipeline_tests.support.processes import pick_free_port, servers_of, wait_until

MESSAGES = [
    {"role": "system", "content": "You are a trading assistant. Answer in JSON."},
    {"role": "user", "content": "BTCUSD closed at 64000, up 3% today. Your decision?"},
]


def assert_nothing_running(manager: MistralServerManager, model: Path) -> None:
    assert servers_of(model) == []
    assert manager.status()["state"] == "stopped"
    assert not (manager.state_dir / STATE_FILE).exists()


def test_start_status_chat_stop(manager: MistralServerManager, tiny_model: Path) -> None:
    started = manager.start(tiny_model)
    assert started["status"] is True and started["already_running"] is False
    assert started["port"] == manager.config.port
    assert servers_of(tiny_model) == [started["pid"]]

    status = manager.status()
    assert status["state"] == "running" and status["healthy"] is True
    assert status["pid"] == started["pid"]
    assert status["model_path"] == str(tiny_model)
    assert status["owner"] == os.getpid()
    assert status["started_at"]

    content, finish = chat_completion(
        started["base_url"], MESSAGES, grammar=SIGNAL_GRAMMAR, max_tokens=200
    )
    assert finish == "stop"
    answer = json.loads(content)
    assert set(answer) == {"signal", "confidence", "reason"}
    assert answer["signal"] in {"LONG", "SHORT", "HOLD"}
    assert 0 <= answer["confidence"] <= 1

    # The OpenAI json_schema response format goes through the same server.
    content, finish = chat_completion(
        started["base_url"], MESSAGES, json_schema=SIGNAL_SCHEMA, max_tokens=200
    )
    assert finish == "stop" and set(json.loads(content)) == {"signal", "confidence", "reason"}

    stopped = manager.stop()
    assert stopped["status"] is True and stopped["pid"] == started["pid"]
    assert stopped["forced"] is False  # an idle server honours SIGTERM
    assert_nothing_running(manager, tiny_model)


def test_start_is_idempotent(manager: MistralServerManager, tiny_model: Path) -> None:
    first = manager.start(tiny_model)
    again = manager.start(tiny_model)
    default = manager.start()  # no arguments: whatever runs is fine
    assert again["pid"] == default["pid"] == first["pid"]
    assert again["already_running"] and default["already_running"]
    assert servers_of(tiny_model) == [first["pid"]]
    # A different port or model is not "the same server": say so instead of returning it.
    with pytest.raises(ServerAlreadyRunningError, match=f"already running \\(pid {first['pid']}"):
        manager.start(tiny_model, port=pick_free_port())
    assert servers_of(tiny_model) == [first["pid"]]
    manager.stop()
    assert_nothing_running(manager, tiny_model)


def test_stop_when_not_running_says_so(manager: MistralServerManager) -> None:
    result = manager.stop()
    assert result["status"] is False
    assert result["message"] == "Mistral server is not running"


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("missing", "model file not found: {path}"),
        ("directory", "model path is not a regular file: {path}"),
        # Tests run as root here, where permission bits never stop a read; /proc/<pid>/mem is a
        # regular file whose first bytes give EIO to anyone.
        ("unreadable", "model file is not readable: {path} (Input/output error)"),
        ("not_gguf", "model file is not a GGUF file: {path} (starts with b'PK\\x03\\x04'"),
    ],
    ids=["missing", "directory", "unreadable", "not_gguf"],
)
def test_bad_model_file(
    manager: MistralServerManager, model_dir: Path, kind: str, message: str
) -> None:
    path = {
        "missing": model_dir / "absent.gguf",
        "directory": model_dir,
        "unreadable": Path(f"/proc/{os.getpid()}/mem"),
        "not_gguf": model_dir / "model.zip",
    }[kind]
    if kind == "not_gguf":
        path.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(ModelFileError) as info:
        manager.start(path)
    assert message.format(path=path) in str(info.value)
    assert_nothing_running(manager, model_dir)


def test_no_model_configured(manager: MistralServerManager) -> None:
    with pytest.raises(ModelNotConfiguredError, match="mistral.model_path"):
        manager.start()


def test_explicit_binary_must_exist(run_dir: Path, tiny_model: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-llama-server"
    mgr = MistralServerManager(MistralConfig(server_binary=str(missing)), run_dir)
    with pytest.raises(ServerBinaryNotFoundError, match=f"not an executable file: {missing}"):
        mgr.start(tiny_model)
    assert_nothing_running(mgr, tiny_model)


def test_port_in_use_is_refused_before_launch(
    manager: MistralServerManager, tiny_model: Path
) -> None:
    port = manager.config.port
    with socket.create_server(("127.0.0.1", port)):
        with pytest.raises(PortInUseError, match=f"port {port} on 127.0.0.1 is already in use"):
            manager.start(tiny_model)
        assert not (manager.log_path).exists()  # refused before any launch
    assert_nothing_running(manager, tiny_model)


def test_port_lost_to_a_race_is_reported_from_the_server(
    manager: MistralServerManager, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another program takes the port between the pre-launch check and the launch: skip the check
    # so the real server meets the taken port, and its own failure must be reported.
    monkeypatch.setattr(manager_module, "check_port_free", lambda host, port: None)
    port = manager.config.port
    with socket.create_server(("127.0.0.1", port)), pytest.raises(PortInUseError) as info:
        manager.start(tiny_model)
    text = str(info.value)
    assert f"port {port} is already in use" in text and "exit code 1" in text
    assert "couldn't bind HTTP server socket" in text  # the server's log tail
    assert_nothing_running(manager, tiny_model)


def test_server_exits_during_start(manager: MistralServerManager, model_dir: Path) -> None:
    corrupt = model_dir / "corrupt.gguf"
    corrupt.write_bytes(b"GGUF" + b"\xff" * 64)  # right magic, garbage header
    with pytest.raises(ServerExitedError) as info:
        manager.start(corrupt)
    assert info.value.exit_code not in (None, 0)
    assert f"exited during start (exit code {info.value.exit_code}) with model {corrupt}" in str(
        info.value
    )
    assert "Last log lines" in str(info.value) and info.value.log_tail.strip()
    assert_nothing_running(manager, model_dir)


def test_start_timeout_kills_the_process_group(
    config: MistralConfig, run_dir: Path, tiny_model: Path
) -> None:
    # A later --port wins in llama-server: the server comes up healthy, but on another port, so
    # the configured URL never answers - a server that never gets ready, deterministically.
    hidden_port = pick_free_port()
    mgr = MistralServerManager(
        config, run_dir, extra_args=("--parallel", "1", "--port", str(hidden_port))
    )
    with pytest.raises(StartTimeoutError) as info:
        mgr.start(tiny_model, timeout=1.5)
    text = str(info.value)
    assert f"did not become healthy at http://127.0.0.1:{config.port}/health within 1.5 s" in text
    assert "process group was killed" in text
    assert f"127.0.0.1:{hidden_port}" in info.value.log_tail  # the server's own last words
    assert_nothing_running(mgr, tiny_model)


def test_kill_9_is_reported_as_crashed(manager: MistralServerManager, tiny_model: Path) -> None:
    pid = manager.start(tiny_model)["pid"]
    os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: manager.status()["state"] == "crashed")
    status = manager.status()
    assert status["pid"] == pid and status["healthy"] is False
    assert f"server process {pid} is gone" in status["detail"]
    assert servers_of(tiny_model) == []

    stopped = manager.stop()
    assert stopped["status"] is False and "it had crashed" in stopped["message"]
    assert_nothing_running(manager, tiny_model)
    # And a new server starts in its place.
    assert manager.start(tiny_model)["pid"] != pid
    manager.stop()


def test_reused_pid_is_not_our_server(manager: MistralServerManager, tiny_model: Path) -> None:
    started = manager.start(tiny_model)
    manager.stop()
    # Forge the record of a server whose pid now belongs to an unrelated program.
    stranger = subprocess.Popen(["sleep", "30"])
    try:
        record = {
            "pid": stranger.pid,
            "pgid": stranger.pid,
            "port": started["port"],
            "host": "127.0.0.1",
            "model_path": str(tiny_model),
            "binary": str(manager.config.server_binary),
            "started_at": "2024-01-01T00:00:00+00:00",
            "proc_start_ticks": (procfs.start_ticks(stranger.pid) or 0) - 1,
            "owner": "shared",
            "owner_start_ticks": None,
            "log_path": str(manager.log_path),
        }
        (manager.state_dir / STATE_FILE).write_text(json.dumps(record))
        status = manager.status()
        assert status["state"] == "crashed"
        assert f"pid {stranger.pid} now belongs to another program" in status["detail"]
        assert manager.stop()["status"] is False
        assert stranger.poll() is None  # stop() never signalled the stranger
    finally:
        stranger.kill()
        stranger.wait()
    assert_nothing_running(manager, tiny_model)


def test_owner_death_takes_an_owned_server_down(
    config: MistralConfig, run_dir: Path, tiny_model: Path
) -> None:
    # Arguments travel in the environment: the owner's argv must not mention the model path.
    script = (
        "import os, time\n"
        "from rl_pipeline.config import MistralConfig\n"
        "from rl_pipeline.mistral.manager import MistralServerManager\n"
        "cfg = MistralConfig.model_validate_json(os.environ['T_CONFIG'])\n"
        "m = MistralServerManager(cfg, os.environ['T_RUN_DIR'])\n"
        "print(m.start(os.environ['T_MODEL'])['pid'], flush=True)\n"
        "time.sleep(60)\n"
    )
    env = dict(
        os.environ,
        T_CONFIG=config.model_dump_json(),
        T_RUN_DIR=str(run_dir),
        T_MODEL=str(tiny_model),
    )
    owner = subprocess.Popen(
        [sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        server_pid = int(owner.stdout.readline())
        assert servers_of(tiny_model) == [server_pid]
        owner.kill()  # SIGKILL: the owner gets no chance to clean up
        owner.wait()
        assert wait_until(lambda: servers_of(tiny_model) == [])  # PR_SET_PDEATHSIG did it
        status = MistralServerManager(config, run_dir).status()
        assert status["state"] == "stopped"
        assert f"owner process {owner.pid} exited" in status["detail"]
    finally:
        owner.kill()
        owner.wait()
