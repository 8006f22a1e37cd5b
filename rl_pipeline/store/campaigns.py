"""Walk-forward campaigns: one row per campaign, one per session with its learning curve."""

from __future__ import annotations

import json
import os
import sqlite3
from typing import Any

from rl_pipeline.store.connection import transaction
from rl_pipeline.store.sessions import pid_alive


def insert_campaign(
    conn: sqlite3.Connection,
    campaign_id: str,
    sessions: int,
    test_period_days: int,
    rule: str,
    publish: bool,
    configuration_json: str,
    start_weights: dict[str, float],
) -> None:
    with transaction(conn):
        conn.execute(
            "INSERT INTO campaigns (campaign_id, sessions, test_period_days, rule, publish, "
            "configuration, start_weights, pid) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                campaign_id,
                sessions,
                test_period_days,
                rule,
                publish,
                configuration_json,
                json.dumps(start_weights),
                os.getpid(),
            ),
        )


def add_campaign_session(
    conn: sqlite3.Connection,
    campaign_id: str,
    seq: int,
    session_id: str,
    test_start: str,
    test_end: str,
) -> None:
    with transaction(conn):
        conn.execute(
            "INSERT INTO campaign_sessions (campaign_id, seq, session_id, test_start, test_end) "
            "VALUES (?, ?, ?, ?, ?)",
            (campaign_id, seq, session_id, test_start, test_end),
        )


def finish_campaign(
    conn: sqlite3.Connection,
    campaign_id: str,
    result: dict[str, Any] | None,
    error: str | None,
    curve: list[tuple[int, str, float | None, float]] = (),
) -> None:
    """In one transaction: the learning curve rows (seq, strategy, session pnl, cumulative)
    and status 'completed' with its result, or 'failed' with the error."""
    with transaction(conn):
        conn.executemany(
            "INSERT INTO campaign_curve (campaign_id, seq, strategy, session_pnl, cumulative_pnl) "
            "VALUES (?, ?, ?, ?, ?)",
            [(campaign_id, *row) for row in curve],
        )
        conn.execute(
            "UPDATE campaigns SET status = ?, ended_at = CURRENT_TIMESTAMP, result = ?, error = ? "
            "WHERE campaign_id = ?",
            (
                "failed" if error else "completed",
                json.dumps(result) if result is not None else None,
                error,
                campaign_id,
            ),
        )


def fail_orphaned_campaigns(conn: sqlite3.Connection) -> None:
    """A running campaign whose process has ended can never finish: mark it failed."""
    rows = conn.execute("SELECT campaign_id, pid FROM campaigns WHERE status = 'running'")
    for campaign_id, pid in rows.fetchall():
        if pid is None or not pid_alive(int(pid)):
            finish_campaign(conn, campaign_id, None, f"its process (pid {pid}) ended")


def get_campaign(conn: sqlite3.Connection, campaign_id: str) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM campaigns WHERE campaign_id = ?", (campaign_id,)).fetchone()


def latest_campaign_id(conn: sqlite3.Connection) -> str | None:
    row = conn.execute(
        "SELECT campaign_id FROM campaigns ORDER BY created_at DESC, rowid DESC LIMIT 1"
    ).fetchone()
    return row[0] if row else None


def list_campaigns(conn: sqlite3.Connection, limit: int = 50) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT campaign_id, created_at, ended_at, status, sessions, test_period_days, rule, "
        "publish, error FROM campaigns ORDER BY created_at DESC, rowid DESC LIMIT ?",
        (limit,),
    ).fetchall()


def campaign_sessions(conn: sqlite3.Connection, campaign_id: str) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT seq, session_id, test_start, test_end FROM campaign_sessions "
        "WHERE campaign_id = ? ORDER BY seq",
        (campaign_id,),
    ).fetchall()


def campaign_curve(conn: sqlite3.Connection, campaign_id: str) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT seq, strategy, session_pnl, cumulative_pnl FROM campaign_curve "
        "WHERE campaign_id = ? ORDER BY seq, strategy",
        (campaign_id,),
    ).fetchall()
