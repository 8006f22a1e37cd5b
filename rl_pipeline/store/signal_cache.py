"""Rows of ``signal_cache``: a model's signals stored under the key of their inputs."""

from __future__ import annotations

import io
import json
import sqlite3
from typing import Any

import numpy as np

from rl_pipeline.store.connection import transaction


def get_signals(
    conn: sqlite3.Connection, cache_key: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any], str | None] | None:
    """(ts, signal, confidence, meta, computed_by) stored under ``cache_key``, or None."""
    row = conn.execute(
        "SELECT signals, meta, computed_by FROM signal_cache WHERE cache_key = ?", (cache_key,)
    ).fetchone()
    if row is None:
        return None
    arrays = np.load(io.BytesIO(row[0]))
    return arrays["ts"], arrays["signal"], arrays["confidence"], json.loads(row[1]), row[2]


def put_signals(
    conn: sqlite3.Connection,
    cache_key: str,
    model_id: str,
    symbol: str | None,
    computed_by: str,
    ts: np.ndarray,
    signal: np.ndarray,
    confidence: np.ndarray,
    meta: dict[str, Any],
) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, ts=ts, signal=signal, confidence=confidence)
    with transaction(conn):
        conn.execute(
            "INSERT OR REPLACE INTO signal_cache (cache_key, model_id, symbol, computed_by, "
            "rows, signals, meta) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                cache_key,
                model_id,
                symbol,
                computed_by,
                len(ts),
                buffer.getvalue(),
                json.dumps(meta),
            ),
        )


def cached_keys(conn: sqlite3.Connection) -> dict[str, str]:
    """Every stored key and the session that computed it."""
    return dict(conn.execute("SELECT cache_key, computed_by FROM signal_cache").fetchall())
