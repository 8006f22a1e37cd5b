"""A session's trades, weight history and metrics. Each write replaces that step's rows for the
session in one transaction, so re-running a step never duplicates them."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pandas as pd

from rl_pipeline.store.connection import transaction

TRADE_COLUMNS = (
    "trade_id",
    "session_id",
    "symbol",
    "entry_time",
    "exit_time",
    "entry_price",
    "exit_price",
    "direction",
    "pnl",
    "pnl_percent",
    "confidence",
    "ai_model_id",
    "metadata",
)
HISTORY_COLUMNS = (
    "weight_id",
    "session_id",
    "model_id",
    "old_weight",
    "new_weight",
    "updated_at",
    "reason",
    "trade_context",
)
METRIC_COLUMNS = (
    "metric_id",
    "model_id",
    "session_id",
    "win_rate",
    "total_pnl",
    "avg_trade_pnl",
    "sharpe_ratio",
    "max_drawdown",
    "total_trades",
)


def _insert(conn: sqlite3.Connection, table: str, columns: tuple[str, ...], rows: list) -> None:
    marks = ", ".join("?" * len(columns))
    conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def replace_trades(conn: sqlite3.Connection, session_id: str, trades: pd.DataFrame) -> int:
    rows = list(trades[list(TRADE_COLUMNS)].itertuples(index=False, name=None))
    with transaction(conn):
        conn.execute("DELETE FROM trade_results WHERE session_id = ?", (session_id,))
        _insert(conn, "trade_results", TRADE_COLUMNS, rows)
    return len(rows)


def replace_weight_history(conn: sqlite3.Connection, session_id: str, rows: list[tuple]) -> int:
    with transaction(conn):
        conn.execute("DELETE FROM model_weight_history WHERE session_id = ?", (session_id,))
        _insert(conn, "model_weight_history", HISTORY_COLUMNS, rows)
    return len(rows)


def move_history_to_end_in(conn: sqlite3.Connection, session_id: str) -> int:
    """Re-insert the session's ``model_weight_history`` rows after every other row (same
    values, new rowids), so that at publication they follow the change they start from in
    insert order; the caller holds the transaction."""
    columns = ", ".join(HISTORY_COLUMNS)
    # Through a temporary table inside SQLite (rolled back with the caller's transaction): the
    # rows keep their weight_id (the primary key), so they must leave the table to come back.
    conn.execute(
        f"CREATE TEMP TABLE moved_history AS SELECT {columns} FROM model_weight_history "
        "WHERE session_id = ? ORDER BY rowid",
        (session_id,),
    )
    conn.execute("DELETE FROM model_weight_history WHERE session_id = ?", (session_id,))
    moved = conn.execute(
        f"INSERT INTO model_weight_history ({columns}) "
        f"SELECT {columns} FROM temp.moved_history ORDER BY rowid"
    ).rowcount
    conn.execute("DROP TABLE temp.moved_history")
    return moved


def replace_metrics(conn: sqlite3.Connection, session_id: str, rows: list[tuple]) -> int:
    with transaction(conn):
        conn.execute("DELETE FROM performance_metrics WHERE session_id = ?", (session_id,))
        _insert(conn, "performance_metrics", METRIC_COLUMNS, rows)
    return len(rows)


CURVE_POINTS = 2000  # per stored curve: enough for any chart, small for minute bars


def replace_curves(
    conn: sqlite3.Connection, session_id: str, curves: dict[str, tuple[np.ndarray, np.ndarray]]
) -> int:
    """Store each named (bar times, equity) curve, thinned to at most CURVE_POINTS evenly
    spaced points that always keep the first and the last."""
    rows = []
    for name, (ts, equity) in curves.items():
        if len(ts) > CURVE_POINTS:
            keep = np.unique(np.linspace(0, len(ts) - 1, CURVE_POINTS).round().astype(int))
            ts, equity = ts[keep], equity[keep]
        rows += [(session_id, name, int(t), float(e)) for t, e in zip(ts, equity, strict=True)]
    with transaction(conn):
        conn.execute("DELETE FROM session_curves WHERE session_id = ?", (session_id,))
        _insert(conn, "session_curves", ("session_id", "curve", "ts", "equity"), rows)
    return len(rows)


def read_curves(conn: sqlite3.Connection, session_id: str) -> pd.DataFrame:
    """The session's stored curves: columns curve, ts (epoch seconds), equity."""
    cursor = conn.execute(
        "SELECT curve, ts, equity FROM session_curves WHERE session_id = ? ORDER BY curve, ts",
        (session_id,),
    )
    return pd.DataFrame(cursor.fetchall(), columns=["curve", "ts", "equity"])


def read_trades(conn: sqlite3.Connection, session_id: str) -> pd.DataFrame:
    cursor = conn.execute(
        f"SELECT {', '.join(TRADE_COLUMNS)} FROM trade_results WHERE session_id = ? "
        "ORDER BY exit_time, entry_time, trade_id",
        (session_id,),
    )
    return pd.DataFrame(cursor.fetchall(), columns=list(TRADE_COLUMNS))


def read_weight_history(conn: sqlite3.Connection, session_id: str) -> pd.DataFrame:
    cursor = conn.execute(
        f"SELECT {', '.join(HISTORY_COLUMNS)} FROM model_weight_history WHERE session_id = ? "
        "ORDER BY weight_id",
        (session_id,),
    )
    frame = pd.DataFrame(cursor.fetchall(), columns=list(HISTORY_COLUMNS))
    frame["seq"] = [json.loads(c)["seq"] for c in frame["trade_context"]]
    return frame


def read_metrics(conn: sqlite3.Connection, session_id: str) -> pd.DataFrame:
    cursor = conn.execute(
        f"SELECT {', '.join(METRIC_COLUMNS)} FROM performance_metrics WHERE session_id = ? "
        "ORDER BY model_id",
        (session_id,),
    )
    return pd.DataFrame(cursor.fetchall(), columns=list(METRIC_COLUMNS))


def trades_by_model(conn: sqlite3.Connection, session_id: str) -> dict[str, int]:
    return dict(
        conn.execute(
            "SELECT ai_model_id, COUNT(*) FROM trade_results WHERE session_id = ? "
            "GROUP BY ai_model_id",
            (session_id,),
        ).fetchall()
    )


def history_count(conn: sqlite3.Connection, session_id: str) -> int:
    return int(
        conn.execute(
            "SELECT COUNT(*) FROM model_weight_history WHERE session_id = ?", (session_id,)
        ).fetchone()[0]
    )
