"""Reinforcement sessions and the process that owns each running one."""

from __future__ import annotations

import os
import sqlite3

from rl_pipeline.mistral.procfs import is_same_process, start_ticks
from rl_pipeline.store.connection import transaction
from rl_pipeline.store.weight_changes import IS_REINFORCEMENT_SESSION_SQL

# The rows a session owns besides its own; a failed session keeps none of them.
SESSION_CHILD_TABLES = (
    "performance_metrics",
    "model_weight_history",
    "trade_results",
    "session_reports",
    "session_curves",
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
            "INSERT INTO session_runs (session_id, dagster_run_id, pid, pid_start_ticks, stage) "
            "VALUES (?, ?, ?, ?, ?)",
            (session_id, dagster_run_id, os.getpid(), start_ticks(os.getpid()), "open"),
        )


def get_session(conn: sqlite3.Connection, session_id: str) -> sqlite3.Row | None:
    return conn.execute(
        "SELECT s.*, r.stage, r.error, r.pid, r.dagster_run_id, r.weights_outcome, r.progress "
        "FROM reinforcement_sessions s "
        "LEFT JOIN session_runs r USING (session_id) WHERE s.session_id = ?",
        (session_id,),
    ).fetchone()


def list_sessions(
    conn: sqlite3.Connection, status: str | None = None, limit: int = 20
) -> list[sqlite3.Row]:
    """Reinforcement sessions, newest first, with their stage, error and trade count."""
    where = f"WHERE {IS_REINFORCEMENT_SESSION_SQL}" + (" AND s.status = ?" if status else "")
    return conn.execute(
        "SELECT s.session_id, s.status, s.start_time, s.end_time, s.test_period_days, "
        "s.learning_rate, json_extract(s.configuration, '$.weights.rule') AS rule, r.stage, "
        "r.error, (SELECT COUNT(*) FROM trade_results t WHERE t.session_id = s.session_id) "
        "AS trades FROM reinforcement_sessions s LEFT JOIN session_runs r USING (session_id) "
        f"{where} ORDER BY s.start_time DESC, s.rowid DESC LIMIT ?",
        (*((status,) if status else ()), limit),
    ).fetchall()


def latest_session_id(conn: sqlite3.Connection) -> str | None:
    """The latest reinforcement session (the rows that record manual weight changes are not)."""
    row = conn.execute(
        f"SELECT session_id FROM reinforcement_sessions WHERE {IS_REINFORCEMENT_SESSION_SQL} "
        "ORDER BY start_time DESC, rowid DESC LIMIT 1"
    ).fetchone()
    return None if row is None else row[0]


def latest_reported_session_id(conn: sqlite3.Connection) -> str | None:
    """The latest completed session with an ensemble report (one that ran its stages: not a
    manual weight change or a weight replay)."""
    row = conn.execute(
        "SELECT s.session_id FROM reinforcement_sessions s JOIN session_reports r "
        "USING (session_id) WHERE s.status = 'completed' "
        "AND json_extract(r.report, '$.ensemble_report') IS NOT NULL "
        "ORDER BY s.start_time DESC, s.rowid DESC LIMIT 1"
    ).fetchone()
    return None if row is None else row[0]


def set_configuration(conn: sqlite3.Connection, session_id: str, configuration_json: str) -> None:
    """The session's effective configuration (every default filled for its bars)."""
    with transaction(conn):
        conn.execute(
            "UPDATE reinforcement_sessions SET configuration = ? WHERE session_id = ?",
            (configuration_json, session_id),
        )


def set_stage(conn: sqlite3.Connection, session_id: str, stage: str) -> None:
    with transaction(conn):
        conn.execute(
            "UPDATE session_runs SET stage = ?, pid = ?, pid_start_ticks = ?, progress = NULL, "
            "updated_at = CURRENT_TIMESTAMP WHERE session_id = ?",
            (stage, os.getpid(), start_ticks(os.getpid()), session_id),
        )


def require_running(conn: sqlite3.Connection, session_id: str) -> None:
    row = conn.execute(
        "SELECT status FROM reinforcement_sessions WHERE session_id = ?", (session_id,)
    ).fetchone()
    if row is None:
        raise LookupError(f"session {session_id!r} does not exist")
    if row["status"] != "running":
        raise RuntimeError(f"session {session_id!r} is {row['status']}, not running")


def mark_failed(conn: sqlite3.Connection, session_id: str, error: str) -> bool:
    """End a running session as failed: drop every row it wrote, keep the session row and the
    error. A session that already ended is left alone (False). Use
    ``rl_pipeline.session.lifecycle.fail_session``, which also removes its files."""
    with transaction(conn):
        row = conn.execute(
            "SELECT status FROM reinforcement_sessions WHERE session_id = ?", (session_id,)
        ).fetchone()
        if row is None or row["status"] != "running":
            return False
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
    return True


