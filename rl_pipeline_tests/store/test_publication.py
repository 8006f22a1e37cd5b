"""Publication of live weights is a compare-and-swap: no session, weight set, rollback or config
import overwrites a change it did not start from, and the history stays one unbroken chain."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from rl_pipeline.config import SessionConfig
from rl_pipeline.session import stages as stages
from rl_pipeline.session.lifecycle import complete_session
from rl_pipeline.session.status import session_status
from rl_pipeline.store import ai_models
from rl_pipeline.store.bars import write_bars
from rl_pipeline.store.connection import open_store
from rl_pipeline.weights.live import set_weights

CONFIG = SessionConfig(test_period_days=10, backtest={"history_days": 10})
MANUAL = {"trading_ai": 0.4, "lava_ai": 0.3, "lgbm_ai": 0.2, "mistral_ai": 0.1}


def assert_history_is_one_chain(conn: sqlite3.Connection) -> None:
    """Per model, in insert order: each row starts where the previous ended, and the last row's
    new weight is the live weight."""
    live = ai_models.live_weights(conn)
    for model_id, weight in live.items():
        rows = conn.execute(
            "SELECT old_weight, new_weight, session_id FROM model_weight_history "
            "WHERE model_id = ? ORDER BY rowid",
            (model_id,),
        ).fetchall()
        assert rows, model_id
        for previous, row in zip(rows, rows[1:], strict=False):
            assert row[0] == previous[1], (model_id, tuple(previous), tuple(row))
        assert rows[-1][1] == weight, model_id


def up_to_weights(conn: sqlite3.Connection, config: SessionConfig):
    """Run a session up to (not including) its publication."""
    handle = stages.open_session(conn, config)
    _, outcome, weights = stages.learn_session_weights(conn, handle)
    return handle.session_id, outcome, weights


def test_second_of_two_overlapping_sessions_is_refused_not_lost(small_store) -> None:
    start = ai_models.live_weights(small_store)
    a = up_to_weights(small_store, CONFIG)
    b = up_to_weights(small_store, CONFIG.model_copy(update={"learning_rate": 0.05}))
    # Both started from the same live weights; b's history rows were written after a's.
    assert a[2].live_before == b[2].live_before == start

    # b publishes first: its history rows move after a's, so the chain holds.
    published = stages.measure_and_finish(small_store, b[0], b[1], b[2])
    assert ai_models.live_weights(small_store) == published.weights_after
    assert session_status(small_store, b[0])["weights_outcome"] == "published"
    assert_history_is_one_chain_ignoring(small_store, a[0])

    with pytest.raises(ai_models.LiveWeightsChanged, match="changed since this session read"):
        stages.measure_and_finish(small_store, a[0], a[1], a[2])
    # a did not overwrite b: the live weights are still b's, and a ended failed with the reason.
    assert ai_models.live_weights(small_store) == published.weights_after
    status = session_status(small_store, a[0])
    assert status["status"] == "failed"
    assert status["weights_outcome"].startswith("refused: refused to publish")
    assert "live weights changed" in status["error"]
    assert status["history_rows"] == 0
    assert_history_is_one_chain(small_store)


def assert_history_is_one_chain_ignoring(conn: sqlite3.Connection, session_id: str) -> None:
    conn.execute("SAVEPOINT look")
    conn.execute("DELETE FROM model_weight_history WHERE session_id = ?", (session_id,))
    try:
        assert_history_is_one_chain(conn)
    finally:
        conn.execute("ROLLBACK TO look")
        conn.execute("RELEASE look")


def test_weight_set_during_a_session_wins_and_the_session_says_so(small_store) -> None:
    sid, outcome, weights = up_to_weights(small_store, CONFIG)
    set_weights(small_store, MANUAL)
    with pytest.raises(ai_models.LiveWeightsChanged):
        stages.measure_and_finish(small_store, sid, outcome, weights)
    assert ai_models.live_weights(small_store) == MANUAL
    status = session_status(small_store, sid)
    assert status["status"] == "failed"
    assert "lava_ai" in status["weights_outcome"] and "0.3" in status["weights_outcome"]
    assert_history_is_one_chain(small_store)


def test_set_that_changes_nothing_still_lets_the_session_publish_in_order(small_store) -> None:
    """A change recorded without moving a weight (a rollback to the current weight) lands
    between the session's history and its publication; the chain must still hold."""
    from rl_pipeline.store.connection import transaction
    from rl_pipeline.weights.changes import apply_weight_change_in

    sid, outcome, weights = up_to_weights(small_store, CONFIG)
    with transaction(small_store):
        apply_weight_change_in(small_store, {}, "rollback", {}, always_record=("lava_ai",))
    summary = stages.measure_and_finish(small_store, sid, outcome, weights)
    assert ai_models.live_weights(small_store) == summary.weights_after
    assert session_status(small_store, sid)["weights_outcome"] == "published"
    assert_history_is_one_chain(small_store)


