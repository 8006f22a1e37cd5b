"""Session requests: claimed once, and never 'queued' forever when their launcher died."""

from __future__ import annotations

import sqlite3
import subprocess

from rl_pipeline.config import SessionConfig
from rl_pipeline.session.requests import claim_request, request_session
from rl_pipeline.session.status import session_status


def test_a_request_is_claimed_once(conn: sqlite3.Connection) -> None:
    session_id = request_session(conn, SessionConfig(), "cli")
    assert claim_request(conn, session_id, "process")
    assert not claim_request(conn, session_id, "sensor")
    assert session_status(conn, session_id)["status"] == "queued"


def test_a_request_whose_launcher_died_reports_failed(conn: sqlite3.Connection) -> None:
    session_id = request_session(conn, SessionConfig(), "api")
    assert claim_request(conn, session_id, "process")
    launcher = subprocess.Popen(["true"])  # a real process that ends at once
    launcher.wait()
    conn.execute(
        "UPDATE session_requests SET launcher_pid = ? WHERE session_id = ?",
        (launcher.pid, session_id),
    )
    status = session_status(conn, session_id)
    assert status["status"] == "failed"
    assert f"launcher (pid {launcher.pid}) ended before the session opened" in status["error"]
