"""Run one session as a Dagster run from outside Dagster (the API's and the CLI's launcher):
register its partition, then hand over to ``dagster job execute`` for that partition.

    python -m rl_pipeline.dagster_defs.launch SESSION_ID [JOB]
"""

import json
import os
import sys

import dagster as dg

from rl_pipeline import paths
from rl_pipeline.dagster_defs.partitions import PARTITION_TAG, SESSION_PARTITIONS
from rl_pipeline.services.session_requests import JOB_NAME, run_config_for


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
    register_session_partition(session_id)
    folder = paths.run_dir() / "requests"
    folder.mkdir(parents=True, exist_ok=True)
    config_file = folder / f"{session_id}.json"
    config_file.write_text(json.dumps(run_config_for(session_id)))
    os.execv(sys.executable, execute_command(session_id, job, str(config_file)))


if __name__ == "__main__":
    main(sys.argv[1:])
