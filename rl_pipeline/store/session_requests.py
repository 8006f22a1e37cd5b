"""The session request queue's rows (``session_requests``): the SQL of queueing, claiming and
launching; the rules (limits, liveness of launchers) live in ``rl_pipeline.session.requests``."""

from __future__ import annotations

import sqlite3

# Requests claimed and not ended: launched, no session row yet or a running one.
_ACTIVE_SQL = """
SELECT r.session_id, r.launcher_pid, r.launcher_start_ticks,
       (julianday('now') - julianday(r.launched_at)) * 86400.0 AS age_s,
       s.status AS session_status
FROM session_requests r LEFT JOIN reinforcement_sessions s USING (session_id)
WHERE r.status = 'launched' AND (s.status IS NULL OR s.status = 'running')
"""


def insert_request(
    conn: sqlite3.Connection, session_id: str, requested_by: str, configuration: str
) -> None:
    conn.execute(
        "INSERT INTO session_requests (session_id, requested_by, configuration) VALUES (?, ?, ?)",
        (session_id, requested_by, configuration),
    )


def mark_launched(conn: sqlite3.Connection, session_id: str, launcher: str) -> bool:
    """Queued -> launched; False if it was not queued (someone else claimed it first)."""
    cursor = conn.execute(
        "UPDATE session_requests SET status = 'launched', launched_by = ?, "
        "launched_at = CURRENT_TIMESTAMP WHERE session_id = ? AND status = 'queued'",
        (launcher, session_id),
    )
    return cursor.rowcount == 1


def claimed_not_ended(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    """Launched requests whose session has not ended: id, launcher pid and start ticks, age in
    seconds since the claim, session status (None before the run opened it)."""
    return conn.execute(_ACTIVE_SQL).fetchall()


def running_without_request(conn: sqlite3.Connection) -> int:
    """Running sessions nobody requested (a job run by hand)."""
    return int(
        conn.execute(
            "SELECT COUNT(*) FROM reinforcement_sessions s WHERE s.status = 'running' AND NOT "
            "EXISTS (SELECT 1 FROM session_requests r WHERE r.session_id = s.session_id)"
        ).fetchone()[0]
    )


def queued_count(conn: sqlite3.Connection) -> int:
    return int(
        conn.execute("SELECT COUNT(*) FROM session_requests WHERE status = 'queued'").fetchone()[0]
    )


def queue_position(conn: sqlite3.Connection, session_id: str) -> int | None:
    """1 for the next request to start, 2 for the one after it...; None unless queued."""
    row = conn.execute(
        "SELECT rowid, requested_at FROM session_requests WHERE session_id = ? "
        "AND status = 'queued'",
        (session_id,),
    ).fetchone()
    if row is None:
        return None
    ahead = conn.execute(
        "SELECT COUNT(*) FROM session_requests WHERE status = 'queued' AND "
        "(requested_at < ? OR (requested_at = ? AND rowid < ?))",
        (row["requested_at"], row["requested_at"], row["rowid"]),
    ).fetchone()[0]
    return int(ahead) + 1


def oldest_queued(conn: sqlite3.Connection, limit: int | None = None) -> list[str]:
    """Queued session ids, oldest first (at most ``limit``)."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT session_id FROM session_requests WHERE status = 'queued' "
            "ORDER BY requested_at, rowid LIMIT ?",
            (-1 if limit is None else limit,),
        )
    ]


def request_row(conn: sqlite3.Connection, session_id: str) -> sqlite3.Row | None:
    return conn.execute(
        "SELECT session_id, requested_by, requested_at, configuration, status, launcher_pid, "
        "launcher_start_ticks FROM session_requests WHERE session_id = ?",
        (session_id,),
    ).fetchone()


def set_launcher(conn: sqlite3.Connection, session_id: str, pid: int, ticks: int | None) -> None:
    conn.execute(
        "UPDATE session_requests SET launcher_pid = ?, launcher_start_ticks = ? "
        "WHERE session_id = ?",
        (pid, ticks, session_id),
    )


def unopened_launch(conn: sqlite3.Connection, session_id: str) -> sqlite3.Row | None:
    """The launcher pid and start ticks of a launched request whose run never opened its
    session (None when it is not such a request)."""
    return conn.execute(
        "SELECT launcher_pid, launcher_start_ticks FROM session_requests r WHERE session_id = ? "
        "AND status = 'launched' AND NOT EXISTS "
        "(SELECT 1 FROM reinforcement_sessions s WHERE s.session_id = r.session_id)",
        (session_id,),
    ).fetchone()


def latest_unopened(conn: sqlite3.Connection) -> sqlite3.Row | None:
    """The latest request whose session has not been opened yet (id, requested_at)."""
    return conn.execute(
        "SELECT r.session_id, r.requested_at FROM session_requests r WHERE NOT EXISTS "
        "(SELECT 1 FROM reinforcement_sessions s WHERE s.session_id = r.session_id) "
        "ORDER BY r.requested_at DESC, r.rowid DESC LIMIT 1"
    ).fetchone()
