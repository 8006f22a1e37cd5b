"""Run the installed ``rl-pipeline`` console script as a user would."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

RL_PIPELINE = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "rl-pipeline"


def cli(*args: str, stdin: str | None = None, timeout: float = 240) -> subprocess.CompletedProcess:
    """``rl-pipeline ARGS`` in a subprocess with this process's environment."""
    return subprocess.run(
        [str(RL_PIPELINE), *args],
        env=os.environ.copy(),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
