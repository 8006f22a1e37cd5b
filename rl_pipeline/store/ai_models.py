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


class LiveWeightsChanged(RuntimeError):
    """The live weights are no longer the ones a publication started from (nothing written)."""

    def __init__(self, expected: dict[str, float], live: dict[str, float]) -> None:
        self.expected = expected
        self.live = live
        moved = ", ".join(
            f"{m} {expected.get(m)!r} -> {live.get(m)!r}"
            for m in sorted(set(expected) | set(live))
            if expected.get(m) != live.get(m)
        )
        super().__init__(
            "refused to publish: the live weights changed since this session read them "
            f"({moved}); publishing would overwrite that change"
        )


def compare_and_publish_in(
    conn: sqlite3.Connection, started_from: dict[str, float], weights: dict[str, float]
) -> None:
    """Make ``weights`` live only if the live weights still equal ``started_from`` (the vector
    the publisher computed from); else raise :class:`LiveWeightsChanged` and write nothing.
    The caller holds the (``BEGIN IMMEDIATE``) transaction, so no writer can slip in between
    the comparison and the update."""
    live = live_weights(conn)
    if any(live.get(m) != started_from.get(m) for m in set(live) | set(started_from)):
        raise LiveWeightsChanged(dict(started_from), live)
    publish_weights_in(conn, weights)


def publish_weights(conn: sqlite3.Connection, weights: dict[str, float]) -> None:
    with transaction(conn):
        publish_weights_in(conn, weights)
