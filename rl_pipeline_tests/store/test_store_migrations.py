"""Migrations apply once, idempotently, and connections follow the store's rules."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from rl_pipeline.store.connection import connect, migrate, open_store, schema_version, transaction
from rl_pipeline.store.schema import MIGRATIONS


def test_migrations_are_idempotent(db_path: Path) -> None:
    first = open_store(db_path)
    assert schema_version(first) == MIGRATIONS[-1][0]
    assert migrate(first) == []
    second = open_store(db_path)
    assert second.execute("SELECT COUNT(*) FROM ai_models").fetchone()[0] == 4
    versions = [r[0] for r in second.execute("SELECT version FROM schema_version")]
    assert versions == [v for v, _, _ in MIGRATIONS]


def test_concurrent_first_start_applies_each_migration_once(db_path: Path) -> None:
    script = (
        "import sys; from rl_pipeline.store.connection import open_store; open_store(sys.argv[1])"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(db_path)], stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    codes = [p.wait(timeout=60) for p in procs]
    assert codes == [0, 0, 0, 0], [p.stderr.read().decode()[-300:] for p in procs if p.returncode]
    conn = connect(db_path)
    assert conn.execute("SELECT COUNT(*) FROM ai_models").fetchone()[0] == 4
    assert conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == len(MIGRATIONS)


def test_opening_a_new_store_waits_for_a_writer_instead_of_failing(tmp_path: Path) -> None:
    """A new file still in rollback-journal mode with a write in progress elsewhere: switching
    it to WAL is refused at once by SQLite (waiting could deadlock), so ``connect`` retries
    until the writer commits."""
    path = tmp_path / "new.sqlite"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("CREATE TABLE t (x)")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO t VALUES (1)")
    opened: dict[str, object] = {}

    def open_it() -> None:
        try:
            opened["mode"] = connect(path).execute("PRAGMA journal_mode").fetchone()[0]
        except sqlite3.OperationalError as exc:
            opened["error"] = str(exc)

    opener = threading.Thread(target=open_it)
    opener.start()
    time.sleep(0.3)  # the opener meets the open write transaction
    writer.execute("COMMIT")
    opener.join(timeout=30)
    writer.close()
    assert opened == {"mode": "wal"}


def test_connection_rules(conn: sqlite3.Connection) -> None:
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000


def test_transaction_is_all_or_nothing(conn: sqlite3.Connection) -> None:
    try:
        with transaction(conn):
            conn.execute("UPDATE ai_models SET current_weight = 0.5 WHERE model_id = 'trading_ai'")
            conn.execute(
                "INSERT INTO ai_models (model_id, model_name, model_type) "
                "VALUES ('x', 'X', 'not-a-type')"
            )
    except sqlite3.IntegrityError:
        pass
    weight = conn.execute(
        "SELECT current_weight FROM ai_models WHERE model_id = 'trading_ai'"
    ).fetchone()[0]
    assert weight == 0.25
