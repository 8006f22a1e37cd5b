"""Model versions: every trained artifact, every completed session and every weight change."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class NewVersion:
    model_id: str
    kind: str
    session_id: str | None
    weight: float | None
    parameters: dict[str, Any]
    artifact_path: str | None
    artifact_sha256: str | None
    metrics: dict[str, Any]


def insert_versions_in(conn: sqlite3.Connection, versions: Iterable[NewVersion]) -> list[str]:
    """Append versions (numbered per model, each the child of the model's previous version);
    the caller holds the transaction."""
    ids = []
    for v in versions:
        last = conn.execute(
            "SELECT version_id, version_number FROM model_versions WHERE model_id = ? "
            "ORDER BY version_number DESC LIMIT 1",
            (v.model_id,),
        ).fetchone()
        number = 1 if last is None else last["version_number"] + 1
        version_id = f"{v.model_id}-v{number}"
        conn.execute(
            "INSERT INTO model_versions (version_id, model_id, version_number, session_id, kind, "
            "weight, parameters, artifact_path, artifact_sha256, metrics, parent_version_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                version_id,
                v.model_id,
                number,
                v.session_id,
                v.kind,
                v.weight,
                json.dumps(v.parameters, sort_keys=True),
                v.artifact_path,
                v.artifact_sha256,
                json.dumps(v.metrics, sort_keys=True),
                None if last is None else last["version_id"],
            ),
        )
        ids.append(version_id)
    return ids


def list_versions(conn: sqlite3.Connection, model_id: str | None = None) -> list[sqlite3.Row]:
    if model_id is None:
        return conn.execute(
            "SELECT * FROM model_versions ORDER BY model_id, version_number"
        ).fetchall()
    return conn.execute(
        "SELECT * FROM model_versions WHERE model_id = ? ORDER BY version_number", (model_id,)
    ).fetchall()


def latest_version(conn: sqlite3.Connection, model_id: str) -> sqlite3.Row | None:
    return conn.execute(
        "SELECT * FROM model_versions WHERE model_id = ? ORDER BY version_number DESC LIMIT 1",
        (model_id,),
    ).fetchone()


def get_version(conn: sqlite3.Connection, model_id: str, version_number: int) -> sqlite3.Row | None:
    return conn.execute(
        "SELECT * FROM model_versions WHERE model_id = ? AND version_number = ?",
        (model_id, version_number),
    ).fetchone()
