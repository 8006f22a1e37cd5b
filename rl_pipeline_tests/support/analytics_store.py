"""A store with real sessions in it, and a recursive comparison for computed figures."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from rl_pipeline.config import SessionConfig
from rl_pipeline.market.synthetic import generate_default_bars
from rl_pipeline.session.stages import run_session
from rl_pipeline.store.bars import write_bars
from rl_pipeline.store.connection import open_store


def make_session_store(folder: Path, periods: tuple[int, ...] = (10, 5)) -> tuple[Path, list[str]]:
    """A store under ``folder`` with the small test bars and one completed session per test
    period (in order, so the last is the latest). Returns the store and the session ids."""
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    db = data / "rl_pipeline.sqlite"
    with pytest.MonkeyPatch.context() as env:  # model artifacts go to this data folder
        env.setenv("RL_PIPELINE_DATA_DIR", str(data))
        env.setenv("RL_PIPELINE_DB", str(db))
        conn = open_store(db)
        try:
            bars = generate_default_bars(symbols=("AAA", "BBB"), days=40, seed=7)
            write_bars(conn, bars, source="test")
            ids = [
                run_session(conn, SessionConfig(test_period_days=days), publish=True).session_id
                for days in periods
            ]
        finally:
            conn.close()
    return db, ids


def dump(db: Path) -> list[str]:
    """The whole store as SQL text: equal dumps mean nothing changed."""
    conn = sqlite3.connect(db)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def assert_close(actual: Any, expected: Any, path: str = "$") -> None:
    """Equal structures; floats equal within 1e-9 (relative) since sums may run in another
    order."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), path
        assert set(actual) == set(expected), f"{path}: keys {set(actual) ^ set(expected)}"
        for key in expected:
            assert_close(actual[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{path}: length"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_close(a, e, f"{path}[{i}]")
    elif isinstance(expected, float) and not isinstance(actual, bool):
        if math.isnan(expected):
            assert math.isnan(actual), path
        else:
            assert actual == pytest.approx(expected, rel=1e-9, abs=1e-9), path
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"
