"""Model versions: one per model per completed session and per weight change, listed in order
with their parents; rollback restores a version's weight atomically and leaves history."""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
from pathlib import Path

import pytest

from rl_pipeline.config import SessionConfig
from rl_pipeline.session import stages as stages
from rl_pipeline.store import sessions
from rl_pipeline.store.ai_models import live_weights as live
from rl_pipeline.store.connection import transaction
from rl_pipeline.store.model_versions import NewVersion, insert_versions_in
from rl_pipeline.store.results import read_metrics
from rl_pipeline.weights.live import set_weights
from rl_pipeline.weights.versions import (
    RollbackError,
    list_versions,
    rollback,
    rollback_weights,
)
from rl_pipeline_tests.support.store_state import dump

FIRST = {"trading_ai": 0.1, "lava_ai": 0.2, "lgbm_ai": 0.3, "mistral_ai": 0.4}
SECOND = {"trading_ai": 0.4, "lava_ai": 0.3, "lgbm_ai": 0.2, "mistral_ai": 0.1}


def test_a_completed_session_adds_a_version_per_model(small_store: sqlite3.Connection) -> None:
    summary = stages.run_session(small_store, SessionConfig(test_period_days=10), publish=True)
    metrics = read_metrics(small_store, summary.session_id).set_index("model_id")
    for model_id, weight in summary.weights_after.items():
        versions = list_versions(small_store, model_id)
        latest = versions[-1]
        assert (latest.kind, latest.session_id, latest.weight) == (
            "session",
            summary.session_id,
            weight,
        )
        assert latest.weight == live(small_store)[model_id]
        assert latest.metrics["total_trades"] == metrics.loc[model_id, "total_trades"]
        assert latest.metrics["win_rate"] == pytest.approx(metrics.loc[model_id, "win_rate"])
        # Versions are numbered 1..n, each the child of the one before.
        assert [v.version_number for v in versions] == list(range(1, len(versions) + 1))
        assert [v.parent_version_id for v in versions] == [None] + [
            v.version_id for v in versions[:-1]
        ]
        trained = [v for v in versions if v.kind == "trained"]
        if trained:  # the learning models: the session version points at their latest artifact
            assert latest.parent_version_id == trained[-1].version_id
            assert latest.artifact_path == trained[-1].artifact_path
            data = Path(latest.artifact_path).read_bytes()
            assert latest.artifact_sha256 == hashlib.sha256(data).hexdigest()
        else:
            assert latest.artifact_path is None
    assert list_versions(small_store, "trading_ai")[-1].parameters["kind"]
    assert "inactive_reason" in list_versions(small_store, "mistral_ai")[-1].parameters
    assert sessions.latest_session_id(small_store) == summary.session_id


def test_rollback_restores_a_weight_and_rescales_the_others(conn: sqlite3.Connection) -> None:
    set_weights(conn, FIRST)  # v1 of every model
    set_weights(conn, SECOND)  # v2
    result = rollback(conn, "lava_ai", 1)
    after = live(conn)
    assert after["lava_ai"] == 0.2
    # The others share the rest (0.8) in proportion to their weights before (0.4 : 0.2 : 0.1).
    assert after["trading_ai"] == pytest.approx(0.8 * 0.4 / 0.7)
    assert after["lgbm_ai"] == pytest.approx(0.8 * 0.2 / 0.7)
    assert after["mistral_ai"] == pytest.approx(0.8 * 0.1 / 0.7)
    assert math.fsum(after.values()) == pytest.approx(1, abs=1e-12)
    assert result.restored.version_id == "lava_ai-v1"

    history = conn.execute(
        "SELECT model_id, old_weight, new_weight, reason, session_id, trade_context "
        "FROM model_weight_history WHERE reason = 'rollback' ORDER BY model_id"
    ).fetchall()
    assert {r["model_id"]: (r["old_weight"], r["new_weight"]) for r in history} == {
        m: (SECOND[m], after[m]) for m in SECOND
    }
    assert {r["session_id"] for r in history} == {result.change.session_id}
    assert json.loads(history[0]["trade_context"])["version_id"] == "lava_ai-v1"

    lava = list_versions(conn, "lava_ai")
    assert [(v.version_id, v.kind, v.parent_version_id) for v in lava] == [
        ("lava_ai-v1", "manual", None),
        ("lava_ai-v2", "manual", "lava_ai-v1"),
        ("lava_ai-v3", "rollback", "lava_ai-v2"),
    ]
    assert lava[-1].weight == 0.2
    assert list_versions(conn, "trading_ai")[-1].kind == "rollback"


def test_rollback_to_the_current_weight_still_leaves_a_record(conn: sqlite3.Connection) -> None:
    set_weights(conn, FIRST)
    before = live(conn)
    rollback(conn, "lgbm_ai", 1)
    assert live(conn) == before
    rows = conn.execute(
        "SELECT model_id, old_weight, new_weight FROM model_weight_history "
        "WHERE reason = 'rollback'"
    ).fetchall()
    assert [tuple(r) for r in rows] == [("lgbm_ai", 0.3, 0.3)]


def test_rollback_to_a_version_without_weight_is_refused(conn: sqlite3.Connection) -> None:
    with transaction(conn):
        insert_versions_in(
            conn,
            [NewVersion("lava_ai", "trained", None, None, {"cutoff_ts": 1}, "/a.joblib", "ab", {})],
        )
    before = dump(conn)
    with pytest.raises(RollbackError, match="lava_ai-v1 is a 'trained' version and has no weight"):
        rollback(conn, "lava_ai", 1)
    with pytest.raises(LookupError, match="lava_ai has no version 7"):
        rollback(conn, "lava_ai", 7)
    with pytest.raises(LookupError, match="unknown model 'gpt_ai'"):
        rollback(conn, "gpt_ai", 1)
    assert dump(conn) == before


def test_rollback_that_breaks_the_rules_changes_nothing(conn: sqlite3.Connection) -> None:
    set_weights(conn, FIRST)  # mistral_ai-v1 has weight 0.4
    set_weights(conn, {"trading_ai": 0.5, "lava_ai": 0.3, "lgbm_ai": 0.2, "mistral_ai": 0})
    conn.execute("UPDATE ai_models SET is_active = FALSE WHERE model_id = 'mistral_ai'")
    before = dump(conn)
    with pytest.raises(RollbackError, match="mistral_ai: model is inactive"):
        rollback(conn, "mistral_ai", 1)
    assert dump(conn) == before


def test_rollback_rule() -> None:
    live_now = {"a": 0.5, "b": 0.5, "c": 0.0, "d": 0.0}
    assert rollback_weights(live_now, {"a", "b", "c"}, "a", 0.2) == {
        "a": 0.2,
        "b": 0.8,
        "c": 0.0,
        "d": 0.0,
    }
    # When the other active models all hold 0, they share the rest equally.
    assert rollback_weights({"a": 1.0, "b": 0.0, "c": 0.0}, {"a", "b", "c"}, "a", 0.4) == {
        "a": 0.4,
        "b": 0.3,
        "c": 0.3,
    }


def test_list_versions_of_an_unknown_model(conn: sqlite3.Connection) -> None:
    assert list_versions(conn, "lava_ai") == []
    with pytest.raises(LookupError, match="unknown model"):
        list_versions(conn, "nope")
