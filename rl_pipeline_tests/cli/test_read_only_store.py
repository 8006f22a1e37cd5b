"""A store on read-only storage (a read-only bind mount here; as root, file modes would not stop
writes): the reading commands work and write no log file, the writing commands fail with one
clear sentence, and nothing changes."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from rl_pipeline_tests.support.analytics_store import make_session_store
from rl_pipeline_tests.support.cli import cli


@pytest.fixture
def read_only_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    db, _ = make_session_store(tmp_path / "made", periods=(5,))
    source = db.parent
    target = tmp_path / "read-only"
    target.mkdir()
    if os.geteuid() == 0:
        subprocess.run(["mount", "--bind", str(source), str(target)], check=True)
        subprocess.run(["mount", "-o", "remount,bind,ro", str(target)], check=True)
    else:  # modes are enough for anyone but root
        target.rmdir()
        source.rename(target)
        for path in [target, *target.rglob("*")]:
            path.chmod(path.stat().st_mode & ~0o222)
    monkeypatch.setenv("RL_PIPELINE_DATA_DIR", str(target))
    monkeypatch.setenv("RL_PIPELINE_DB", str(target / "rl_pipeline.sqlite"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    try:
        yield target
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", str(target)], check=True)


def files(folder: Path) -> dict[str, str]:
    """Every file of the data folder and its sha256: equal means nothing changed."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_the_store_really_is_read_only(read_only_data: Path) -> None:
    with pytest.raises(OSError):
        (read_only_data / "probe").write_text("x")


@pytest.mark.parametrize(
    "args",
    [
        ("session", "show"),
        ("weights", "show"),
        ("models", "versions", "lava_ai"),
        ("models", "performance"),
        ("analytics", "trades"),
        ("config", "export"),
    ],
)
def test_reading_commands_work(read_only_data: Path, args: tuple[str, ...]) -> None:
    before = files(read_only_data)
    result = cli(*args)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.strip()
    assert not (read_only_data / "logs").exists()
    assert files(read_only_data) == before


@pytest.mark.parametrize(
    "args",
    [
        (
            "weights",
            "set",
            "--trading-ai",
            "0.4",
            "--lava-ai",
            "0.3",
            "--lgbm-ai",
            "0.3",
            "--mistral-ai",
            "0",
        ),
        ("session", "start", "--test-period-days", "5"),
    ],
)
def test_writing_commands_fail_with_one_sentence(
    read_only_data: Path, args: tuple[str, ...]
) -> None:
    before = files(read_only_data)
    result = cli(*args)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "is read-only: this command changes it and cannot run" in result.stderr, result.stderr
    assert files(read_only_data) == before
