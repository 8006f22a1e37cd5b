"""Use case: read and set the live model weights (the weight manager). The CLI, the HTTP API and
Dagster all call these functions.

Rules of a set: every registered model, no unknown names, every value a finite real in [0, 1],
inactive models at 0, and the active models' weights summing to 1 within 1e-6 (or scaled to 1
when the caller asks to normalise: the CLI's ``--normalise``, the API's ``"normalize": true``).
A rejected request raises before anything is written.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from rl_pipeline.config import MODEL_IDS
from rl_pipeline.config_document import WeightVector
from rl_pipeline.store import ai_models
from rl_pipeline.store.connection import transaction
from rl_pipeline.timestamps import iso_z
from rl_pipeline.weights.changes import apply_weight_change_in

SUM_TOLERANCE = 1e-6
API_FIELDS = {m: f"{m}_weight" for m in MODEL_IDS}
_API_TO_MODEL = {field: m for m, field in API_FIELDS.items()}


class WeightValidationError(ValueError):
    """Rejected weights; ``errors`` lists every bad field as ``{"field", "rule"}``."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        listed = "; ".join(f"{e['field']}: {e['rule']}" for e in errors)
        super().__init__(f"rejected weights, nothing changed: {listed}")


@dataclass(frozen=True)
class WeightsView:
    weights: dict[str, float]
    last_updated: str | None  # ISO 8601 with Z of the latest change of any weight (None: never)

    def as_api(self) -> dict[str, Any]:
        """The body of ``GET /api/models/weights``."""
        body: dict[str, Any] = {API_FIELDS[m]: self.weights[m] for m in MODEL_IDS}
        body["last_updated"] = self.last_updated
        return body


def get_weights(conn: sqlite3.Connection) -> WeightsView:
    rows = ai_models.live_models(conn)
    live = {r["model_id"]: float(r["current_weight"]) for r in rows}
    stamps = [r["last_updated"] for r in rows if r["model_id"] in MODEL_IDS and r["last_updated"]]
    return WeightsView({m: live[m] for m in MODEL_IDS}, iso_z(max(stamps)) if stamps else None)


def set_weights(
    conn: sqlite3.Connection,
    weights: Mapping[str, Any],
    *,
    normalise: bool = False,
    reason: str = "manual",
    source: str | None = None,
    normalise_option: str | None = None,
) -> WeightsView:
    """Set every model's weight at once (keys: model ids or API field names) in one transaction:
    live weights, history rows (``reason``) and one new model version per model; nothing when
    they are the live weights already. ``source`` ('cli', 'api', ...) is recorded with it.
    ``normalise_option`` is how the caller asks to normalise (``--normalise``, ``"normalize":
    true``): a sum that is not 1 names it."""
    parsed, names = parse_weights(weights)
    details: dict[str, Any] = {"requested": parsed, "normalised": normalise}
    if source is not None:
        details["source"] = source
    with transaction(conn):
        new = check_active(
            parsed,
            active_models(conn),
            normalise=normalise,
            names=names,
            normalise_option=normalise_option,
        )
        apply_weight_change_in(conn, new, reason, details)
        return get_weights(conn)


def parse_weights(weights: Mapping[str, Any]) -> tuple[dict[str, float], dict[str, str]]:
    """The rules that need no store: names, presence, types, range. Returns the weights by model
    id and each model's field name as the caller spelled it (for error messages)."""
    if not isinstance(weights, Mapping):
        raise WeightValidationError([{"field": "weights", "rule": "must be a mapping of weights"}])
    api_style = any(key in _API_TO_MODEL for key in weights)
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    errors: list[dict[str, str]] = []
    for key, value in weights.items():
        model = key if key in MODEL_IDS else _API_TO_MODEL.get(key)
        if model is None:
            expected = ", ".join(API_FIELDS.values() if api_style else MODEL_IDS)
            errors.append({"field": str(key), "rule": f"unknown model (expected {expected})"})
        elif model in values:
            errors.append(
                {"field": str(key), "rule": f"{model} given twice (also as {names[model]})"}
            )
        else:
            names[model], values[model] = key, value
    for model in MODEL_IDS:
        names.setdefault(model, API_FIELDS[model] if api_style else model)
    try:
        vector = WeightVector.model_validate(values)
    except ValidationError as exc:
        errors.extend({"field": names[e["loc"][0]], "rule": e["msg"]} for e in exc.errors())
    if errors:
        raise WeightValidationError(errors)
    return vector.model_dump(), names


def check_active(
    weights: Mapping[str, float],
    active: Collection[str],
    *,
    normalise: bool = False,
    names: Mapping[str, str] | None = None,
    sum_field: str | None = None,
    normalise_option: str | None = None,
) -> dict[str, float]:
    """The rules that depend on which models are active: inactive ones at 0, active ones summing
    to 1 (or scaled to sum to 1 when ``normalise``). Returns the weights to store. A sum that is
    not 1 names ``normalise_option`` when the caller can normalise (a configuration document
    or a rollback cannot)."""
    names = names or {m: m for m in weights}
    voting = [m for m in weights if m in active]
    sum_field = sum_field or "+".join(names[m] for m in voting) or "weights"
    errors = [
        {"field": names[m], "rule": "model is inactive (ai_models.is_active is false): must be 0"}
        for m, w in weights.items()
        if m not in active and w != 0
    ]
    total = math.fsum(weights[m] for m in voting)
    result = dict(weights)
    if not voting:
        errors.append({"field": sum_field, "rule": "no model is active in ai_models"})
    elif normalise:
        if total == 0:
            errors.append(
                {"field": sum_field, "rule": "cannot normalise: all active weights are 0"}
            )
        else:
            result.update({m: weights[m] / total for m in voting})
    elif abs(total - 1.0) > SUM_TOLERANCE:
        errors.append(
            {
                "field": sum_field,
                "rule": f"active model weights must sum to 1 (within {SUM_TOLERANCE:g}), "
                f"got {total!r}"
                + (f"; {normalise_option} scales them to sum to 1" if normalise_option else ""),
            }
        )
    if errors:
        raise WeightValidationError(errors)
    return result


def active_models(conn: sqlite3.Connection) -> set[str]:
    return {r["model_id"] for r in ai_models.live_models(conn) if r["is_active"]}
