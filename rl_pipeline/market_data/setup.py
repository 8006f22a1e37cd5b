"""Use case: prepare the store (schema migrations, the embedded default market data)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from rl_pipeline.market.synthetic import DEFAULT_SEED, generate_default_bars
from rl_pipeline.session.lifecycle import fail_orphaned_sessions
from rl_pipeline.store.bars import count_bars, write_bars
from rl_pipeline.store.connection import database_path, open_store


@dataclass(frozen=True)
class StoreStatus:
    db_path: str
    bars: int
    seeded_bars: int
    orphaned_sessions: tuple[str, ...]


def init_store(db_path: Path | str | None = None, seed_default_data: bool = True) -> StoreStatus:
    """Migrate the schema and, when the store has no bars, load the embedded default data set."""
    conn = open_store(db_path)
    try:
        orphaned = fail_orphaned_sessions(conn)
        seeded = 0
        if seed_default_data and count_bars(conn) == 0:
            seeded = seed_default_bars(conn)
        path = database_path(conn)
        return StoreStatus(path, count_bars(conn), seeded, tuple(orphaned))
    finally:
        conn.close()


def seed_default_bars(conn: sqlite3.Connection) -> int:
    bars = generate_default_bars()
    return write_bars(conn, bars, source=f"synthetic:{DEFAULT_SEED}")
