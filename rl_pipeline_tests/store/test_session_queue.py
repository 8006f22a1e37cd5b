"""The bounded session queue: at most ``max_running_sessions`` claimed at once, at most
``max_queued_sessions`` waiting, the position of each waiting request, and processes known by
pid plus start time (a reused pid is not the launcher or the session's owner)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from rl_pipeline import paths
from rl_pipeline.config import SessionConfig
from rl_pipeline.mistral.procfs import start_ticks
from rl_pipeline.operations_config import OperationsConfig
from rl_pipeline.session.lifecycle import fail_orphaned_sessions
from rl_pipeline.session.requests import (
    QueueFull,
    claim_next,
    launcher_died,
    queue_position,
    request_session,
)
from rl_pipeline.session.status import session_status
from rl_pipeline.store import ai_models, sessions
from rl_pipeline.store.connection import open_store
from rl_pipeline_tests.support.analytics_store import dump
from rl_pipeline_tests.support.api_server import api_server
from rl_pipeline_tests.support.store_state import assert_failed_cleanly

ONE = OperationsConfig(max_running_sessions=1, max_queued_sessions=5)


def set_launcher(conn: sqlite3.Connection, session_id: str, pid: int, ticks: int | None) -> None:
    conn.execute(
        "UPDATE session_requests SET launcher_pid = ?, launcher_start_ticks = ? "
        "WHERE session_id = ?",
        (pid, ticks, session_id),
    )


def test_one_at_a_time_in_order_with_positions(conn: sqlite3.Connection) -> None:
    ids = [request_session(conn, SessionConfig(), "api", limits=ONE) for _ in range(3)]
    assert [queue_position(conn, i) for i in ids] == [1, 2, 3]
    assert claim_next(conn, "process", ONE) == [ids[0]]
    assert claim_next(conn, "process", ONE) == []  # the first is still starting
    set_launcher(conn, ids[0], os.getpid(), start_ticks(os.getpid()))  # alive: this process
    assert claim_next(conn, "sensor", ONE) == []
    status = session_status(conn, ids[2])
    assert (status["status"], status["queue_position"]) == ("queued", 2)
    # The first ends (its launcher is gone): the next in line may start, and only it.
    ended = subprocess.Popen(["true"])
    ended.wait()
    set_launcher(conn, ids[0], ended.pid, None)
    assert claim_next(conn, "process", ONE) == [ids[1]]
    assert queue_position(conn, ids[2]) == 1
    two = OperationsConfig(max_running_sessions=2, max_queued_sessions=5)
    assert claim_next(conn, "process", two) == [ids[2]]


def test_a_full_queue_refuses_and_stores_nothing(conn: sqlite3.Connection) -> None:
    limits = OperationsConfig(max_running_sessions=1, max_queued_sessions=2)
    request_session(conn, SessionConfig(), "api", limits=limits)
    request_session(conn, SessionConfig(), "api", limits=limits)
    before = dump(Path(conn.execute("PRAGMA database_list").fetchone()[2]))
    with pytest.raises(QueueFull, match=r"queue is full \(2 waiting, limit 2.*about 90 s"):
        request_session(conn, SessionConfig(), "api", limits=limits, retry_after_s=90)
    assert dump(Path(conn.execute("PRAGMA database_list").fetchone()[2])) == before


def test_concurrent_claims_never_exceed_the_limit(db_path: Path) -> None:
    """Fifty threads, each with its own connection, claim at once: one wins."""
    conn = open_store(db_path)
    for _ in range(5):
        request_session(conn, SessionConfig(), "api", limits=ONE)
    barrier = threading.Barrier(50)

    def claim(_: int) -> list[str]:
        own = open_store(db_path)
        barrier.wait()
        try:
            return claim_next(own, "process", ONE)
        finally:
            own.close()

    with ThreadPoolExecutor(50) as pool:
        claimed = [s for got in pool.map(claim, range(50)) for s in got]
    assert len(claimed) == 1


def test_a_reused_pid_is_not_the_launcher(conn: sqlite3.Connection) -> None:
    """This test's own (live) pid with another start time stands for a pid the system gave to
    a new process after the launcher died."""
    session_id = request_session(conn, SessionConfig(), "api", limits=ONE)
    assert claim_next(conn, "process", ONE) == [session_id]
    set_launcher(conn, session_id, os.getpid(), start_ticks(os.getpid()) - 1)
    assert launcher_died(conn, session_id) == os.getpid()
    assert session_status(conn, session_id)["status"] == "failed"
    other = request_session(conn, SessionConfig(), "api", limits=ONE)
    assert claim_next(conn, "process", ONE) == [other]  # the dead launcher holds no slot


def test_a_session_whose_pid_was_reused_fails_and_loses_its_artifacts(
    conn: sqlite3.Connection,
) -> None:
    live = ai_models.live_weights(conn)
    sessions.insert_session(conn, "s1", 5, 0.01, 1.5, 0.8, "{}", None)
    artifacts = paths.artifacts_dir() / "s1"
    artifacts.mkdir(parents=True)
    (artifacts / "model.txt").write_text("trained")
    assert fail_orphaned_sessions(conn) == []  # this process owns it
    conn.execute(
        "UPDATE session_runs SET pid_start_ticks = pid_start_ticks - 1 WHERE session_id = 's1'"
    )
    assert fail_orphaned_sessions(conn) == ["s1"]
    assert_failed_cleanly(conn, "s1", live, "ended before it finished")


@pytest.mark.slow
def test_fifty_concurrent_api_starts_run_at_most_one_session(isolated_data_dir: Path) -> None:
    """A real API server and fifty simultaneous POST /api/reinforcement/start: four are taken
    (one runs, three wait), the others get 429 with Retry-After, and while the taken ones run
    one after another (real Dagster runs; the store has no bars, so each fails quickly) no
    more than one session is ever running."""
    data = isolated_data_dir
    open_store(data / "rl_pipeline.sqlite").close()
    env = {"RL_PIPELINE_MAX_RUNNING_SESSIONS": "1", "RL_PIPELINE_MAX_QUEUED_SESSIONS": "3"}
    with api_server(data, extra_env=env) as server:
        barrier = threading.Barrier(50)

        def start(_: int):
            barrier.wait()
            return server.call("POST", "/api/reinforcement/start", {"test_period_days": 5})

        with ThreadPoolExecutor(50) as pool:
            replies = list(pool.map(start, range(50)))
        taken = [r.body["session_id"] for r in replies if r.status == 200]
        refused = [r for r in replies if r.status == 429]
        assert len(taken) + len(refused) == 50, [r for r in replies if r.status not in (200, 429)]
        assert len(taken) == 4
        assert all(int(r.headers["retry-after"]) > 0 for r in refused)
        assert "queue is full" in refused[0].body["detail"]

        conn = open_store(server.db)
        most, deadline = 0, time.monotonic() + 400
        while True:
            running = conn.execute(
                "SELECT COUNT(*) FROM reinforcement_sessions WHERE status = 'running'"
            ).fetchone()[0]
            most = max(most, running)
            ended = conn.execute(
                "SELECT COUNT(*) FROM reinforcement_sessions WHERE status IN "
                "('completed', 'failed')"
            ).fetchone()[0]
            if ended == len(taken):
                break
            assert time.monotonic() < deadline, f"{ended} of {len(taken)} ended"
            time.sleep(0.1)
        assert most <= 1
        errors = [r[0] for r in conn.execute("SELECT error FROM session_runs ORDER BY session_id")]
        assert all("no market bars" in e for e in errors), errors
        conn.close()
