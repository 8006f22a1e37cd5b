"""A session's bars read by the pool's idle workers: the same frame as one read in this
process, and read again here when another connection commits while the workers read."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from rl_pipeline.market.synthetic import generate_default_bars
from rl_pipeline.parallel.session_executor import (
    close_executors,
    configured_executor,
    ready_executor,
)
from rl_pipeline.session.bar_reading import consistent_read, read_window_bars
from rl_pipeline.store.bars import read_bars, write_bars
from rl_pipeline.store.connection import open_store, transaction

SYMBOLS = ("BBB", "AAA", "CCCC", "DD", "E")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[sqlite3.Connection, Path]]:
    db = tmp_path / "db.sqlite"
    conn = open_store(db)
    write_bars(conn, generate_default_bars(SYMBOLS, days=6), source="test")
    yield conn, db
    conn.close()


@pytest.fixture
def pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    monkeypatch.setenv("RL_PIPELINE_EXECUTOR", "process_pool")
    monkeypatch.setenv("RL_PIPELINE_WORKERS", "2")
    close_executors()
    yield configured_executor()
    close_executors()


def bytes_read_by(pids: list[int]) -> int:
    """Bytes the processes have read through system calls (SQLite reads the file that way)."""
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/io").read_text().splitlines():
            if line.startswith("rchar:"):
                total += int(line.split()[1])
    return total


def test_ready_workers_read_the_bars_into_the_frame_one_read_gives(store, pool) -> None:
    conn, _ = store
    since, until = 1_600_000_000, 2**40
    one_read = read_bars(conn, list(SYMBOLS), since, until)
    assert ready_executor() is None, "a pool that has run nothing is still booting"
    assert read_window_bars(conn, list(SYMBOLS), since, until, 10**9).equals(one_read)

    pool.map(abs, [-1, -2])  # the workers have run a batch: they are ready
    assert ready_executor() is pool
    workers = list(pool._pool._processes)
    before = bytes_read_by(workers)
    shared = read_window_bars(conn, list(SYMBOLS), since, until, 10**9)
    pd.testing.assert_frame_equal(shared, one_read)
    assert shared["symbol"].is_monotonic_increasing and len(shared) == len(one_read) > 0
    assert bytes_read_by(workers) - before > 100_000, "the workers read the store"

    # A small window is read here: a round trip would cost more than the read.
    before = bytes_read_by(workers)
    small = read_window_bars(conn, ["AAA"], since, until, 100)
    pd.testing.assert_frame_equal(small, read_bars(conn, ["AAA"], since, until))
    assert bytes_read_by(workers) - before < 10_000

    # Inside its own transaction the caller sees its uncommitted change (read here).
    with pytest.raises(RuntimeError, match="roll back"), transaction(conn):
        conn.execute("UPDATE market_bars SET close = close * 2 WHERE symbol = 'E'")
        mine = read_window_bars(conn, list(SYMBOLS), since, until, 10**9)
        assert mine.loc[mine["symbol"] == "E", "close"].tolist() == [
            2 * c for c in one_read.loc[one_read["symbol"] == "E", "close"]
        ]
        raise RuntimeError("roll back")
    pd.testing.assert_frame_equal(read_bars(conn, list(SYMBOLS), since, until), one_read)

    # An in-memory store has no file a worker could open: it is read here.
    memory = open_store(":memory:")
    write_bars(memory, generate_default_bars(SYMBOLS, days=6), source="test")
    pd.testing.assert_frame_equal(
        read_window_bars(memory, list(SYMBOLS), since, until, 10**9), one_read
    )
    memory.close()


def test_a_commit_by_another_connection_during_the_read_makes_it_read_again(store) -> None:
    conn, db = store
    stale = read_bars(conn, ["AAA"], 0)

    def read_while_bars_are_imported() -> pd.DataFrame:
        other = sqlite3.connect(db, isolation_level=None)
        try:
            with transaction(other):
                other.execute("UPDATE market_bars SET close = close * 1.01 WHERE symbol = 'AAA'")
        finally:
            other.close()
        return stale

    got = consistent_read(conn, read_while_bars_are_imported, lambda: read_bars(conn, ["AAA"], 0))
    assert not got.equals(stale)
    pd.testing.assert_frame_equal(got, read_bars(conn, ["AAA"], 0))
    # Without a commit in between, the (several-transaction) read stands.
    assert consistent_read(conn, lambda: stale, lambda: pytest.fail("read again")) is stale
