"""A DuckDB connection that reads the SQLite store directly, read-only and offline.

DuckDB's own ``INSTALL sqlite`` downloads the extension; the ``duckdb-extension-sqlite-scanner``
package ships the same file for our DuckDB version, so it is loaded from there (no network).
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from rl_pipeline.store.connection import connect_read_only, is_read_only

STORE = "store"  # the schema name every analytics query reads from


def sqlite_scanner_extension() -> Path:
    """The extension file inside the installed package, for the running DuckDB version."""
    import duckdb_extension_sqlite_scanner as package

    version = duckdb.__version__
    path = (
        Path(package.__file__).parent
        / "extensions"
        / f"v{version}"
        / "sqlite_scanner.duckdb_extension"
    )
    if not path.is_file():
        raise RuntimeError(
            f"no sqlite_scanner extension for DuckDB {version} at {path}: install "
            f"duckdb-extension-sqlite-scanner=={version}"
        )
    return path


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


T = TypeVar("T")
CACHED_RESULTS = 64  # per store: distinct filter combinations kept between two writes
# DuckDB would take every core for one query; one thread leaves the other core to the cheap
# routes of the API (analytics read a few thousand rows).
DUCKDB_THREADS = 1


def data_version(path: Path) -> Hashable:
    """A value that changes with every commit to the store, read without opening it: the
    WAL-index header at the start of the ``-shm`` file (its change counter, last valid frame
    and salts: a commit moves the frame count, a restarted WAL new salts), the WAL's size
    and the database file's identity, size and modification time (a checkpoint writes it).

    Why not ``PRAGMA data_version`` on a connection kept open: tried, it made the API's own
    connections fail with 'disk I/O error' once a session in another process had written
    (DuckDB's SQLite scanner carries a second copy of the SQLite library into the process, and
    two copies do not see each other's POSIX locks). Reading these bytes opens no connection."""
    database = os.stat(path)
    try:
        wal_size: int | None = os.stat(f"{path}-wal").st_size
    except FileNotFoundError:
        wal_size = None
    header: bytes | None = None
    if wal_size:  # an empty or missing WAL: everything is in the database file
        try:
            with open(f"{path}-shm", "rb") as shm:
                header = shm.read(WAL_INDEX_HEADER_BYTES)
        except FileNotFoundError:
            pass
    # Not the -shm file's own times: readers write their read marks there.
    return (database.st_ino, database.st_size, database.st_mtime_ns, bool(wal_size), header)


WAL_INDEX_HEADER_BYTES = 48  # SQLite's WalIndexHdr, the first copy


class _StoreCache:
    """The analytics results of one store at one data version."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.computing = threading.Lock()
        self.version: Hashable = None
        self.results: OrderedDict[Hashable, Any] = OrderedDict()


_CACHES: dict[str, _StoreCache] = {}
_CACHES_LOCK = threading.Lock()


def _existing(db_path: Path | str) -> Path:
    path = Path(db_path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"no SQLite store at {path}: run `rl-pipeline init` first")
    return path


def _cache(path: Path) -> _StoreCache:
    with _CACHES_LOCK:
        cache = _CACHES.get(str(path))
        if cache is None:
            cache = _CACHES[str(path)] = _StoreCache()
        return cache


# Processes that hold no sqlite3 connection of their own (the analytics worker) keep one DuckDB
# connection per store instead of attaching for every query (about 0.3 s each); see
# ``data_version`` for why a process that also uses sqlite3 must not.
_KEEP_CONNECTIONS = False
_KEPT: dict[tuple[str, int, int], duckdb.DuckDBPyConnection] = {}
_KEPT_LOCK = threading.Lock()


def keep_connections() -> None:
    """Reuse one DuckDB connection per store in this process (call once, at its start)."""
    global _KEEP_CONNECTIONS
    _KEEP_CONNECTIONS = True


def _attached(path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:", config={"threads": DUCKDB_THREADS})
    try:
        con.load_extension(str(sqlite_scanner_extension()))
        # ATTACH takes no prepared parameters: the path (an existing file, resolved by the
        # caller) is quoted as a SQL string literal instead.
        con.execute(f"ATTACH {_sql_literal(str(path))} AS {STORE} (TYPE sqlite, READ_ONLY)")
    except BaseException:
        con.close()
        raise
    return con


@contextmanager
def _read_only_snapshot(path: Path) -> Iterator[Path]:
    """A temporary copy of a store this process cannot write. DuckDB's SQLite scanner opens
    files read-write-capable only (no ``mode=ro`` or ``immutable`` URI), and a WAL store in a
    read-only folder needs those; the copy is made through SQLite's own read-only connection."""
    with tempfile.TemporaryDirectory(prefix="rl_pipeline-read-only-") as folder:
        copy = Path(folder) / "store.sqlite"
        source = connect_read_only(path)
        target = sqlite3.connect(copy)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        yield copy


@contextmanager
def store_connection(db_path: Path | str) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB with the SQLite store attached read-only as schema ``store``
    (temporary tables made with it are gone afterwards)."""
    path = _existing(db_path)
    if is_read_only(path):
        with _read_only_snapshot(path) as snapshot:
            con = _attached(snapshot)
            try:
                yield con
            finally:
                con.close()
        return
    if not _KEEP_CONNECTIONS:
        con = _attached(path)
        try:
            yield con
        finally:
            con.close()
        return
    stat = path.stat()
    key = (str(path), stat.st_dev, stat.st_ino)  # a store replaced by a new file is new
    with _KEPT_LOCK:
        if key not in _KEPT:
            _KEPT[key] = _attached(path)
        cursor = _KEPT[key].cursor()
    try:
        yield cursor
    finally:
        cursor.close()


def cached_by_data_version(db_path: Path | str, key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``'s result, computed again only after the store changed (any commit by any
    connection) or when ``key`` (the query and its arguments) is new. One computation runs at a
    time per store (the others wait for it and then read the cache), so a burst of analytics
    requests costs one core, not all of them. Errors are not kept."""
    path = _existing(db_path)
    watch = _cache(path)
    hit, version = _cached(watch, path, key)
    if hit is not _MISSING:
        return hit
    with watch.computing:
        hit, version = _cached(watch, path, key)
        if hit is not _MISSING:
            return hit
        result = compute()
    with watch.lock:
        if watch.version == version:  # not kept if the store changed while computing
            watch.results[key] = result
            while len(watch.results) > CACHED_RESULTS:
                watch.results.popitem(last=False)
    return result


_MISSING = object()


def _cached(watch: _StoreCache, path: Path, key: Hashable) -> tuple[Any, Hashable]:
    version = data_version(path)
    with watch.lock:
        if version != watch.version:
            watch.results.clear()
            watch.version = version
        if key in watch.results:
            watch.results.move_to_end(key)
            return watch.results[key], version
        return _MISSING, version


def fetch_dicts(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    """Rows of a parameterised query as plain dicts."""
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def session_exists(con: duckdb.DuckDBPyConnection, session_id: str) -> bool:
    row = con.execute(
        f"SELECT 1 FROM {STORE}.reinforcement_sessions WHERE session_id = ?", [session_id]
    ).fetchone()
    return row is not None


def require_session(con: duckdb.DuckDBPyConnection, session_id: str) -> None:
    if not session_exists(con, session_id):
        raise LookupError(f"session {session_id!r} does not exist")


def latest_completed_session(con: duckdb.DuckDBPyConnection, having: str) -> str | None:
    """The latest completed session that has rows in table ``having`` (a fixed table name)."""
    row = con.execute(
        f"SELECT s.session_id FROM {STORE}.reinforcement_sessions s "
        f"WHERE s.status = 'completed' AND EXISTS "
        f"(SELECT 1 FROM {STORE}.{having} x WHERE x.session_id = s.session_id) "
        "ORDER BY s.start_time DESC, s.rowid DESC LIMIT 1"
    ).fetchone()
    return None if row is None else row[0]
