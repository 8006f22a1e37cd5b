"""Run one session as a Dagster run from outside Dagster (the API's and the CLI's launcher):
register its partition, run ``dagster job execute`` for that partition and wait for it; then
end what the run could not end itself (a run whose process was killed: its Dagster run and its
session are marked failed) and start the next queued request if a slot is free.

    python -m rl_pipeline.dagster_defs.launch SESSION_ID [JOB]
"""

import json
import subprocess
import sys

import dagster as dg

from rl_pipeline import paths
from rl_pipeline.dagster_defs.partitions import PARTITION_TAG, SESSION_PARTITIONS
from rl_pipeline.session.lifecycle import fail_orphaned_sessions, fail_session
from rl_pipeline.session.requests import JOB_NAME, dispatch, run_config_for
from rl_pipeline.store import sessions
from rl_pipeline.store.connection import open_store

UNFINISHED = (
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
)


def register_session_partition(session_id: str) -> None:
    """Add the session's partition to the instance (a no-op when it exists)."""
    with dg.DagsterInstance.get() as instance:
        if not instance.has_dynamic_partition(SESSION_PARTITIONS.name, session_id):
            instance.add_dynamic_partitions(SESSION_PARTITIONS.name, [session_id])


def execute_command(session_id: str, job: str, config_file: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "dagster",
        "job",
        "execute",
        "-m",
        "rl_pipeline",
        "-j",
        job,
        "-c",
        config_file,
        "--tags",
        json.dumps({PARTITION_TAG: session_id}),
    ]


def main(argv: list[str]) -> None:
    session_id = argv[0]
    job = argv[1] if len(argv) > 1 else JOB_NAME
    end_dead_runs()
    register_session_partition(session_id)
    folder = paths.run_dir() / "requests"
    folder.mkdir(parents=True, exist_ok=True)
    config_file = folder / f"{session_id}.json"
    config_file.write_text(json.dumps(run_config_for(session_id)))
    child = subprocess.run(execute_command(session_id, job, str(config_file)), check=False)
    if child.returncode < 0:  # killed by a signal: nothing in it could record the end
        end_killed_run(session_id, f"the run's process was killed by signal {-child.returncode}")
    conn = open_store()
    try:
        dispatch(conn)
    finally:
        conn.close()


def end_dead_runs() -> list[str]:
    """Runs whose session process died while nobody watched (its launcher was killed too) stay
    STARTED: fail their sessions (pid plus start time tells a dead owner) and then the runs of
    every failed session. Every launcher does this first, so such a run ends at the latest when
    the next session starts. Returns the run ids failed now."""
    conn = open_store()
    try:
        fail_orphaned_sessions(conn)
        with dg.DagsterInstance.get() as instance:
            failed = []
            for run in instance.get_runs(dg.RunsFilter(statuses=list(UNFINISHED))):
                session_id = run.tags.get(PARTITION_TAG)
                row = session_id and sessions.get_session(conn, session_id)
                if row and row["status"] == "failed":
                    reason = f"its session failed: {row['error'] or 'no reason recorded'}"
                    instance.report_run_failed(run, reason)
                    failed.append(run.run_id)
            return failed
    finally:
        conn.close()


def end_killed_run(session_id: str, reason: str) -> None:
    """Mark the session failed (its rows and artifacts dropped) and its Dagster run failed."""
    conn = open_store()
    try:
        fail_session(conn, session_id, reason)
    finally:
        conn.close()
    with dg.DagsterInstance.get() as instance:
        for run in instance.get_runs(dg.RunsFilter(tags={PARTITION_TAG: session_id})):
            if run.status in UNFINISHED:
                instance.report_run_failed(run, reason)


if __name__ == "__main__":
    main(sys.argv[1:])
