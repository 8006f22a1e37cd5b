"""The store resource: every asset writes through the same connection rules."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from rl_pipeline import paths
from rl_pipeline.store.connection import open_store


class StoreResource(dg.ConfigurableResource):
    """The canonical SQLite store; ``db_path`` empty = ``RL_PIPELINE_DB`` or the default file."""

    db_path: str = ""

    def resolved_path(self) -> str:
        return self.db_path or str(paths.db_path())

    def connect(self) -> sqlite3.Connection:
        return open_store(self.resolved_path())

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """A connection closed when the block ends."""
        conn = self.connect()
        try:
            yield conn
        finally:
            conn.close()
