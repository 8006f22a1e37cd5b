"""Reinforcement sessions and the process that owns each running one."""

from __future__ import annotations

import os
import sqlite3

from rl_pipeline.store.connection import transaction
from rl_pipeline.store.weight_changes import IS_REINFORCEMENT_SESSION_SQL

# The rows a session owns besides its own; a failed session keeps none of them.
SESSION_CHILD_TABLES = (
    "performance_metrics",
    "model_weight_history",
    "trade_results",
    "session_reports",
)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def insert_session(
    conn: sqlite3.Connection,
    session_id: str,
    test_period_days: int,
    learning_rate: float,
    reward_multiplier: float,
    punishment_multiplier: float,
    configuration_json: str,
    dagster_run_id: str | None,
) -> None:
    with transaction(conn):
        conn.execute(
            "INSERT INTO reinforcement_sessions (session_id, test_period_days, learning_rate, "
            "reward_multiplier, punishment_multiplier, status, configuration) "
            "VALUES (?, ?, ?, ?, ?, 'running', ?)",
            (
                session_id,
                test_period_days,
                learning_rate,
                reward_multiplier,
                punishment_multiplier,
                configuration_json,
            ),
        )
        conn.execute(
            "INSERT INTO session_runs (session_id, dagster_run_id, pid, stage) VALUES (?, ?, ?, ?)",
            (session_id, dagster_run_id, os.getpid(), "open"),
        )


def get_session(conn: sqlite3.Connection, session_id: str) -> sqlite3.Row | None:
    return conn.execute(
        "SELECT s.*, r.stage, r.error, r.pid, r.dagster_run_id, r.weights_outcome "
        "FROM reinforcement_sessions s "
        "LEFT JOIN session_runs r USING (session_id) WHERE s.session_id = ?",
        (session_id,),
    ).fetchone()


def latest_session_id(conn: sqlite3.Connection) -> str | None:
    """The latest reinforcement session (the rows that record manual weight changes are not)."""
    row = conn.execute(
        f"SELECT session_id FROM reinforcement_sessions WHERE {IS_REINFORCEMENT_SESSION_SQL} "
        "ORDER BY start_time DESC, rowid DESC LIMIT 1"
    ).fetchone()
    return None if row is None else row[0]


def set_stage(conn: sqlite3.Connection, session_id: str, stage: str) -> None:
    with transaction(conn):
        conn.execute(
            "UPDATE session_runs SET stage = ?, pid = ?, updated_at = CURRENT_TIMESTAMP "
            "WHERE session_id = ?",
            (stage, os.getpid(), session_id),
        )


def require_running(conn: sqlite3.Connection, session_id: str) -> None:
    row = conn.execute(
        "SELECT status FROM reinforcement_sessions WHERE session_id = ?", (session_id,)
    ).fetchone()
    if row is None:
        raise LookupError(f"session {session_id!r} does not exist")
    if row["status"] != "running":
        raise RuntimeError(f"session {session_id!r} is {row['status']}, not running")


def mark_failed(conn: sqlite3.Connection, session_id: str, error: str) -> None:
    """End a running session as failed: drop every row it wrote, keep the session row and the
    error. A session that already ended is left alone."""
    with transaction(conn):
        row = conn.execute(
            "SELECT status FROM reinforcement_sessions WHERE session_id = ?", (session_id,)
        ).fetchone()
        if row is None or row["status"] != "running":
            return
        for table in SESSION_CHILD_TABLES:
            conn.execute(f"DELETE FROM {table} WHERE session_id = ?", (session_id,))
        conn.execute(
            "UPDATE reinforcement_sessions SET status = 'failed', end_time = CURRENT_TIMESTAMP "
            "WHERE session_id = ? AND status = 'running'",
            (session_id,),
        )
        conn.execute(
            "UPDATE session_runs SET error = ?, updated_at = CURRENT_TIMESTAMP "
            "WHERE session_id = ?",
            (error[:4000], session_id),
        )


def fail_orphaned_sessions(conn: sqlite3.Connection) -> list[str]:
    """Sessions left 'running' by a process that no longer exists become 'failed'."""
    rows = conn.execute(
        "SELECT s.session_id, r.pid FROM reinforcement_sessions s "
        "LEFT JOIN session_runs r USING (session_id) WHERE s.status = 'running'"
    ).fetchall()
    orphaned = [r["session_id"] for r in rows if r["pid"] is None or not pid_alive(r["pid"])]
    for session_id in orphaned:
        mark_failed(conn, session_id, "the process running this session ended before it finished")
    return orphaned
