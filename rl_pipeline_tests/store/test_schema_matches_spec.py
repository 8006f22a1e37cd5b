"""The five specification tables in the live store are exactly the specification's DDL: columns,
types, constraints, defaults, foreign keys, indexes and seed rows. The reference is built from
``fixtures/spec_tables.sql`` (the specification's DDL, copied verbatim), not from the store's own
copy of the DDL."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

SPEC_DDL_PATH = Path(__file__).parents[1] / "fixtures" / "spec_tables.sql"
SPEC_TABLES = (
    "reinforcement_sessions",
    "trade_results",
    "ai_models",
    "model_weight_history",
    "performance_metrics",
)


@pytest.fixture(scope="module")
def reference() -> sqlite3.Connection:
    ref = sqlite3.connect(":memory:")
    ref.executescript(SPEC_DDL_PATH.read_text(encoding="utf-8"))
    return ref


def normalised_sql(sql: str) -> str:
    without_comments = re.sub(r"--[^\n]*", "", sql)
    return re.sub(r"\s+", " ", without_comments).strip()


def rows(cursor: sqlite3.Cursor) -> list[tuple]:
    return [tuple(r) for r in cursor.fetchall()]


def describe(conn: sqlite3.Connection, table: str) -> dict:
    indexes = conn.execute(f"PRAGMA index_list({table})")
    return {
        "sql": normalised_sql(
            conn.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
            ).fetchone()[0]
        ),
        "columns": rows(conn.execute(f"PRAGMA table_info({table})")),
        "foreign_keys": rows(conn.execute(f"PRAGMA foreign_key_list({table})")),
        "indexes": sorted(
            (name, unique, origin, partial, rows(conn.execute(f"PRAGMA index_xinfo({name})")))
            for _, name, unique, origin, partial in rows(indexes)
        ),
        "index_sql": sorted(
            normalised_sql(sql or "")
            for (sql,) in conn.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?", (table,)
            )
        ),
    }


@pytest.mark.parametrize("table", SPEC_TABLES)
def test_table_matches_specification(
    conn: sqlite3.Connection, reference: sqlite3.Connection, table: str
) -> None:
    assert describe(conn, table) == describe(reference, table)


def test_seed_rows_match_specification(
    conn: sqlite3.Connection, reference: sqlite3.Connection
) -> None:
    query = (
        "SELECT model_id, model_name, model_type, current_weight, parameters, is_active "
        "FROM ai_models ORDER BY model_id"
    )
    assert rows(conn.execute(query)) == rows(reference.execute(query))
    assert len(rows(conn.execute(query))) == 4


def test_check_constraints_are_enforced(conn: sqlite3.Connection) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        conn.execute(
            "INSERT INTO reinforcement_sessions (session_id, test_period_days, status) "
            "VALUES ('s', 1, 'paused')"
        )
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        conn.execute(
            "INSERT INTO model_weight_history (weight_id, session_id, model_id, old_weight, "
            "new_weight, reason) VALUES ('w', 'missing', 'trading_ai', 0, 0, 'x')"
        )
