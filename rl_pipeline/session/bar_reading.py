"""A session's bars, read by the pool's idle workers when they are up (each reads a share of
the symbols through its own read-only connection), else by this process.

The workers' reads are separate SQLite transactions. They are one consistent read when no other
connection committed while they ran, which SQLite's ``data_version`` tells: if one did (bars
imported meanwhile), the bars are read again here, in one transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import numpy as np
import pandas as pd

from rl_pipeline.parallel.session_executor import ready_executor
from rl_pipeline.store.bars import data_version, read_bars, read_bars_from_file
from rl_pipeline.store.connection import database_file

# Below this many bars a worker round trip costs more than the read.
PARALLEL_READ_MIN_BARS = 50_000


def read_window_bars(
    conn: sqlite3.Connection,
    symbols: list[str],
    since_ts: int,
    until_ts: int,
    expected_bars: int,
) -> pd.DataFrame:
    """:func:`read_bars` of the window, side by side on ready pool workers for large reads."""
    executor = ready_executor()
    # Inside a transaction of its own, the caller must see its own uncommitted rows.
    if (
        executor is None
        or conn.in_transaction
        or expected_bars < PARALLEL_READ_MIN_BARS
        or len(symbols) < 2
    ):
        return read_bars(conn, symbols, since_ts, until_ts)
    path = database_file(conn)
    if not path:  # an in-memory store: no file the workers could open
        return read_bars(conn, symbols, since_ts, until_ts)
    # Contiguous runs of the sorted symbols: joined in order they are sorted like one read.
    shares = np.array_split(np.array(sorted(symbols), dtype=object), executor.workers)
    requests = [(path, list(share), since_ts, until_ts) for share in shares if len(share)]

    def in_parallel() -> pd.DataFrame:
        frames = executor.map(read_bars_from_file, requests)
        return pd.concat(frames, ignore_index=True)

    return consistent_read(conn, in_parallel, lambda: read_bars(conn, symbols, since_ts, until_ts))


def consistent_read(
    conn: sqlite3.Connection,
    read: Callable[[], pd.DataFrame],
    read_in_one_transaction: Callable[[], pd.DataFrame],
) -> pd.DataFrame:
    """``read()`` (several transactions, on other connections) if no other connection committed
    while it ran, else ``read_in_one_transaction()``."""
    before = data_version(conn)
    frame = read()
    if data_version(conn) == before:
        return frame
    return read_in_one_transaction()
