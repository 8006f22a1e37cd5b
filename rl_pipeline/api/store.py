"""A store connection per request, opened and closed in the request's own thread (sqlite3
connections may not cross threads, and FastAPI runs sync dependencies in another one)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import Request

from rl_pipeline.store.connection import connect


@contextmanager
def store(request: Request) -> Iterator[sqlite3.Connection]:
    conn = connect(request.app.state.settings.db_path)
    try:
        yield conn
    finally:
        conn.close()


def db_path(request: Request) -> Path:
    """The store the analytics read (DuckDB opens it itself)."""
    return request.app.state.settings.db_path
