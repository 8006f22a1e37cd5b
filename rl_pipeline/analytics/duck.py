"""A DuckDB connection that reads the SQLite store directly, read-only and offline.

DuckDB's own ``INSTALL sqlite`` downloads the extension; the ``duckdb-extension-sqlite-scanner``
package ships the same file for our DuckDB version, so it is loaded from there (no network).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

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


@contextmanager
def store_connection(db_path: Path | str) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB with the SQLite store attached read-only as schema ``store``."""
    path = Path(db_path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"no SQLite store at {path}: run `rl-pipeline init` first")
    con = duckdb.connect(":memory:")
    try:
        con.load_extension(str(sqlite_scanner_extension()))
        # ATTACH takes no prepared parameters: the path (an existing file, resolved above) is
        # quoted as a SQL string literal instead.
        con.execute(f"ATTACH {_sql_literal(str(path))} AS {STORE} (TYPE sqlite, READ_ONLY)")
        yield con
    finally:
        con.close()


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
