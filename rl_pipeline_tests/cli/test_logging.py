"""Rotating log files under data/logs/: size and count from LoggingConfig and the environment."""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

import pydantic
import pytest

from rl_pipeline.logging_setup import LoggingConfig, setup_logging
from rl_pipeline_tests.conftest import VENV_BIN


@pytest.fixture
def detach_handlers():
    """Handlers this test attaches to the root logger are removed again."""
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    yield
    for handler in [h for h in root.handlers if h not in before]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)


def test_log_file_rotates_at_the_configured_size(
    isolated_data_dir: Path, monkeypatch: pytest.MonkeyPatch, detach_handlers: None
) -> None:
    monkeypatch.setenv("RL_PIPELINE_LOG_MAX_BYTES", "2048")
    monkeypatch.setenv("RL_PIPELINE_LOG_BACKUPS", "3")
    config = LoggingConfig.from_env()
    assert (config.max_bytes, config.backups) == (2048, 3)
    handler = setup_logging("rotation", config)
    log = logging.getLogger("rl_pipeline.test")
    line = "x" * 100
    for i in range(200):  # ~25 kB of records: far more than 4 files of 2 kB
        log.info("record %03d %s", i, line)
    handler.flush()
    folder = isolated_data_dir / "logs"
    files = sorted(p.name for p in folder.iterdir())
    assert files == ["rotation.log", "rotation.log.1", "rotation.log.2", "rotation.log.3"]
    for name in files:
        assert (folder / name).stat().st_size <= 2048
    for name in files[1:]:  # every rotated file was filled up to the limit
        assert (folder / name).stat().st_size > 2048 - 200
    # The newest records are in the live file, older ones in .1, and the oldest were dropped.
    assert "record 199" in (folder / "rotation.log").read_text()
    assert "record 000" not in "".join((folder / n).read_text() for n in files)


def test_setting_up_twice_keeps_one_handler(isolated_data_dir: Path, detach_handlers: None) -> None:
    setup_logging("twice", LoggingConfig())
    setup_logging("twice", LoggingConfig())
    logging.getLogger("rl_pipeline.test").warning("once")
    assert (isolated_data_dir / "logs" / "twice.log").read_text().count("once") == 1


def test_bad_settings_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RL_PIPELINE_LOG_MAX_BYTES", "lots")
    with pytest.raises(pydantic.ValidationError, match="max_bytes"):
        LoggingConfig.from_env()
    monkeypatch.setenv("RL_PIPELINE_LOG_MAX_BYTES", "10")
    with pytest.raises(pydantic.ValidationError, match="greater than or equal to 1024"):
        LoggingConfig.from_env()


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(VENV_BIN / "rl-pipeline"), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_commands_log_to_the_cli_file(isolated_data_dir: Path, conn: object) -> None:
    done = _cli("models", "performance")
    assert done.returncode == 0, done.stderr
    assert (isolated_data_dir / "logs" / "cli.log").is_file()
    refused = _cli("models", "performance", RL_PIPELINE_LOG_MAX_BYTES="nonsense")
    assert refused.returncode == 1
    assert "logging settings (RL_PIPELINE_LOG_*): max_bytes" in refused.stderr
