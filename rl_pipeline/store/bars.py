"""Market bars in the store."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd

from rl_pipeline.store.connection import transaction

BAR_COLUMNS = ("symbol", "ts", "open", "high", "low", "close", "volume")


def write_bars(conn: sqlite3.Connection, bars: pd.DataFrame, source: str) -> int:
    """Insert or replace validated bars in one transaction; returns the row count."""
    rows = list(
        zip(
            bars["symbol"].astype(str),
            bars["ts"].astype(np.int64).tolist(),
            *(bars[c].astype(float).tolist() for c in BAR_COLUMNS[2:]),
            [source] * len(bars),
            strict=True,
        )
    )
    with transaction(conn):
        conn.executemany(
            "INSERT OR REPLACE INTO market_bars "
            "(symbol, ts, open, high, low, close, volume, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    return len(rows)


def count_bars(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM market_bars").fetchone()[0])


def list_symbols(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT DISTINCT symbol FROM market_bars ORDER BY symbol")]


def last_timestamp(conn: sqlite3.Connection, symbols: list[str]) -> int | None:
    marks = ",".join("?" * len(symbols))
    row = conn.execute(
        f"SELECT MAX(ts) FROM market_bars WHERE symbol IN ({marks})", symbols
    ).fetchone()
    return None if row[0] is None else int(row[0])


def first_timestamp(conn: sqlite3.Connection, symbols: list[str]) -> int | None:
    marks = ",".join("?" * len(symbols))
    row = conn.execute(
        f"SELECT MIN(ts) FROM market_bars WHERE symbol IN ({marks})", symbols
    ).fetchone()
    return None if row[0] is None else int(row[0])


def read_bars(conn: sqlite3.Connection, symbols: list[str], since_ts: int) -> pd.DataFrame:
    """Bars of ``symbols`` with ``ts >= since_ts``, sorted by symbol then time."""
    marks = ",".join("?" * len(symbols))
    cursor = conn.execute(
        f"SELECT symbol, ts, open, high, low, close, volume FROM market_bars "
        f"WHERE symbol IN ({marks}) AND ts >= ? ORDER BY symbol, ts",
        [*symbols, since_ts],
    )
    frame = pd.DataFrame(cursor.fetchall(), columns=list(BAR_COLUMNS))
    return frame.astype(
        {
            "symbol": object,
            "ts": np.int64,
            "open": float,
            "high": float,
            "low": float,
            "close": float,
            "volume": float,
        }
    )
