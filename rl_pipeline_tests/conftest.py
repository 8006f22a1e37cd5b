"""Shared fixtures: every test gets its own data folder and SQLite file (real files, no mocks)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from rl_pipeline.market.synthetic import generate_default_bars
from rl_pipeline.store.bars import write_bars
from rl_pipeline.store.connection import open_store

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = PROJECT_ROOT / ".venv" / "bin"


@pytest.fixture(autouse=True)
def isolated_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("RL_PIPELINE_DATA_DIR", str(data))
    monkeypatch.setenv("RL_PIPELINE_DB", str(data / "rl_pipeline.sqlite"))
    return data


@pytest.fixture
def db_path(isolated_data_dir: Path) -> Path:
    return isolated_data_dir / "rl_pipeline.sqlite"


@pytest.fixture
def conn(db_path: Path) -> Iterator[sqlite3.Connection]:
    connection = open_store(db_path)
    yield connection
    connection.close()


@pytest.fixture(scope="session")
def small_bars() -> pd.DataFrame:
    """Two symbols, 40 days of hourly synthetic bars: enough for indicators and a 10-day test."""
    return generate_default_bars(symbols=("AAA", "BBB"), days=40, seed=7)


@pytest.fixture
def small_store(conn: sqlite3.Connection, small_bars: pd.DataFrame) -> sqlite3.Connection:
    write_bars(conn, small_bars, source="test")
    return conn


# The suite's layers are its folders; the markers follow from them (a test may add ``slow``).
LAYER_MARKERS = {
    "unit": (),
    "store": (),
    "api": ("slow",),
    "cli": ("slow",),
    "dagster": ("slow",),
    "e2e": ("slow", "e2e"),
    "llm": ("slow", "llm"),
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        layer = Path(str(item.fspath)).relative_to(PROJECT_ROOT / "rl_pipeline_tests").parts[0]
        for marker in LAYER_MARKERS.get(layer, ()):
            item.add_marker(marker)


def llama_server_or_skip() -> Path:
    """The llama-server binary. Where it could not be built the test is skipped with the
    reason, except under ``make test`` (RL_PIPELINE_REQUIRE_LLM=1, after building it), where a
    missing binary fails the test."""
    import os

    from rl_pipeline.mistral.binary import resolve_server_binary
    from rl_pipeline.mistral.errors import ServerBinaryNotFoundError

    try:
        return resolve_server_binary(None)
    except ServerBinaryNotFoundError as exc:
        message = f"{exc}\n(`make llama-server` builds it; `make test` builds it first)"
        if os.environ.get("RL_PIPELINE_REQUIRE_LLM") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(f"llama-server binary not built: {message}")
