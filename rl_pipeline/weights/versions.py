"""Use case: model versions. Every trained artifact, every completed session and every weight
change is a version of each model (numbered 1, 2, ... per model, each the child of the previous
one); a model can be rolled back to any version that has a weight.

Rollback rule: the model gets the version's weight back, and the other *active* models share the
rest (1 - that weight) in proportion to their current weights (equally when they are all 0), so
the active weights still sum to 1. Inactive models keep their 0. Restoring the weight a model has
now changes no weight, but is still recorded.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from rl_pipeline.store import ai_models, model_versions
from rl_pipeline.store.connection import transaction
from rl_pipeline.store.model_versions import NewVersion
from rl_pipeline.timestamps import iso_z
from rl_pipeline.weights.changes import WeightChange, apply_weight_change_in
from rl_pipeline.weights.live import active_models, check_active

if TYPE_CHECKING:
    from rl_pipeline.backtest.metrics import PerformanceMetrics
    from rl_pipeline.session.types import ModelSignals


class RollbackError(ValueError):
    """The rollback cannot be applied; the message says why. Nothing was changed."""


@dataclass(frozen=True)
class ModelVersion:
    version_id: str
    model_id: str
    version_number: int
    kind: str
    session_id: str | None
    weight: float | None
    parameters: dict[str, Any]
    artifact_path: str | None
    artifact_sha256: str | None
    metrics: dict[str, Any]
    parent_version_id: str | None
    created_at: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> ModelVersion:
        return cls(
            version_id=row["version_id"],
            model_id=row["model_id"],
            version_number=row["version_number"],
            kind=row["kind"],
            session_id=row["session_id"],
            weight=row["weight"],
            parameters=json.loads(row["parameters"] or "{}"),
            artifact_path=row["artifact_path"],
            artifact_sha256=row["artifact_sha256"],
            metrics=json.loads(row["metrics"] or "{}"),
            parent_version_id=row["parent_version_id"],
            created_at=row["created_at"],
        )

    def as_dict(self) -> dict[str, Any]:
        """The JSON view (``models versions --json``): ``created_at`` as ISO 8601 with Z."""
        return asdict(self) | {"created_at": iso_z(self.created_at)}


@dataclass(frozen=True)
class RollbackResult:
    restored: ModelVersion
    change: WeightChange


def session_versions(
    session_id: str,
    signals: ModelSignals,
    final: Mapping[str, float],
    metrics: Mapping[str, PerformanceMetrics],
) -> list[NewVersion]:
    """One 'session' version per model of a completed session: its final weight, parameters, the
    latest artifact it trained in the session (if any) and its metrics."""
    versions = []
    for model_id, weight in final.items():
        saved = [a for a in signals.training.get(model_id, []) if a.path]
        artifact = max(saved, key=lambda a: a.cutoff_ts) if saved else None
        parameters = signals.parameters.get(model_id)
        if parameters is None:
            parameters = {"inactive_reason": signals.inactive.get(model_id, "not active")}
        measured = metrics.get(model_id)
        versions.append(
            NewVersion(
                model_id=model_id,
                kind="session",
                session_id=session_id,
                weight=weight,
                parameters=parameters,
                artifact_path=artifact.path if artifact else None,
                artifact_sha256=artifact.sha256 if artifact else None,
                metrics=measured.as_dict() if measured else {},
            )
        )
    return versions


def list_versions(conn: sqlite3.Connection, model_id: str) -> list[ModelVersion]:
    """A model's versions, oldest first."""
    _require_model(conn, model_id)
    return [ModelVersion.from_row(r) for r in model_versions.list_versions(conn, model_id)]


def rollback(conn: sqlite3.Connection, model_id: str, version_number: int) -> RollbackResult:
    """Restore ``model_id``'s weight of version ``version_number`` in one transaction: live
    weights, 'rollback' history rows and a new version per model."""
    with transaction(conn):
        _require_model(conn, model_id)
        row = model_versions.get_version(conn, model_id, version_number)
        if row is None:
            count = len(model_versions.list_versions(conn, model_id))
            raise LookupError(
                f"{model_id} has no version {version_number} "
                f"({f'it has versions 1..{count}' if count else 'it has no versions yet'})"
            )
        target = ModelVersion.from_row(row)
        if target.weight is None:
            raise RollbackError(
                f"{target.version_id} is a '{target.kind}' version and has no weight to restore; "
                "pick a session, manual or rollback version"
            )
        active = active_models(conn)
        new = rollback_weights(ai_models.live_weights(conn), active, model_id, target.weight)
        try:
            new = check_active(new, active)
        except ValueError as exc:
            raise RollbackError(f"cannot restore {target.version_id}: {exc}") from exc
        details = {
            "model_id": model_id,
            "version_id": target.version_id,
            "version_number": version_number,
        }
        change = apply_weight_change_in(
            conn, new, "rollback", details, always_record=(model_id,), sources={model_id: row}
        )
        assert change is not None  # always_record makes it write
        return RollbackResult(target, change)


def rollback_weights(
    live: Mapping[str, float], active: Collection[str], model_id: str, weight: float
) -> dict[str, float]:
    """The rollback rule (module docstring): ``model_id`` at ``weight``, the other active models
    scaled to share the rest."""
    new = dict(live)
    if weight == live[model_id]:
        return new  # the weight it has now: nothing to rescale (and no rounding noise)
    new[model_id] = weight
    if model_id not in active:
        return new  # check_active rejects a non-zero weight for it
    others = [m for m in live if m in active and m != model_id]
    rest = 1.0 - weight
    total = math.fsum(live[m] for m in others)
    for m in others:
        new[m] = live[m] * (rest / total) if total > 0 else rest / len(others)
    return new


def _require_model(conn: sqlite3.Connection, model_id: str) -> None:
    known = [r["model_id"] for r in ai_models.live_models(conn)]
    if model_id not in known:
        raise LookupError(f"unknown model {model_id!r} (expected one of {', '.join(known)})")
