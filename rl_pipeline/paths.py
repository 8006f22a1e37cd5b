"""Where the project keeps its runtime files, with environment overrides for tests and deploys."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """Runtime data folder: ``RL_PIPELINE_DATA_DIR`` or ``<project>/data``."""
    return Path(os.environ.get("RL_PIPELINE_DATA_DIR") or PROJECT_ROOT / "data").resolve()


def db_path() -> Path:
    """The canonical SQLite store: ``RL_PIPELINE_DB`` or ``<data>/rl_pipeline.sqlite``."""
    override = os.environ.get("RL_PIPELINE_DB")
    return Path(override).resolve() if override else data_dir() / "rl_pipeline.sqlite"


def run_dir() -> Path:
    """State files of long-lived processes (the Mistral server)."""
    return data_dir() / "run"


def artifacts_dir() -> Path:
    """Saved model artifacts."""
    return data_dir() / "artifacts"


def logs_dir() -> Path:
    return data_dir() / "logs"


def dagster_home() -> Path:
    """The Dagster instance folder: ``DAGSTER_HOME`` or ``<data>/dagster``."""
    override = os.environ.get("DAGSTER_HOME")
    return Path(override).resolve() if override else data_dir() / "dagster"


def imports_dir() -> Path:
    """Bar files the API may import: ``RL_PIPELINE_IMPORT_DIR`` or ``<data>/import``
    (resolved, symlinks included)."""
    override = os.environ.get("RL_PIPELINE_IMPORT_DIR")
    return Path(override).resolve() if override else (data_dir() / "import").resolve()


def models_dir() -> Path:
    """Model files the API may hand to the Mistral server: ``RL_PIPELINE_MODELS_DIR`` or
    ``<data>/models`` (resolved, symlinks included)."""
    override = os.environ.get("RL_PIPELINE_MODELS_DIR")
    return Path(override).resolve() if override else (data_dir() / "models").resolve()
