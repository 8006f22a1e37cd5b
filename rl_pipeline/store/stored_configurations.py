"""Stored system configurations: every import is a new version; the highest is active."""

from __future__ import annotations

import hashlib
import sqlite3


def insert_configuration_in(
    conn: sqlite3.Connection, document: str, source: str
) -> tuple[int, str]:
    """Append ``document`` as the new active configuration; the caller holds the transaction.
    Returns its version and sha256."""
    digest = hashlib.sha256(document.encode()).hexdigest()
    cursor = conn.execute(
        "INSERT INTO stored_configurations (document, sha256, source) VALUES (?, ?, ?)",
        (document, digest, source),
    )
    return int(cursor.lastrowid), digest


def active_configuration(conn: sqlite3.Connection) -> sqlite3.Row | None:
    return conn.execute(
        "SELECT version, document, sha256, created_at, source FROM stored_configurations "
        "ORDER BY version DESC LIMIT 1"
    ).fetchone()
