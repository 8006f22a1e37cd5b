"""A backtest's trades replayed into the live weights from the command line
(``rl-pipeline weights replay SOURCE``) and the API (``POST /api/models/weights/replay``), with
every model's weight before and after; what cannot be replayed is refused and writes nothing."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from rl_pipeline.config import SessionConfig
from rl_pipeline.session.stages import run_session
from rl_pipeline.store import ai_models
from rl_pipeline_tests.support.analytics_store import dump
from rl_pipeline_tests.support.cli import cli


def test_replaying_a_backtest_applies_the_weights_it_learned(
    small_store: sqlite3.Connection, db_path: Path
) -> None:
    live = ai_models.live_weights(small_store)
    backtest = run_session(small_store, SessionConfig(test_period_days=10))  # not published
    assert ai_models.live_weights(small_store) == live
    assert backtest.weights_learned != live

    before = dump(db_path)
    unknown = cli("weights", "replay", "no-such-session")
    assert unknown.returncode == 1
    assert "source_session_id: session 'no-such-session' does not exist" in unknown.stderr
    assert dump(db_path) == before

    done = cli("weights", "replay", backtest.session_id, "--json")
    assert done.returncode == 0, done.stderr
    view = json.loads(done.stdout)
    assert view["source_session_id"] == backtest.session_id
    assert view["weights_before"] == live
    # The same trades from the same start weights give the weights the backtest learned.
    assert view["weights_after"] == pytest.approx(backtest.weights_learned, abs=1e-12)
    assert ai_models.live_weights(small_store) == pytest.approx(view["weights_after"], abs=1e-12)
    trades = small_store.execute(
        "SELECT COUNT(*) FROM trade_results WHERE session_id = ?", (backtest.session_id,)
    ).fetchone()[0]
    assert view["replayed_trades"] == trades > 0

    shown = cli("session", "show", view["session_id"])
    assert shown.returncode == 0, shown.stderr
    assert "a replay of another session's trades" in shown.stdout
    for model_id, after in view["weights_after"].items():
        assert f"{live[model_id]:.4f} -> {after:.4f}" in shown.stdout

    text = cli("weights", "replay", backtest.session_id)
    assert text.returncode == 0, text.stderr
    assert f"trades of {backtest.session_id} into the live weights" in text.stdout
    lines = {line.split()[0]: line for line in text.stdout.splitlines()[2:]}
    assert lines["lgbm_ai"].split()[1] == f"{view['weights_after']['lgbm_ai']:.4f}"


def test_the_api_replays_a_backtest_and_refuses_what_it_cannot_replay(
    small_store: sqlite3.Connection, db_path: Path
) -> None:
    from rl_pipeline_tests.support.api_server import api_server

    live = ai_models.live_weights(small_store)
    backtest = run_session(small_store, SessionConfig(test_period_days=10))
    daily = run_session(
        small_store,
        SessionConfig(test_period_days=10, weights={"rule": "hedge", "update_every": "1d"}),
    )
    with api_server(db_path.parent) as server:
        before = dump(db_path)
        unknown = server.call("POST", "/api/models/weights/replay", {"source_session_id": "nope"})
        assert unknown.status == 404 and "'nope' does not exist" in unknown.body["detail"]
        periods = server.call(
            "POST", "/api/models/weights/replay", {"source_session_id": daily.session_id}
        )
        assert periods.status == 422
        assert periods.body["detail"][0]["loc"] == ["body", "source_session_id"]
        assert "updates every 1d" in periods.body["detail"][0]["msg"]
        assert dump(db_path) == before, "a refused replay writes nothing"

        done = server.call(
            "POST", "/api/models/weights/replay", {"source_session_id": backtest.session_id}
        )
    assert done.status == 200, done.body
    assert done.body["weights_before"] == live
    assert done.body["weights_after"] == pytest.approx(backtest.weights_learned, abs=1e-12)
    assert ai_models.live_weights(small_store) == pytest.approx(
        done.body["weights_after"], abs=1e-12
    )
