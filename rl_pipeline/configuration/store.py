"""Use case: the configuration database. The whole system configuration is one JSON document
(``config_document.SystemConfig``); an import validates all of it first, then stores it as a new
version (the active one), sets the weights through the weight manager and mirrors it to
``data/config/active_config.json``.

Export gives the active stored session configuration (defaults when nothing was imported) with
the *live* weights, so exporting and importing again changes nothing but adds a version row.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from rl_pipeline.config import MODEL_IDS, SessionConfig
from rl_pipeline.config_document import SCHEMA_VERSION, SystemConfig, WeightVector, parse_document
from rl_pipeline.configuration.mirror import write_mirror
from rl_pipeline.store import ai_models
from rl_pipeline.store.connection import transaction
from rl_pipeline.store.stored_configurations import active_configuration, insert_configuration_in
from rl_pipeline.weights.changes import apply_weight_change_in
from rl_pipeline.weights.live import WeightValidationError, active_models, check_active

DOCUMENT = "(document)"  # the path of an error about the document as a whole
_WEIGHT_PATHS = {m: f"weights.{m}" for m in MODEL_IDS}


class ConfigValidationError(ValueError):
    """A rejected document; ``errors`` lists every bad field as ``{"path", "rule"}``."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        listed = "; ".join(f"{e['path']}: {e['rule']}" for e in errors)
        super().__init__(f"rejected configuration, nothing changed: {listed}")


@dataclass(frozen=True)
class ImportResult:
    version: int
    sha256: str
    weights_changed: tuple[str, ...]
    weight_change_session_id: str | None
    mirror_path: str | None


def render(document: dict[str, Any]) -> str:
    """The canonical text of a document (what is stored, mirrored and exported)."""
    return json.dumps(document, indent=2) + "\n"


def export_config(conn: sqlite3.Connection) -> dict[str, Any]:
    live = ai_models.live_weights(conn)
    return {
        "schema_version": SCHEMA_VERSION,
        "session": active_session_config(conn).model_dump(mode="json"),
        "weights": {m: live[m] for m in MODEL_IDS},
    }


def active_session_config(conn: sqlite3.Connection) -> SessionConfig:
    """The session configuration of the active stored document, or the defaults. Only the
    session part is read: a document stored before a plugin added a model lacks that model's
    weight, and its session configuration is still whole (the model's section has defaults)."""
    row = active_configuration(conn)
    if row is None:
        return SessionConfig()
    session = json.dumps(json.loads(row["document"])["session"])
    return SessionConfig.model_validate_json(session, strict=True)


def import_config(
    conn: sqlite3.Connection, document: str | bytes | dict[str, Any], *, source: str = "api"
) -> ImportResult:
    """Validate the whole document, then in one transaction store it as the new active version
    and set its weights (history reason 'config_import'); then mirror it to a file."""
    config = validate_document(conn, document)
    weights = config.weights.model_dump()
    text = render(config.model_dump(mode="json"))
    with transaction(conn):
        # Re-checked under the write lock: the active models may have changed meanwhile.
        weights = _checked_weights(weights, active_models(conn))
        version, sha256 = insert_configuration_in(conn, text, source)
        change = apply_weight_change_in(conn, weights, "config_import", {"config_version": version})
    mirror = write_mirror(conn)
    return ImportResult(
        version,
        sha256,
        change.changed if change else (),
        change.session_id if change else None,
        str(mirror) if mirror else None,
    )


def validate_document(
    conn: sqlite3.Connection, document: str | bytes | dict[str, Any]
) -> SystemConfig:
    """Every rule, every bad field listed; reads the store (which models are active), writes
    nothing."""
    text, raw = _load(document)
    errors: list[dict[str, str]] = []
    config = None
    try:
        config = parse_document(text)
    except ValidationError as exc:
        errors = [_pydantic_error(e) for e in exc.errors()]
    weights = _weights_section(config, raw, errors)
    if weights is not None:
        try:
            _checked_weights(weights, active_models(conn))
        except ConfigValidationError as exc:
            errors.extend(exc.errors)
    if errors:
        raise ConfigValidationError(errors)
    assert config is not None
    return config


def _load(document: str | bytes | dict[str, Any]) -> tuple[str, Any]:
    try:
        if isinstance(document, dict):
            text = json.dumps(document)
        elif isinstance(document, bytes):
            text = document.decode("utf-8")
        else:
            text = document
        return text, json.loads(text)
    except UnicodeDecodeError as exc:
        raise ConfigValidationError([{"path": DOCUMENT, "rule": f"not UTF-8 text: {exc}"}]) from exc
    except json.JSONDecodeError as exc:
        raise ConfigValidationError([{"path": DOCUMENT, "rule": f"invalid JSON: {exc}"}]) from exc
    except (TypeError, ValueError) as exc:
        raise ConfigValidationError([{"path": DOCUMENT, "rule": f"not JSON data: {exc}"}]) from exc


def _weights_section(
    config: SystemConfig | None, raw: Any, errors: list[dict[str, str]]
) -> dict[str, float] | None:
    """The weights when they passed their own rules (so the sum rule can be checked too, even if
    another part of the document is bad)."""
    if config is not None:
        return config.weights.model_dump()
    if any(e["path"] == "weights" or e["path"].startswith("weights.") for e in errors):
        return None
    try:
        return WeightVector.model_validate(raw["weights"]).model_dump()
    except (ValidationError, KeyError, TypeError):
        return None


def _checked_weights(weights: dict[str, float], active: set[str]) -> dict[str, float]:
    try:
        return check_active(weights, active, names=_WEIGHT_PATHS, sum_field="weights")
    except WeightValidationError as exc:
        raise ConfigValidationError(
            [{"path": e["field"], "rule": e["rule"]} for e in exc.errors]
        ) from exc


def _pydantic_error(error: Any) -> dict[str, str]:
    path = ".".join(str(part) for part in error["loc"]) or DOCUMENT
    rule = error["msg"].removeprefix("Value error, ")
    return {"path": path, "rule": rule}
