"""Migrations apply once, idempotently, and connections follow the store's rules."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
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
    procs = [subprocess.Popen([sys.executable, "-c", script, str(db_path)]) for _ in range(4)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    conn = connect(db_path)
    assert conn.execute("SELECT COUNT(*) FROM ai_models").fetchone()[0] == 4
    assert conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == len(MIGRATIONS)


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
