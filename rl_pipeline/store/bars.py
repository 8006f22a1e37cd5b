"""Market bars in the store, and the detected interval and calendar of each symbol."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import numpy as np
import pandas as pd

from rl_pipeline.market.intervals import BarProfile, detect_profile
from rl_pipeline.store.connection import BUSY_TIMEOUT_MS, transaction

BAR_COLUMNS = ("symbol", "ts", "open", "high", "low", "close", "volume")
VALUE_COLUMNS = BAR_COLUMNS[2:]


class BarConflictError(ValueError):
    """An import would change stored bars; ``--replace`` allows it."""


@dataclass(frozen=True)
class SeriesInfo:
    """One stored symbol, for ``data list``."""

    symbol: str
    interval_seconds: int | None
    calendar: str | None
    bars_per_day: float | None
    first_ts: int
    last_ts: int
    rows: int
    source: str | None


@dataclass(frozen=True)
class WriteOutcome:
    inserted_rows: int  # bars written
    unchanged_rows: int  # bars identical to stored ones, left as they were (a re-import)
    replaced_rows: int  # stored bars removed first by ``replace``


ROWS_PER_BATCH = 50_000


def _rows(bars: pd.DataFrame, source: str | pd.Series) -> Iterator[tuple]:
    """The bars as SQL parameter rows, made a batch at a time (a million Python tuples at
    once would take far more memory than the bars)."""
    symbol = bars["symbol"].to_numpy(object)
    ts = bars["ts"].to_numpy(np.int64)
    values = [bars[c].to_numpy(np.float64) for c in VALUE_COLUMNS]
    sources = None if isinstance(source, str) else np.asarray(source, dtype=object)
    for start in range(0, len(bars), ROWS_PER_BATCH):
        stop = start + ROWS_PER_BATCH
        batch_sources = (
            itertools.repeat(source) if sources is None else sources[start:stop].tolist()
        )
        yield from zip(
            map(str, symbol[start:stop]),
            ts[start:stop].tolist(),
            *(v[start:stop].tolist() for v in values),
            batch_sources,
            strict=False,  # one source repeated for every bar of a batch
        )


def write_bars(conn: sqlite3.Connection, bars: pd.DataFrame, source: str) -> int:
    """Insert or replace validated bars in one transaction; returns the row count. (The
    embedded data set and tests; a user's import goes through :func:`import_bars`.)"""
    with transaction(conn):
        conn.executemany(
            "INSERT OR REPLACE INTO market_bars "
            "(symbol, ts, open, high, low, close, volume, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            _rows(bars, source),
        )
        refresh_series_in(conn, sorted(set(bars["symbol"].astype(str))), None)
    return len(bars)


def import_bars(
    conn: sqlite3.Connection,
    bars: pd.DataFrame,
    source: str | pd.Series,
    replace: bool = False,
) -> WriteOutcome:
    """Store validated bars in one transaction. Bars identical to stored ones are a no-op. A bar
    that differs from the stored one at the same symbol and time raises
    :class:`BarConflictError` naming it (the store unchanged) unless ``replace``: then every
    stored bar of the symbol within the imported range is replaced."""
    with transaction(conn):
        conn.execute("DROP TABLE IF EXISTS temp.incoming_bars")
        conn.execute(
            "CREATE TEMP TABLE incoming_bars (symbol TEXT, ts INTEGER, open REAL, high REAL, "
            "low REAL, close REAL, volume REAL, source TEXT, PRIMARY KEY (symbol, ts))"
        )
        conn.executemany(
            "INSERT INTO temp.incoming_bars VALUES (?, ?, ?, ?, ?, ?, ?, ?)", _rows(bars, source)
        )
        replaced = 0
        if replace:
            ranges = conn.execute(
                "SELECT symbol, MIN(ts), MAX(ts) FROM temp.incoming_bars GROUP BY symbol"
            ).fetchall()
            for symbol, first, last in ranges:
                replaced += conn.execute(
                    "DELETE FROM market_bars WHERE symbol = ? AND ts BETWEEN ? AND ?",
                    (symbol, first, last),
                ).rowcount
        else:
            conflict = conn.execute(
                "SELECT n.symbol, n.ts, m.open, m.high, m.low, m.close, m.volume, "
                "n.open, n.high, n.low, n.close, n.volume, m.source "
                "FROM temp.incoming_bars n JOIN market_bars m USING (symbol, ts) "
                "WHERE m.open IS NOT n.open OR m.high IS NOT n.high OR m.low IS NOT n.low "
                "OR m.close IS NOT n.close OR m.volume IS NOT n.volume "
                "ORDER BY n.ts, n.symbol LIMIT 1"
            ).fetchone()
            if conflict is not None:
                conn.execute("DROP TABLE temp.incoming_bars")
                raise BarConflictError(_conflict_message(conflict))
        unchanged = 0 if replace else _count_overlap(conn)
        new = conn.execute(
            "INSERT OR IGNORE INTO market_bars "
            "(symbol, ts, open, high, low, close, volume, source) "
            "SELECT symbol, ts, open, high, low, close, volume, source FROM temp.incoming_bars"
        ).rowcount
        symbols = [r[0] for r in conn.execute("SELECT DISTINCT symbol FROM temp.incoming_bars")]
        conn.execute("DROP TABLE temp.incoming_bars")
        if new or replaced:  # a pure re-import changes nothing at all
            refresh_series_in(conn, symbols, None)
    return WriteOutcome(inserted_rows=new, unchanged_rows=unchanged, replaced_rows=replaced)


def _count_overlap(conn: sqlite3.Connection) -> int:
    return int(
        conn.execute(
            "SELECT COUNT(*) FROM temp.incoming_bars n JOIN market_bars m USING (symbol, ts)"
        ).fetchone()[0]
    )


def _conflict_message(row: sqlite3.Row | tuple) -> str:
    symbol, ts = row[0], int(row[1])
    stored = dict(zip(VALUE_COLUMNS, row[2:7], strict=True))
    incoming = dict(zip(VALUE_COLUMNS, row[7:12], strict=True))
    differ = [c for c in VALUE_COLUMNS if stored[c] != incoming[c]]
    shown = ", ".join(f"{c}: stored {stored[c]!r}, file {incoming[c]!r}" for c in differ)
    when = pd.Timestamp(ts, unit="s", tz="UTC").isoformat()
    return (
        f"{symbol} {when} (ts {ts}) is already stored (from {row[12]}) with other values: "
        f"{shown}; nothing stored. Use --replace to replace the stored bars in the file's range"
    )


def delete_bars(
    conn: sqlite3.Connection, symbol: str, from_ts: int | None = None, to_ts: int | None = None
) -> int:
    """Delete the bars of ``symbol`` with from_ts <= ts <= to_ts (open ends: no bound) in one
    transaction; returns how many were deleted."""
    low = -(2**62) if from_ts is None else from_ts
    high = 2**62 if to_ts is None else to_ts
    with transaction(conn):
        deleted = conn.execute(
            "DELETE FROM market_bars WHERE symbol = ? AND ts BETWEEN ? AND ?",
            (symbol, low, high),
        ).rowcount
        refresh_series_in(conn, [symbol], None)
    return deleted


def refresh_series_in(conn: sqlite3.Connection, symbols: list[str], source: str | None) -> None:
    """Re-detect the interval and calendar of ``symbols`` from their stored bars (inside the
    caller's transaction); a symbol without bars loses its row."""
    for symbol in symbols:
        ts = np.fromiter(
            (r[0] for r in conn.execute("SELECT ts FROM market_bars WHERE symbol = ?", (symbol,))),
            dtype=np.int64,
        )
        profile = detect_profile(ts)
        if len(ts) == 0:
            conn.execute("DELETE FROM bar_series WHERE symbol = ?", (symbol,))
            continue
        latest = conn.execute(
            "SELECT source FROM market_bars WHERE symbol = ? ORDER BY ts DESC LIMIT 1", (symbol,)
        ).fetchone()
        kept_source = source or latest[0]
        interval = profile.interval_seconds if profile else 0
        calendar = profile.calendar if profile else "24/7"
        per_day = profile.bars_per_day if profile else 1.0
        conn.execute(
            "INSERT OR REPLACE INTO bar_series "
            "(symbol, interval_seconds, calendar, bars_per_day, source) VALUES (?, ?, ?, ?, ?)",
            (symbol, interval, calendar, per_day, kept_source),
        )


def series_profiles(conn: sqlite3.Connection, symbols: list[str]) -> dict[str, BarProfile]:
    """The stored profile of each symbol; detected (and stored) for bars written before the
    profiles were kept."""
    profiles: dict[str, BarProfile] = {}
    for symbol in symbols:
        row = conn.execute(
            "SELECT interval_seconds, calendar, bars_per_day FROM bar_series WHERE symbol = ?",
            (symbol,),
        ).fetchone()
        if row is None:
            with transaction(conn):
                refresh_series_in(conn, [symbol], None)
            row = conn.execute(
                "SELECT interval_seconds, calendar, bars_per_day FROM bar_series WHERE symbol = ?",
                (symbol,),
            ).fetchone()
        if row is not None and row[0] > 0:
            profiles[symbol] = BarProfile(int(row[0]), str(row[1]), float(row[2]))
    return profiles


def list_series(conn: sqlite3.Connection) -> list[SeriesInfo]:
    """Every stored symbol: interval, calendar, first and last bar, rows, source."""
    rows = conn.execute(
        "SELECT b.symbol, s.interval_seconds, s.calendar, s.bars_per_day, b.first_ts, "
        "b.last_ts, b.n, b.sources FROM (SELECT symbol, MIN(ts) AS first_ts, MAX(ts) AS "
        "last_ts, COUNT(*) AS n, GROUP_CONCAT(DISTINCT source) AS sources FROM market_bars "
        "GROUP BY symbol) b LEFT JOIN bar_series s USING (symbol) ORDER BY b.symbol"
    ).fetchall()
    return [SeriesInfo(r[0], r[1], r[2], r[3], int(r[4]), int(r[5]), int(r[6]), r[7]) for r in rows]


def bar_ranges(conn: sqlite3.Connection) -> dict[str, tuple[int, int, int]]:
    """symbol -> (first ts, last ts, rows)."""
    return {
        r[0]: (int(r[1]), int(r[2]), int(r[3]))
        for r in conn.execute(
            "SELECT symbol, MIN(ts), MAX(ts), COUNT(*) FROM market_bars GROUP BY symbol"
        )
    }


def count_bars(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM market_bars").fetchone()[0])


def list_symbols(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT DISTINCT symbol FROM market_bars ORDER BY symbol")]


def read_bars(
    conn: sqlite3.Connection, symbols: list[str], since_ts: int, until_ts: int | None = None
) -> pd.DataFrame:
    """Bars of ``symbols`` with ``since_ts <= ts`` (and ``ts <= until_ts`` when given), sorted
    by symbol then time."""
    marks = ",".join("?" * len(symbols))
    where = f"symbol IN ({marks}) AND ts >= ? AND ts <= ?"
    params = [*symbols, since_ts, 2**62 if until_ts is None else until_ts]
    cursor = conn.cursor()
    cursor.row_factory = None  # plain tuples: a Row object per bar costs more than the read
    # The rows come without their symbol (a string object per bar was a third of the read),
    # as one float matrix; the symbol column is rebuilt from the per-symbol counts, read in
    # the same transaction so that both see the same bars.
    own_transaction = not conn.in_transaction
    if own_transaction:
        cursor.execute("BEGIN")
    try:
        counts = cursor.execute(
            f"SELECT symbol, COUNT(*) FROM market_bars WHERE {where} GROUP BY symbol "
            "ORDER BY symbol",
            params,
        ).fetchall()
        rows = cursor.execute(
            f"SELECT ts, open, high, low, close, volume FROM market_bars WHERE {where} "
            "ORDER BY symbol, ts",
            params,
        ).fetchall()
    finally:
        if own_transaction:
            cursor.execute("COMMIT")
    values = np.array(rows, dtype=np.float64).reshape(-1, 6)  # ts is exact below 2**53
    names = np.array([symbol for symbol, _ in counts], dtype=object)
    columns = {
        # object, as before: pandas would make an array of str its string dtype
        "symbol": pd.Series(np.repeat(names, [n for _, n in counts]), dtype=object),
        "ts": values[:, 0].astype(np.int64),
    }
    for i, name in enumerate(VALUE_COLUMNS, start=1):
        columns[name] = values[:, i].copy()  # each column its own contiguous array
    return pd.DataFrame(columns, columns=list(BAR_COLUMNS))


def data_version(conn: sqlite3.Connection) -> int:
    """SQLite's ``data_version`` of ``conn``: it changes when another connection commits."""
    return int(conn.execute("PRAGMA data_version").fetchone()[0])


def read_bars_from_file(request: tuple[str, list[str], int, int | None]) -> pd.DataFrame:
    """:func:`read_bars` of ``(store file, symbols, since_ts, until_ts)`` through a read-only
    connection of its own: a task a pool worker runs."""
    path, symbols, since_ts, until_ts = request
    conn = sqlite3.connect(
        f"file:{quote(path)}?mode=ro",
        uri=True,
        timeout=BUSY_TIMEOUT_MS / 1000,
        isolation_level=None,
    )
    try:
        return read_bars(conn, symbols, since_ts, until_ts)
    finally:
        conn.close()
