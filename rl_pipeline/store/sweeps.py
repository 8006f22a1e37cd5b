"""Parameter sweeps: one row per sweep, one per point of its grid with its rank."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from rl_pipeline.store.connection import transaction

POINT_COLUMNS = (
    "point",
    "rank",
    "rule",
    "learning_rate",
    "reward_multiplier",
    "punishment_multiplier",
    "min_weight",
    "max_weight",
    "threshold",
    "total_pnl",
    "sharpe",
    "max_drawdown",
    "total_trades",
    "static_pnl",
    "equal_pnl",
    "detail",
)


def insert_sweep(
    conn: sqlite3.Connection,
    sweep_id: str,
    session_id: str,
    grid: dict[str, Any],
    summary: dict[str, Any],
    points: list[dict[str, Any]],
) -> None:
    """The sweep and every point (``POINT_COLUMNS``, ``detail`` a dict) in one transaction."""
    with transaction(conn):
        conn.execute(
            "INSERT INTO sweeps (sweep_id, session_id, points, grid, summary) "
            "VALUES (?, ?, ?, ?, ?)",
            (sweep_id, session_id, len(points), json.dumps(grid), json.dumps(summary)),
        )
        conn.executemany(
            f"INSERT INTO sweep_points (sweep_id, {', '.join(POINT_COLUMNS)}) "
            f"VALUES (?, {', '.join('?' for _ in POINT_COLUMNS)})",
            [
                (
                    sweep_id,
                    *(p[c] for c in POINT_COLUMNS[:-1]),
                    json.dumps(p["detail"]),
                )
                for p in points
            ],
        )


def get_sweep(conn: sqlite3.Connection, sweep_id: str) -> sqlite3.Row | None:
    return conn.execute(
        "SELECT sweep_id, session_id, created_at, points, grid, summary FROM sweeps "
        "WHERE sweep_id = ?",
        (sweep_id,),
    ).fetchone()


def latest_sweep_id(conn: sqlite3.Connection) -> str | None:
    row = conn.execute(
        "SELECT sweep_id FROM sweeps ORDER BY created_at DESC, rowid DESC LIMIT 1"
    ).fetchone()
    return row[0] if row else None


def ranked_points(conn: sqlite3.Connection, sweep_id: str) -> list[dict[str, Any]]:
    """Every point of the sweep, best first (``detail`` decoded)."""
    rows = conn.execute(
        f"SELECT {', '.join(POINT_COLUMNS)} FROM sweep_points WHERE sweep_id = ? ORDER BY rank",
        (sweep_id,),
    ).fetchall()
    out = []
    for row in rows:
        point = dict(zip(POINT_COLUMNS, row, strict=True))
        point["detail"] = json.loads(point["detail"])
        out.append(point)
    return out


def list_sweeps(conn: sqlite3.Connection, limit: int = 50) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT sweep_id, session_id, created_at, points FROM sweeps "
        "ORDER BY created_at DESC, rowid DESC LIMIT ?",
        (limit,),
    ).fetchall()
