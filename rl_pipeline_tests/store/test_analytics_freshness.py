"""Analytics read through one long-lived DuckDB connection and a cache keyed by the store's
data version: they still see every commit, and they count completed sessions only unless
asked."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rl_pipeline.analytics.duck import cached_by_data_version, store_connection
from rl_pipeline.analytics.trades import trade_analysis
from rl_pipeline.config import SessionConfig
from rl_pipeline.session import stages as stages
from rl_pipeline.store.connection import open_store
from rl_pipeline_tests.support.analytics_store import make_session_store


@pytest.fixture
def store(tmp_path: Path) -> tuple[Path, list[str]]:
    return make_session_store(tmp_path / "fresh", periods=(5,))


def count_trades(db: Path) -> int:
    with store_connection(db) as con:
        return int(con.execute("SELECT COUNT(*) FROM store.trade_results").fetchone()[0])


def test_a_replaced_store_file_is_read_afresh(store, tmp_path: Path) -> None:
    db, _ = store
    calls = []

    def compute() -> int:
        calls.append(1)
        return count_trades(db)

    assert cached_by_data_version(db, "n", compute) > 0
    empty = tmp_path / "empty.sqlite"
    open_store(empty).close()
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    shutil.copy(empty, db.with_suffix(".new"))
    db.with_suffix(".new").replace(db)
    assert cached_by_data_version(db, "n", compute) == 0
    assert len(calls) == 2


def test_the_cache_is_kept_until_another_connection_commits(store) -> None:
    db, _ = store
    calls = []

    def compute() -> int:
        calls.append(1)
        return count_trades(db)

    first = cached_by_data_version(db, "n", compute)
    assert cached_by_data_version(db, "n", compute) == first
    assert len(calls) == 1  # served from the cache
    conn = open_store(db)
    conn.execute(
        "DELETE FROM trade_results WHERE rowid IN (SELECT rowid FROM trade_results LIMIT 2)"
    )
    conn.close()
    assert cached_by_data_version(db, "n", compute) == first - 2
    assert len(calls) == 2
    assert cached_by_data_version(db, "other key", compute) == first - 2
    assert len(calls) == 3


def test_trades_of_a_running_session_count_only_when_asked(store) -> None:
    db, (done,) = store
    conn = open_store(db)
    completed_only = trade_analysis(db)["summary"]["trades"]
    handle = stages.open_session(conn, SessionConfig(test_period_days=5))
    sid = handle.session_id
    window = stages.load_market_window(conn, sid, handle)
    signals = stages.compute_signals(conn, sid, window, stages.compute_features(conn, sid, window))
    stages.run_winrate_test(conn, sid, signals)  # the running session has trades now
    running = conn.execute(
        "SELECT COUNT(*) FROM trade_results WHERE session_id = ?", (sid,)
    ).fetchone()[0]
    assert running > 0
    assert trade_analysis(db)["summary"]["trades"] == completed_only
    everything = trade_analysis(db, include_unfinished=True)
    assert sid in everything["coverage"]["sessions"]
    assert everything["coverage"]["stored_trades"] == completed_only + running
    # The running session tests the same window as the completed one: the same trades, once.
    assert everything["summary"]["trades"] == completed_only
    assert trade_analysis(db, session_id=sid)["summary"]["trades"] == running
    conn.close()
