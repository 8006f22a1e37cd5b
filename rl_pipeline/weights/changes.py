"""The one writer of weight changes made outside a session: a manual set, a rollback and a
config import all land here, in the caller's transaction.

A change is recorded as a synthetic 'completed' session (see ``store.weight_changes``), the new
live weights, one ``model_weight_history`` row per changed model, and one new model version per
model (its weight changed or not, so every model's version list shows the event).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from rl_pipeline.store import ai_models
from rl_pipeline.store.model_versions import NewVersion, insert_versions_in, latest_version
from rl_pipeline.store.weight_changes import insert_change_session_in, insert_history_in
from rl_pipeline.timestamps import readable_id


def version_kind(reason: str) -> str:
    """The history reasons written here are 'manual' (a person, through the CLI or the API),
    'config_import' and 'rollback'; the versions table knows the kinds 'manual' and 'rollback'."""
    return "rollback" if reason == "rollback" else "manual"


@dataclass(frozen=True)
class WeightChange:
    session_id: str
    reason: str
    before: dict[str, float]
    after: dict[str, float]
    changed: tuple[str, ...]
    version_ids: tuple[str, ...]


def apply_weight_change_in(
    conn: sqlite3.Connection,
    new: Mapping[str, float],
    reason: str,
    details: dict[str, Any],
    *,
    always_record: Collection[str] = (),
    sources: Mapping[str, sqlite3.Row] | None = None,
) -> WeightChange | None:
    """Make ``new`` live (already validated) and record it; the caller holds the transaction.

    Nothing is written when no weight changes and ``always_record`` is empty. ``sources`` maps a
    model to the version whose parameters and artifact its new version carries (default: its
    latest version): a weight change does not change the model itself.
    """
    if not reason or not isinstance(reason, str):
        raise ValueError(f"reason {reason!r}: expected a non-empty label such as 'manual'")
    before = ai_models.live_weights(conn)
    unknown = sorted(set(new) - set(before))
    if unknown:
        raise ValueError(f"no such model in ai_models: {', '.join(unknown)}")
    after = {**before, **{m: float(w) for m, w in new.items()}}
    changed = tuple(m for m in before if after[m] != before[m] or m in always_record)
    if not changed:
        return None
    session_id = readable_id(f"{reason.replace('_', '-')}-")
    insert_change_session_in(
        conn,
        session_id,
        {"reason": reason, "weights_before": before, "weights_after": after, **details},
    )
    ai_models.publish_weights_in(conn, {m: after[m] for m in changed})
    insert_history_in(
        conn,
        session_id,
        [(m, before[m], after[m]) for m in changed],
        reason,
        {"reason": reason, **details},
    )
    versions = []
    for model_id in before:
        source = (sources or {}).get(model_id) or latest_version(conn, model_id)
        versions.append(
            NewVersion(
                model_id=model_id,
                kind=version_kind(reason),
                session_id=session_id,
                weight=after[model_id],
                parameters=json.loads(source["parameters"] or "{}") if source else {},
                artifact_path=source["artifact_path"] if source else None,
                artifact_sha256=source["artifact_sha256"] if source else None,
                # Metrics are measured by sessions; a weight change measured nothing.
                metrics={},
            )
        )
    ids = insert_versions_in(conn, versions)
    return WeightChange(session_id, reason, before, after, changed, tuple(ids))
