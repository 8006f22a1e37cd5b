"""Read the store's state in tests: whole dumps (nothing changed?) and a session's outcome."""

from __future__ import annotations

import sqlite3


def dump(conn: sqlite3.Connection) -> str:
    """The whole store as SQL text: equal dumps mean nothing changed."""
    return "\n".join(conn.iterdump())


def session_outcome(conn: sqlite3.Connection, session_id: str) -> sqlite3.Row:
    """The session's status and, for a failed one, its error."""
    return conn.execute(
        "SELECT s.status, r.error FROM reinforcement_sessions s JOIN session_runs r "
        "USING (session_id) WHERE session_id = ?",
        (session_id,),
    ).fetchone()