def owner_alive(pid: int | None, ticks: int | None) -> bool:
    """The process that owns a running session still exists: the same pid and, when recorded,
    the same start time (a pid reused by another process has a later one)."""
    if pid is None:
        return False
    return is_same_process(pid, ticks) if ticks is not None else pid_alive(pid)


def orphaned_sessions(conn: sqlite3.Connection) -> list[str]:
    """Sessions 'running' whose owning process no longer exists."""
    rows = conn.execute(
        "SELECT s.session_id, r.pid, r.pid_start_ticks FROM reinforcement_sessions s "
        "LEFT JOIN session_runs r USING (session_id) WHERE s.status = 'running'"
    ).fetchall()
    return [r["session_id"] for r in rows if not owner_alive(r["pid"], r["pid_start_ticks"])]


def session_exists(conn: sqlite3.Connection, session_id: str) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM reinforcement_sessions WHERE session_id = ?", (session_id,)
        ).fetchone()
        is not None
    )


def latest_start_time(conn: sqlite3.Connection) -> str | None:
    return conn.execute("SELECT MAX(start_time) FROM reinforcement_sessions").fetchone()[0]


def save_report_in(conn: sqlite3.Connection, session_id: str, report_json: str) -> None:
    """The session's summary and report (the caller holds the transaction)."""
    conn.execute(
        "INSERT OR REPLACE INTO session_reports (session_id, report) VALUES (?, ?)",
        (session_id, report_json),
    )


def read_report(conn: sqlite3.Connection, session_id: str) -> str | None:
    row = conn.execute(
        "SELECT report FROM session_reports WHERE session_id = ?", (session_id,)
    ).fetchone()
    return None if row is None else row[0]


def mark_completed_in(
    conn: sqlite3.Connection, session_id: str, stage: str, weights_outcome: str
) -> None:
    """Status 'completed', its end time, last stage and weights outcome (caller's transaction)."""
    conn.execute(
        "UPDATE reinforcement_sessions SET status = 'completed', end_time = CURRENT_TIMESTAMP "
        "WHERE session_id = ?",
        (session_id,),
    )
    conn.execute(
        "UPDATE session_runs SET stage = ?, weights_outcome = ?, updated_at = CURRENT_TIMESTAMP "
        "WHERE session_id = ?",
        (stage, weights_outcome, session_id),
    )


def set_weights_outcome(conn: sqlite3.Connection, session_id: str, outcome: str) -> None:
    with transaction(conn):
        conn.execute(
            "UPDATE session_runs SET weights_outcome = ? WHERE session_id = ?",
            (outcome, session_id),
        )


def completed_reports(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """(session id, report JSON) of completed sessions with a report, latest ended first."""
    return [
        (r[0], r[1])
        for r in conn.execute(
            "SELECT s.session_id, r.report FROM reinforcement_sessions s "
            "JOIN session_reports r USING (session_id) WHERE s.status = 'completed' "
            "ORDER BY s.end_time DESC, s.rowid DESC"
        )
    ]


def status_configuration_report(conn: sqlite3.Connection, session_id: str) -> sqlite3.Row | None:
    """A session's status, configuration JSON and report JSON (None: no such session)."""
    return conn.execute(
        "SELECT s.status, s.configuration, r.report FROM reinforcement_sessions s "
        "LEFT JOIN session_reports r USING (session_id) WHERE s.session_id = ?",
        (session_id,),
    ).fetchone()


def recent_durations_s(conn: sqlite3.Connection, sessions: int) -> list[float]:
    """Wall seconds of the latest ``sessions`` completed sessions."""
    rows = conn.execute(
        "SELECT (julianday(end_time) - julianday(start_time)) * 86400.0 FROM "
        "reinforcement_sessions WHERE status = 'completed' AND end_time IS NOT NULL "
        "ORDER BY start_time DESC, rowid DESC LIMIT ?",
        (sessions,),
    ).fetchall()
    return [float(r[0]) for r in rows if r[0] is not None]


def running_sessions_of_run(conn: sqlite3.Connection, dagster_run_id: str) -> list[str]:
    """Sessions still running that the Dagster run opened."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT r.session_id FROM session_runs r JOIN reinforcement_sessions s "
            "USING (session_id) WHERE r.dagster_run_id = ? AND s.status = 'running'",
            (dagster_run_id,),
        )
    ]


def set_progress(conn: sqlite3.Connection, session_id: str, progress: str | None) -> None:
    """How far the running stage has got, for people watching (``session start --wait``)."""
    with transaction(conn):
        conn.execute(
            "UPDATE session_runs SET progress = ?, updated_at = CURRENT_TIMESTAMP "
            "WHERE session_id = ?",
            (progress, session_id),
        )
