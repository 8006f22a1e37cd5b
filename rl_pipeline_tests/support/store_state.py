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


def assert_failed_cleanly(
    conn: sqlite3.Connection,
    session_id: str,
    live_before: dict[str, float],
    reason: str,
) -> None:
    """The one end state of a failed session, whatever ended it: status 'failed' with the
    reason, no row it wrote left, no model artifacts or report on disk, live weights as before."""
    from rl_pipeline.session.lifecycle import session_artifacts_dir
    from rl_pipeline.store import ai_models
    from rl_pipeline.store.sessions import SESSION_CHILD_TABLES

    row = session_outcome(conn, session_id)
    assert row["status"] == "failed", row["status"]
    assert reason in (row["error"] or ""), row["error"]
    for table in SESSION_CHILD_TABLES:
        left = conn.execute(
            f"SELECT COUNT(*) FROM {table} WHERE session_id = ?", (session_id,)
        ).fetchone()[0]
        assert left == 0, f"{table}: {left} rows left"
    assert not session_artifacts_dir(session_id).exists(), "model artifacts left on disk"
    assert ai_models.live_weights(conn) == live_before
