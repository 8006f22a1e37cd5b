"""The configuration database: one validated JSON document, exported and imported whole, stored
as versions and mirrored to data/config/active_config.json."""

from __future__ import annotations

import copy
import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from rl_pipeline.config import SessionConfig
from rl_pipeline.configuration.store import (
    ConfigValidationError,
    active_session_config,
    export_config,
    import_config,
    render,
)
from rl_pipeline_tests.support.store_state import dump

WEIGHTS = {"trading_ai": 0.1, "lava_ai": 0.2, "lgbm_ai": 0.3, "mistral_ai": 0.4}


def mirror(data_dir: Path) -> Path:
    return data_dir / "config" / "active_config.json"


def test_export_without_a_stored_configuration_is_defaults_and_live_weights(
    conn: sqlite3.Connection,
) -> None:
    document = export_config(conn)
    assert list(document) == ["schema_version", "session", "weights"]
    assert document["schema_version"] == 1
    assert SessionConfig.model_validate(document["session"]) == SessionConfig()
    assert document["weights"] == {
        "trading_ai": 0.25,
        "lava_ai": 0.35,
        "lgbm_ai": 0.4,
        "mistral_ai": 0.0,
    }
    assert active_session_config(conn) == SessionConfig()


def test_export_import_export_is_the_same_document(
    conn: sqlite3.Connection, isolated_data_dir: Path
) -> None:
    first = render(export_config(conn))
    before_history = conn.execute("SELECT COUNT(*) FROM model_weight_history").fetchone()[0]
    result = import_config(conn, first, source="test")
    assert render(export_config(conn)) == first
    # A no-op apart from the new version row: no weight change, no history, no versions.
    assert result.version == 1 and result.weights_changed == ()
    assert result.weight_change_session_id is None
    assert conn.execute("SELECT COUNT(*) FROM model_weight_history").fetchone()[0] == before_history
    assert conn.execute("SELECT COUNT(*) FROM model_versions").fetchone()[0] == 0
    stored = conn.execute("SELECT document, sha256, source FROM stored_configurations").fetchall()
    assert [tuple(r) for r in stored] == [
        (first, hashlib.sha256(first.encode()).hexdigest(), "test")
    ]
    assert mirror(isolated_data_dir).read_text() == first
    assert result.mirror_path == str(mirror(isolated_data_dir))
    # A second import of the same document: one more version row, nothing else.
    assert import_config(conn, json.loads(first)).version == 2
    assert render(export_config(conn)) == first


def test_import_applies_session_settings_and_weights(
    conn: sqlite3.Connection, isolated_data_dir: Path
) -> None:
    document = export_config(conn)
    document["session"]["learning_rate"] = 0.02
    document["session"]["costs"]["fee_bps"] = 2.5
    document["session"]["symbols"] = ["AAA"]
    document["weights"] = WEIGHTS
    result = import_config(conn, json.dumps(document).encode())

    config = active_session_config(conn)
    assert (config.learning_rate, config.costs.fee_bps, config.symbols) == (0.02, 2.5, ("AAA",))
    assert export_config(conn) == document
    assert set(result.weights_changed) == set(WEIGHTS)
    rows = conn.execute(
        "SELECT model_id, new_weight, reason, session_id FROM model_weight_history"
    ).fetchall()
    assert {r["model_id"]: r["new_weight"] for r in rows} == WEIGHTS
    assert {(r["reason"], r["session_id"]) for r in rows} == {
        ("config_import", result.weight_change_session_id)
    }
    kinds = conn.execute("SELECT DISTINCT kind FROM model_versions").fetchall()
    assert [k[0] for k in kinds] == ["manual"]
    assert json.loads(mirror(isolated_data_dir).read_text()) == document


def _valid() -> dict[str, Any]:
    return {
        "schema_version": 1,
        "session": SessionConfig().model_dump(mode="json"),
        "weights": dict(WEIGHTS),
    }


def _with(**changes: Any) -> dict[str, Any]:
    """A valid document with some dotted paths set (``None`` deletes)."""
    document = copy.deepcopy(_valid())
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = document
        for key in parents:
            node = node[key]
        if value is None:
            del node[last]
        else:
            node[last] = value
    return document


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ('{"schema_version": 1, "session": {', [("(document)", "invalid JSON")]),
        (b"\xff\xfe{}", [("(document)", "not UTF-8")]),
        ("[1, 2]", [("(document)", "Input should be an object")]),
        (
            _with(session__test_period_days="30", session__costs__slippage_bps=[5]),
            [
                ("session.test_period_days", "Input should be a valid integer"),
                ("session.costs.slippage_bps", "Input should be a valid number"),
            ],
        ),
        (
            _with(extra=1, session__costs__fees=1, weights__gpt_ai=0.0),
            [
                ("session.costs.fees", "Extra inputs are not permitted"),
                ("weights.gpt_ai", "Extra inputs are not permitted"),
                ("extra", "Extra inputs are not permitted"),
            ],
        ),
        (
            _with(session__costs__fee_bps=-1, session__learning_rate=0, weights__lava_ai=1.5),
            [
                ("session.learning_rate", "Input should be greater than 0"),
                ("session.costs.fee_bps", "Input should be greater than or equal to 0"),
                ("weights.lava_ai", "Input should be less than or equal to 1"),
            ],
        ),
        (
            _with(schema_version=2),
            [("schema_version", "schema version 2 is newer than this program reads (1)")],
        ),
        (
            _with(weights__mistral_ai=None, session__weights__min_weight=0.95),
            [
                ("session.weights", "min_weight must be <= max_weight"),
                ("weights.mistral_ai", "Field required"),
            ],
        ),
        (
            # The sum rule is listed together with the other part's errors.
            _with(weights__lava_ai=0.3, session__ensemble__threshold=2),
            [
                ("session.ensemble.threshold", "Input should be less than or equal to 1"),
                ("weights", "active model weights must sum to 1 (within 1e-06), got 1.1"),
            ],
        ),
    ],
    ids=[
        "invalid-json",
        "not-utf8",
        "not-an-object",
        "wrong-types",
        "unknown-keys",
        "out-of-range",
        "future-schema",
        "missing-and-model-rule",
        "wrong-sum",
    ],
)
def test_malformed_imports_list_every_bad_field_and_change_nothing(
    conn: sqlite3.Connection,
    isolated_data_dir: Path,
    document: Any,
    expected: list[tuple[str, str]],
) -> None:
    before = dump(conn)
    with pytest.raises(ConfigValidationError) as caught:
        import_config(conn, document)
    errors = caught.value.errors
    assert [e["path"] for e in errors] == [path for path, _ in expected]
    for error, (path, rule) in zip(errors, expected, strict=True):
        assert rule in error["rule"], error
        assert f"{path}: " in str(caught.value)
        assert "normalis" not in error["rule"], error  # a document cannot ask to normalise
    assert dump(conn) == before
    assert not mirror(isolated_data_dir).exists()


def test_rejected_import_keeps_the_active_configuration(
    conn: sqlite3.Connection, isolated_data_dir: Path
) -> None:
    import_config(conn, _valid())
    mirrored = mirror(isolated_data_dir).read_text()
    before = dump(conn)
    with pytest.raises(ConfigValidationError):
        import_config(conn, _with(weights__trading_ai=float("nan")))
    assert dump(conn) == before
    assert mirror(isolated_data_dir).read_text() == mirrored
