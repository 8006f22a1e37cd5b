"""The live model registry table (``ai_models``)."""

from __future__ import annotations

import sqlite3

from rl_pipeline.store.connection import transaction


def live_models(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT model_id, model_name, model_type, current_weight, last_updated, parameters, "
        "is_active FROM ai_models ORDER BY rowid"
    ).fetchall()


def live_weights(conn: sqlite3.Connection) -> dict[str, float]:
    return {r["model_id"]: float(r["current_weight"]) for r in live_models(conn)}


def publish_weights_in(conn: sqlite3.Connection, weights: dict[str, float]) -> None:
    """Make ``weights`` live; the caller holds the transaction."""
    conn.executemany(
        "UPDATE ai_models SET current_weight = ?, last_updated = CURRENT_TIMESTAMP "
        "WHERE model_id = ?",
        [(w, m) for m, w in weights.items()],
    )


def publish_weights(conn: sqlite3.Connection, weights: dict[str, float]) -> None:
    with transaction(conn):
        publish_weights_in(conn, weights)