def test_publishing_without_the_start_weights_is_a_programming_error(small_store) -> None:
    with pytest.raises(ValueError, match="started_from"):
        complete_session(small_store, "x", "{}", [], {"lava_ai": 1.0})


SESSION_WORKER = """
import sys, time
from pathlib import Path
from rl_pipeline.config import SessionConfig
from rl_pipeline.session.stages import run_session
from rl_pipeline.store.connection import open_store

db, rate, go, out = sys.argv[1], float(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
conn = open_store(db)
while not go.exists():
    time.sleep(0.002)
config = SessionConfig(test_period_days=10, backtest={"history_days": 10}, learning_rate=rate)
try:
    summary = run_session(conn, config, publish=True)
    out.write_text(summary.session_id)
except Exception as exc:
    out.write_text("error: " + str(exc))
"""

SETTER_WORKER = """
import sys, time
from pathlib import Path
from rl_pipeline.weights.live import set_weights
from rl_pipeline.store.connection import open_store
from rl_pipeline.session.lifecycle import complete_session

db, go = sys.argv[1], Path(sys.argv[2])
conn = open_store(db)
while not go.exists():
    time.sleep(0.002)
for n in range(12):
    a = 0.2 + 0.01 * n
    b = 0.2 - 0.01 * n
    set_weights(conn, {"trading_ai": a, "lava_ai": 0.3, "lgbm_ai": 0.3, "mistral_ai": b})
    time.sleep(0.25)
"""


@pytest.mark.slow
def test_concurrent_sessions_and_weight_sets_keep_one_chain(
    db_path: Path, tmp_path: Path, small_bars: pd.DataFrame
) -> None:
    """Three session processes (different learning rates) and a process setting weights while
    they run, all released at once: whatever the interleaving, the live weights equal the last
    history row of every model, every link holds, and each session says what became of its
    weights."""
    conn = open_store(db_path)
    write_bars(conn, small_bars, source="test")
    go = tmp_path / "go"
    outs = [tmp_path / f"out-{k}" for k in range(3)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SESSION_WORKER, str(db_path), str(rate), str(go), str(out)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for rate, out in zip((0.01, 0.03, 0.05), outs, strict=True)
    ]
    procs.append(
        subprocess.Popen(
            [sys.executable, "-c", SETTER_WORKER, str(db_path), str(go)],
            stderr=subprocess.PIPE,
            text=True,
        )
    )
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err

    assert_history_is_one_chain(conn)
    outcomes = conn.execute(
        "SELECT s.session_id, s.status, r.weights_outcome, r.error FROM reinforcement_sessions s "
        "JOIN session_runs r USING (session_id)"
    ).fetchall()
    assert len(outcomes) == 3
    for row in outcomes:
        if row["status"] == "completed":
            assert row["weights_outcome"] == "published"
        else:
            assert row["status"] == "failed"
            assert row["weights_outcome"].startswith("refused: ")
            assert "live weights changed since this session read them" in row["error"]
    # Twelve manual sets all landed (none was overwritten): 12 manual change rows per model
    # that moved, and the last set is live unless a session published after it.
    manual = conn.execute(
        "SELECT COUNT(DISTINCT session_id) FROM model_weight_history WHERE reason = 'manual'"
    ).fetchone()[0]
    assert manual == 12
