"""Fixtures for tests against a real ``llama-server`` process and a tiny random-weight GGUF.

Every test gets its own data dir (``RL_PIPELINE_DATA_DIR``), a free port and a model file under its
own tmp dir; the model's path is unique, so scanning ``/proc`` for it finds exactly the servers this
test started.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rl_pipeline.config import MistralConfig
from rl_pipeline.mistral.manager import DEFAULT_EXTRA_ARGS, MistralServerManager
from rl_pipeline_tests.conftest import llama_server_or_skip
from rl_pipeline_tests.support.processes import pick_free_port, servers_of
from rl_pipeline_tests.support.tiny_gguf import write_tiny_llama_gguf


@pytest.fixture(scope="session")
def llama_server_binary() -> Path:
    """The real binary (skipped with the reason where it could not be built, failed under
    ``make test``, which builds it)."""
    return llama_server_or_skip()


@pytest.fixture
def free_port() -> int:
    return pick_free_port()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "data"
    path.mkdir(exist_ok=True)  # the suite-wide autouse fixture may have made it already
    monkeypatch.setenv("RL_PIPELINE_DATA_DIR", str(path))
    return path


@pytest.fixture
def run_dir(data_dir: Path) -> Path:
    return data_dir / "run"


@pytest.fixture
def model_dir(tmp_path: Path) -> Iterator[Path]:
    """Where this test's models live; any server still running one of them is killed afterwards."""
    path = tmp_path / "models"
    path.mkdir()
    yield path
    leftovers = servers_of(path)
    for pid in leftovers:  # only servers this test started: their argv holds this unique path
        os.kill(pid, signal.SIGKILL)
    assert not leftovers, f"test left server processes running: {leftovers}"


@pytest.fixture
def make_model(model_dir: Path) -> Callable[..., Path]:
    """``make_model(name="tiny", **kwargs)`` writes a tiny GGUF (see ``write_tiny_llama_gguf``)."""

    def make(name: str = "tiny", **kwargs: object) -> Path:
        return write_tiny_llama_gguf(model_dir / f"{name}.gguf", **kwargs)  # type: ignore[arg-type]

    return make


@pytest.fixture
def tiny_model(make_model: Callable[..., Path]) -> Path:
    return make_model()


@pytest.fixture
def config(llama_server_binary: Path, free_port: int) -> MistralConfig:
    return MistralConfig(
        server_binary=str(llama_server_binary),
        port=free_port,
        start_timeout_s=20,
        stop_grace_s=2,
        ctx_size=512,
    )


@pytest.fixture
def manager(config: MistralConfig, run_dir: Path) -> Iterator[MistralServerManager]:
    # One compute thread: ggml's spinning thread pool slows to a crawl when other busy processes
    # (another server, a parallel test run) compete for the cores, and a tiny model gains nothing.
    mgr = MistralServerManager(config, run_dir, extra_args=(*DEFAULT_EXTRA_ARGS, "--threads", "1"))
    yield mgr
    mgr.stop()
