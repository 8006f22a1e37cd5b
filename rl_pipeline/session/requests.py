"""Use case: start a session from the API, the CLI, a sensor or a schedule.

A request is queued in SQLite with its full configuration and claimed exactly once, either by a
launcher process (``start_session``, and each launcher when its run ends starts the next) or by
the session-request sensor when the Dagster daemon runs. Either way it runs as a Dagster run
whose session id is the request's.

The queue is bounded: a request is claimed only while fewer than ``max_running_sessions``
sessions are active (default 1: sessions that publish run one at a time), and a request beyond
``max_queued_sessions`` waiting ones is refused (:class:`QueueFull`, 429 in the API) with a
hint of when to try again. Every path that claims goes through :func:`claim_next`, in one write
transaction, so no burst of requests can start more than the limit.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from rl_pipeline import paths
from rl_pipeline.config import SessionConfig
from rl_pipeline.mistral.procfs import is_same_process, start_ticks
from rl_pipeline.operations_config import OperationsConfig
from rl_pipeline.session.lifecycle import fail_orphaned_sessions
from rl_pipeline.store import session_requests as queue
from rl_pipeline.store.connection import transaction
from rl_pipeline.store.sessions import pid_alive
from rl_pipeline.timestamps import readable_id

JOB_NAME = "reinforcement_session_job"
# A claimed request whose launcher pid is not recorded yet (the claiming process died between
# the claim and starting the launcher) stops counting as active after this long.
LAUNCH_GRACE_S = 60


class QueueFull(RuntimeError):
    """Too many sessions wait already; ``retry_after_s`` is when one slot probably frees."""

    def __init__(self, queued: int, limit: int, retry_after_s: int) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(
            f"the session queue is full ({queued} waiting, limit {limit}, "
            f"RL_PIPELINE_MAX_QUEUED_SESSIONS): try again in about {retry_after_s} s"
        )


@dataclass(frozen=True)
class SessionRequest:
    session_id: str
    requested_by: str
    requested_at: str
    config: SessionConfig
    status: str


def request_session(
    conn: sqlite3.Connection,
    config: SessionConfig,
    requested_by: str,
    session_id: str = "",
    limits: OperationsConfig | None = None,
    retry_after_s: int = 60,
) -> str:
    """Queue a session; returns its id (also the id of the session and its Dagster run).
    Raises :class:`QueueFull` (nothing stored) when ``max_queued_sessions`` already wait."""
    limits = limits or OperationsConfig.from_env()
    session_id = session_id or readable_id()
    with transaction(conn):
        waiting = queue.queued_count(conn)
        if waiting >= limits.max_queued_sessions:
            raise QueueFull(waiting, limits.max_queued_sessions, retry_after_s)
        queue.insert_request(conn, session_id, requested_by, config.model_dump_json())
    return session_id


def claim_request(conn: sqlite3.Connection, session_id: str, launcher: str) -> bool:
    """Atomically mark a queued request launched; False if someone else claimed it first."""
    with transaction(conn):
        return queue.mark_launched(conn, session_id, launcher)


def _active_in(conn: sqlite3.Connection) -> int:
    """Sessions claimed and not ended (the caller holds the transaction). A running session
    without a request (``rl-pipeline session run``, a job run by hand) counts too."""
    active = 0
    for row in queue.claimed_not_ended(conn):
        if row["session_status"] == "running":
            active += 1
        elif row["launcher_pid"] is None:
            active += (row["age_s"] or 0) < LAUNCH_GRACE_S
        elif launcher_alive(row["launcher_pid"], row["launcher_start_ticks"]):
            active += 1
    return active + queue.running_without_request(conn)


def launcher_alive(pid: int, ticks: int | None) -> bool:
    """The launcher is the same process still (a reused pid has another start time)."""
    return is_same_process(pid, ticks) if ticks is not None else pid_alive(pid)


queued_count = queue.queued_count
queue_position = queue.queue_position


def claim_next(
    conn: sqlite3.Connection,
    launcher: str,
    limits: OperationsConfig | None = None,
    only: str | None = None,
) -> list[str]:
    """Claim the oldest queued requests while fewer than the limit are active, in one write
    transaction; returns the claimed session ids (oldest first, maybe none). ``only`` claims
    that request alone, if it is its turn."""
    limits = limits or OperationsConfig.from_env()
    # A session whose process died holds no slot: end it first (pid plus start time).
    fail_orphaned_sessions(conn)
    claimed: list[str] = []
    with transaction(conn):
        free = limits.max_running_sessions - _active_in(conn)
        if free <= 0:
            return []
        for session_id in queue.oldest_queued(conn, free):
            if only is not None and session_id != only:
                continue
            queue.mark_launched(conn, session_id, launcher)
            claimed.append(session_id)
    return claimed


def get_request(conn: sqlite3.Connection, session_id: str) -> SessionRequest | None:
    row = queue.request_row(conn, session_id)
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
    ids = queue.oldest_queued(conn)
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


def start_session(
    conn: sqlite3.Connection, config: SessionConfig, requested_by: str, retry_after_s: int = 60
) -> str:
    """Queue a session and launch it now if a slot is free (else it waits its turn: each
    launcher starts the next queued request when its run ends); returns the session id
    without waiting. Raises :class:`QueueFull` when the queue is full."""
    session_id = request_session(conn, config, requested_by, retry_after_s=retry_after_s)
    dispatch(conn)
    return session_id


def dispatch(conn: sqlite3.Connection, limits: OperationsConfig | None = None) -> list[str]:
    """Launch queued requests while slots are free; returns the ids launched."""
    launched = claim_next(conn, "process", limits)
    for session_id in launched:
        pid = launch_detached(session_id)
        with transaction(conn):
            queue.set_launcher(conn, session_id, pid, start_ticks(pid))
    return launched


def launcher_died(conn: sqlite3.Connection, session_id: str) -> int | None:
    """The pid of the launcher of a launched request that ended before opening its session
    (its run never started), else None. The launcher is known by its pid and start time."""
    row = queue.unopened_launch(conn, session_id)
    if row is None or row[0] is None:
        return None
    return None if launcher_alive(row[0], row[1]) else row[0]
