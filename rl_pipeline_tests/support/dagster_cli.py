"""Run the project's Dagster jobs through the real CLI, for one session partition."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

from rl_pipeline.dagster_defs.launch import register_session_partition

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DAGSTER = PROJECT_ROOT / ".venv" / "bin" / "dagster"


def make_dagster_home(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT_ROOT / "dagster.yaml", folder / "dagster.yaml")
    return folder


def execute_job(
    job: str, *extra: str, session_id: str | None = None, partitioned: bool = True
) -> tuple[subprocess.CompletedProcess, str]:
    """``dagster job execute -m rl_pipeline -j JOB`` in a subprocess (DAGSTER_HOME from the
    environment); for a partitioned job, a new session partition is registered first."""
    session_id = session_id or str(uuid.uuid4())
    tags: list[str] = []
    if partitioned:
        register_session_partition(session_id)
        tags = ["--tags", json.dumps({"dagster/partition": session_id})]
    done = subprocess.run(
        [str(DAGSTER), "job", "execute", "-m", "rl_pipeline", "-j", job, *extra, *tags],
        cwd=PROJECT_ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return done, session_id
