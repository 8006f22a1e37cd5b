"""The active stored configuration mirrored as ``data/config/active_config.json``."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import tempfile
from pathlib import Path

from rl_pipeline import paths
from rl_pipeline.store.stored_configurations import active_configuration

MIRROR_NAME = "active_config.json"


def mirror_path() -> Path:
    return paths.data_dir() / "config" / MIRROR_NAME


def write_mirror(conn: sqlite3.Connection) -> Path | None:
    """Write the active stored configuration to the mirror file (after the import committed).

    The active row is read under a file lock, so two imports finishing together cannot leave
    the older document in the file; the write is atomic (temp file + ``os.replace``).
    """
    target = mirror_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{MIRROR_NAME}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        row = active_configuration(conn)
        if row is None:
            return None
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{MIRROR_NAME}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(row["document"])
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return target
