"""Connections to the canonical SQLite store, transactions and idempotent migrations."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from rl_pipeline import paths
from rl_pipeline.registry import model_specs
from rl_pipeline.store.schema import MIGRATIONS

BUSY_TIMEOUT_MS = 30_000


class ReadOnlyStoreError(RuntimeError):
    """A write to a store that cannot be written (read-only file, folder or mount)."""

    def __init__(self, path: Path | str) -> None:
        self.path = path
        super().__init__(
            f"the store {path} is read-only: this command changes it and cannot run "
            "(reading commands work)"
        )


def is_read_only(path: Path) -> bool:
    """An existing store that this process cannot write: the file, or the folder its WAL and
    shared-memory files live in."""
    return path.exists() and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))


def connect_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection (``mode=ro``). Without a WAL file (the store was closed cleanly)
    it is opened ``immutable``: SQLite then needs no shared-memory file, which a read-only
    folder could not hold; with one, SQLite reads it through the existing shared memory."""
    wal = Path(f"{path}-wal")
    has_wal = wal.exists() and wal.stat().st_size > 0
    uri = f"file:{quote(str(path.resolve()))}?mode=ro" + ("" if has_wal else "&immutable=1")
    conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


def connect(db_path: Path | str | None = None) -> sqlite3.Connection:
    """Open the store with the project's connection rules (foreign keys, WAL, busy timeout).
    A store this process cannot write is opened read-only (:func:`connect_read_only`): reading
    works, and a write raises :class:`ReadOnlyStoreError` from :func:`transaction`.

    The connection is in autocommit mode; group writes with :func:`transaction`.
    """
    path = Path(db_path) if db_path is not None else paths.db_path()
    if is_read_only(path):
        return connect_read_only(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    _enable_wal(conn)
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def _enable_wal(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL (a no-op once it is). The first switch needs an exclusive lock,
    and SQLite answers 'database is locked' at once, without waiting on the busy timeout, when
    waiting could deadlock (several processes opening a new store together): retry then."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One logical write: it lands whole or not at all.

    ``BEGIN IMMEDIATE`` takes the write lock up front so concurrent writers queue on the busy
    timeout instead of failing half-way with SQLITE_BUSY on lock upgrade.
    """
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if _read_only(conn, exc):
            raise ReadOnlyStoreError(database_file(conn)) from exc
        raise
    try:
        yield conn
    except BaseException as exc:
        conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.OperationalError) and _read_only(conn, exc):
            raise ReadOnlyStoreError(database_file(conn)) from exc
        raise
    conn.execute("COMMIT")


def _read_only(conn: sqlite3.Connection, exc: sqlite3.OperationalError) -> bool:
    return "readonly" in str(exc) or getattr(exc, "sqlite_errorname", "").startswith(
        "SQLITE_READONLY"
    )


def database_file(conn: sqlite3.Connection) -> str:
    """The path of the file ``conn`` reads and writes."""
    return conn.execute("PRAGMA database_list").fetchone()[2]


def _statements(script: str) -> Iterator[str]:
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statement = buffer.strip()
            buffer = ""
            if statement:
                yield statement
    if buffer.strip() and not all(
        ln.strip().startswith("--") or not ln.strip() for ln in buffer.splitlines()
    ):
        raise ValueError(f"incomplete SQL statement in migration: {buffer.strip()[:80]}")


def schema_version(conn: sqlite3.Connection) -> int:
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if not exists:
        return 0
    row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()
    return int(row[0])


def migrate(conn: sqlite3.Connection) -> list[int]:
    """Apply pending migrations, each in its own transaction. Safe to call at every start and from
    several processes at once. Returns the versions applied now."""
    applied: list[int] = []
    for version, description, script in MIGRATIONS:
        if schema_version(conn) >= version:
            continue
        with transaction(conn):
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
                "description TEXT NOT NULL, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)"
            )
            # Re-check under the write lock: another process may have applied it meanwhile.
            if schema_version(conn) >= version:
                continue
            for statement in _statements(script):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_version (version, description) VALUES (?, ?)",
                (version, description),
            )
        applied.append(version)
    add_registered_models(conn)
    return applied


def add_registered_models(conn: sqlite3.Connection) -> list[str]:
    """An ``ai_models`` row for each registered model that has none (the four of the
    specification are its seed rows; a plugin's model gets its row here, at its seed weight).
    Returns the model ids added."""
    have = {row[0] for row in conn.execute("SELECT model_id FROM ai_models")}
    missing = [s for s in model_specs() if s.model_id not in have]
    if missing:
        with transaction(conn):
            conn.executemany(
                "INSERT OR IGNORE INTO ai_models (model_id, model_name, model_type, "
                "current_weight) VALUES (?, ?, ?, ?)",
                [(s.model_id, s.model_name, s.model_type, s.seed_weight) for s in missing],
            )
    return [s.model_id for s in missing]


def open_store(db_path: Path | str | None = None) -> sqlite3.Connection:
    """Connect and bring the schema up to date."""
    conn = connect(db_path)
    migrate(conn)
    return conn


def database_path(conn: sqlite3.Connection) -> str:
    """The file of the connection's main database."""
    return conn.execute("PRAGMA database_list").fetchone()["file"]
