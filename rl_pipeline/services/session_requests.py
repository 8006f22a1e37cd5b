"""Use case: start a session from the API, the CLI, a sensor or a schedule.

A request is queued in SQLite with its full configuration and claimed exactly once, either by a
launcher process started right away (``start_session``) or by the session-request sensor when
the Dagster daemon runs. Either way it runs as a Dagster run whose session id is the request's.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from rl_pipeline import paths
from rl_pipeline.config import SessionConfig
from rl_pipeline.store.connection import transaction
from rl_pipeline.store.sessions import pid_alive

JOB_NAME = "reinforcement_session_job"


@dataclass(frozen=True)
class SessionRequest:
    session_id: str
    requested_by: str
    requested_at: str
    config: SessionConfig
    status: str


def request_session(
    conn: sqlite3.Connection, config: SessionConfig, requested_by: str, session_id: str = ""
) -> str:
    """Queue a session; returns its id (also the id of the session and its Dagster run)."""
    session_id = session_id or str(uuid.uuid4())
    with transaction(conn):
        conn.execute(
            "INSERT INTO session_requests (session_id, requested_by, configuration) "
            "VALUES (?, ?, ?)",
            (session_id, requested_by, config.model_dump_json()),
        )
    return session_id


def claim_request(conn: sqlite3.Connection, session_id: str, launcher: str) -> bool:
    """Atomically mark a queued request launched; False if someone else claimed it first."""
    with transaction(conn):
        cursor = conn.execute(
            "UPDATE session_requests SET status = 'launched', launched_by = ?, "
            "launched_at = CURRENT_TIMESTAMP WHERE session_id = ? AND status = 'queued'",
            (launcher, session_id),
        )
    return cursor.rowcount == 1


def get_request(conn: sqlite3.Connection, session_id: str) -> SessionRequest | None:
    row = conn.execute(
        "SELECT session_id, requested_by, requested_at, configuration, status "
        "FROM session_requests WHERE session_id = ?",
        (session_id,),
    ).fetchone()
    if row is None:
        return None
    return SessionRequest(
        row["session_id"],
        row["requested_by"],
        row["requested_at"],
        SessionConfig.model_validate_json(row["configuration"]),
        row["status"],
    )


def queued_requests(conn: sqlite3.Connection) -> list[SessionRequest]:
    ids = [
        r[0]
        for r in conn.execute(
            "SELECT session_id FROM session_requests WHERE status = 'queued' "
            "ORDER BY requested_at, rowid"
        )
    ]
    return [r for r in (get_request(conn, i) for i in ids) if r is not None]


def run_config_for(session_id: str) -> dict:
    """Dagster run config of a requested session (its partition key is its id and its
    configuration comes from the request row): quiet console logs."""
    return {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def prepare_dagster_home() -> Path:
    home = paths.dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copy(paths.PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    return home


def launch_detached(session_id: str) -> int:
    """Run the requested session as a Dagster run (``dagster job execute`` for its partition)
    in its own process group, so it outlives the caller: an API request returns at once.
    Returns the launcher's pid."""
    log_dir = paths.logs_dir()
    log_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DAGSTER_HOME": str(prepare_dagster_home())}
    with open(log_dir / f"session-{session_id}.log", "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "rl_pipeline.dagster_defs.launch", session_id, JOB_NAME],
            cwd=paths.PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process.pid


def start_session(conn: sqlite3.Connection, config: SessionConfig, requested_by: str) -> str:
    """Queue a session and launch it now; returns the session id without waiting."""
    session_id = request_session(conn, config, requested_by)
    if claim_request(conn, session_id, "process"):
        pid = launch_detached(session_id)
        with transaction(conn):
            conn.execute(
                "UPDATE session_requests SET launcher_pid = ? WHERE session_id = ?",
                (pid, session_id),
            )
    return session_id


def launcher_died(conn: sqlite3.Connection, session_id: str) -> int | None:
    """The pid of the launcher of a launched request that ended before opening its session
    (its run never started), else None."""
    row = conn.execute(
        "SELECT launcher_pid FROM session_requests r WHERE session_id = ? AND status = 'launched' "
        "AND NOT EXISTS (SELECT 1 FROM reinforcement_sessions s WHERE s.session_id = r.session_id)",
        (session_id,),
    ).fetchone()
    if row is None or row[0] is None:
        return None
    return None if pid_alive(row[0]) else row[0]
