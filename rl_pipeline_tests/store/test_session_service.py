"""A whole reinforcement session through the service stages, on a real SQLite store."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rl_pipeline.config import SessionConfig, TradingAIConfig, WeightRuleConfig
from rl_pipeline.models.trading_ai import TradingAI
from rl_pipeline.registry import MODELS, ModelSpec
from rl_pipeline.session import stages as stages
from rl_pipeline.session.queries import get_session_view
from rl_pipeline.store import ai_models, results
from rl_pipeline.store.bars import write_bars
from rl_pipeline.store.connection import open_store
from rl_pipeline_tests.support.store_state import assert_failed_cleanly

CONFIG = SessionConfig(test_period_days=10, backtest={"history_days": 10})


class ContrarianAI(TradingAI):
    """A fifth model, for tests only: TradingAI's signals reversed."""

    model_id = "contrarian_ai"

    def predict(self, features, decide):
        s = super().predict(features, decide)
        return type(s)(-s.signal, s.confidence)


@pytest.fixture
def fifth_model(small_store: sqlite3.Connection) -> Iterator[None]:
    """A model registered in this process only (test_registries.py adds one the way a user
    does, as a plugin), with its ai_models row at weight 0.1."""
    small_store.execute(
        "INSERT INTO ai_models (model_id, model_name, model_type, current_weight) "
        "VALUES ('contrarian_ai', 'ContrarianAI', 'trading', 0.1)"
    )
    spec = ModelSpec(
        "contrarian_ai",
        "ContrarianAI",
        "trading",
        lambda section, context: ContrarianAI(TradingAIConfig()),
    )
    with MODELS.temporarily("contrarian_ai", spec):
        yield


def child_rows(conn: sqlite3.Connection, session_id: str) -> dict[str, int]:
    return {
        table: conn.execute(
            f"SELECT COUNT(*) FROM {table} WHERE session_id = ?", (session_id,)
        ).fetchone()[0]
        for table in ("trade_results", "model_weight_history", "performance_metrics")
    }


def test_session_completes_with_trades_metrics_and_weights(small_store) -> None:
    summary = stages.run_session(small_store, CONFIG, publish=True)
    row = small_store.execute(
        "SELECT status, end_time, test_period_days, learning_rate FROM reinforcement_sessions"
    ).fetchone()
    assert tuple(row)[0] == "completed" and row["end_time"] is not None
    assert (row["test_period_days"], row["learning_rate"]) == (10, 0.01)
    counts = child_rows(small_store, summary.session_id)
    assert summary.active == ("trading_ai", "lava_ai", "lgbm_ai")
    assert all(summary.metrics[m].total_trades > 0 for m in summary.active)
    assert counts["trade_results"] == sum(m.total_trades for m in summary.metrics.values())
    assert counts["performance_metrics"] == 4
    assert counts["model_weight_history"] >= 4
    live = ai_models.live_weights(small_store)
    assert live == summary.weights_after
    assert sum(live[m] for m in summary.active) == pytest.approx(1.0, abs=1e-9)
    assert {m for m, w in live.items() if w == 0} == {"mistral_ai"}
    # Without a Mistral server, MistralAI sits the session out and says why.
    assert "no Mistral server" in summary.inactive["mistral_ai"]


def test_trades_in_the_store_follow_the_specified_formula(small_store) -> None:
    summary = stages.run_session(small_store, CONFIG, publish=True)
    trades = results.read_trades(small_store, summary.session_id)
    direction = np.where(trades["direction"] == "LONG", 1.0, -1.0)
    ratio = trades["exit_price"] / trades["entry_price"]
    fees = 0.001 * 10_000 * (1 + ratio)
    np.testing.assert_allclose(trades["pnl"], 10_000 * direction * (ratio - 1) - fees, atol=1e-9)
    np.testing.assert_allclose(trades["pnl_percent"], trades["pnl"] / 100, atol=1e-12)
    assert (trades["entry_time"] < trades["exit_time"]).all()
    assert trades["confidence"].between(0, 1).all()


def test_rule_over_a_whole_session_matches_the_closed_form(small_store, fifth_model) -> None:
    # With bounds that never bind, once every model has acted (sleeping experts: before that
    # only the models that have acted share their mass), multiplicative updates with
    # renormalisation give w_m proportional to w_m(K) * (1 + lr*R)^wins_m * (1 - lr*P)^losses_m
    # over the trades after update K, the update at which the last model first acted.
    config = CONFIG.model_copy(update={"weights": WeightRuleConfig(min_weight=0, max_weight=1)})
    summary = stages.run_session(small_store, config, publish=True)
    assert summary.active == ("trading_ai", "lava_ai", "lgbm_ai", "contrarian_ai")
    trades = results.read_trades(small_store, summary.session_id)
    trades = trades[trades["pnl"] != 0].sort_values(["exit_time", "entry_time", "trade_id"])
    first_trade_seq = {m: 1 + trades["ai_model_id"].tolist().index(m) for m in summary.active}
    all_acted = max(first_trade_seq.values())
    history = results.read_weight_history(small_store, summary.session_id)
    vector: dict[str, float] = {}
    for row in history[history["seq"] <= all_acted].sort_values(["seq", "model_id"]).itertuples():
        vector[row.model_id] = row.new_weight
    after_all_acted = trades.iloc[all_acted:]
    raw = {}
    for m in summary.active:
        pnl = after_all_acted.loc[after_all_acted["ai_model_id"] == m, "pnl"]
        raw[m] = vector[m] * 1.015 ** int((pnl > 0).sum()) * 0.992 ** int((pnl < 0).sum())
    total = sum(raw.values())
    after = summary.weights_after
    assert {m: after[m] for m in summary.active} == pytest.approx(
        {m: w / total for m, w in raw.items()}, rel=1e-9
    )
    # ... and the final vector can be rebuilt from model_weight_history alone.
    vector = {}
    for row in history.sort_values(["seq", "model_id"]).itertuples():
        vector[row.model_id] = row.new_weight
    assert vector == pytest.approx(after, abs=1e-15)


def test_same_configuration_gives_identical_results(small_store) -> None:
    a = stages.run_session(small_store, CONFIG, publish=True)
    ai_models.publish_weights(small_store, a.weights_before)
    b = stages.run_session(small_store, CONFIG, publish=True)
    ta = results.read_trades(small_store, a.session_id).drop(columns=["trade_id", "session_id"])
    tb = results.read_trades(small_store, b.session_id).drop(columns=["trade_id", "session_id"])
    pd.testing.assert_frame_equal(ta, tb)
    assert a.weights_after == b.weights_after
    assert a.metrics == b.metrics


def test_rerunning_a_stage_replaces_its_rows(small_store) -> None:
    handle = stages.open_session(small_store, CONFIG)
    sid = handle.session_id
    window = stages.load_market_window(small_store, sid, handle)
    signals = stages.compute_signals(
        small_store, sid, window, stages.compute_features(small_store, sid, window)
    )
    first = stages.run_winrate_test(small_store, sid, signals)
    stages.run_winrate_test(small_store, sid, signals)
    assert child_rows(small_store, sid)["trade_results"] == len(first.trades)


def test_failing_step_leaves_session_failed_with_nothing_half_written(small_store) -> None:
    live_before = ai_models.live_weights(small_store)
    # A real failure of the store at the last stage, after trades and history were written.
    small_store.execute(
        "CREATE TRIGGER refuse_metrics BEFORE INSERT ON performance_metrics "
        "BEGIN SELECT RAISE(ABORT, 'metrics table refuses writes'); END"
    )
    with pytest.raises(sqlite3.IntegrityError, match="refuses writes"):
        stages.run_session(small_store, CONFIG, session_id="doomed", publish=True)
    assert_failed_cleanly(
        small_store, "doomed", live_before, "stage performance_metrics: sqlite3.IntegrityError"
    )
    assert "refuses writes" in get_session_view(small_store, "doomed").error


def test_unknown_symbol_fails_the_session_with_a_clear_error(small_store) -> None:
    config = CONFIG.model_copy(update={"symbols": ("AAA", "NOPE")})
    with pytest.raises(stages.SessionError, match="symbols: no bars stored for NOPE"):
        stages.run_session(small_store, config, session_id="s-unknown", publish=True)
    assert get_session_view(small_store, "s-unknown").status == "failed"


def test_session_of_a_killed_process_is_never_left_running(small_store, db_path: Path) -> None:
    script = (
        "import os, signal, sys\n"
        "from rl_pipeline.config import SessionConfig, WeightRuleConfig\n"
        "from rl_pipeline.session import stages as s\n"
        "from rl_pipeline.store.connection import open_store\n"
        "s.open_session(open_store(sys.argv[1]), SessionConfig(), 'killed')\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, str(db_path)], check=False)
    assert proc.returncode == -signal.SIGKILL
    fresh = open_store(db_path)
    assert (
        fresh.execute(
            "SELECT status FROM reinforcement_sessions WHERE session_id = 'killed'"
        ).fetchone()[0]
        == "running"
    )
    view = get_session_view(fresh, "killed")
    assert view.status == "failed" and "process" in view.error


def perturb_after(bars: pd.DataFrame, cutoff_ts: int, seed: int) -> pd.DataFrame:
    """Scale every bar after the cut-off by a random factor (OHLC relations kept)."""
    out = bars.copy()
    after = out["ts"] > cutoff_ts
    factor = np.random.default_rng(seed).uniform(0.7, 1.3, int(after.sum()))
    for col in ("open", "high", "low", "close"):
        out.loc[after, col] = out.loc[after, col] * factor
    out.loc[after, "volume"] = out.loc[after, "volume"] * factor[::-1]
    return out


def run_stages(conn: sqlite3.Connection):
    handle = stages.open_session(conn, CONFIG)
    sid = handle.session_id
    window = stages.load_market_window(conn, sid, handle)
    signals = stages.compute_signals(conn, sid, window, stages.compute_features(conn, sid, window))
    outcome = stages.run_winrate_test(conn, sid, signals)
    stages.apply_reinforcement(conn, sid, outcome)
    return window, signals, results.read_trades(conn, sid), results.read_weight_history(conn, sid)


def test_no_look_ahead_through_the_whole_session(tmp_path: Path, small_bars: pd.DataFrame) -> None:
    base = open_store(tmp_path / "base.sqlite")
    write_bars(base, small_bars, "test")
    window, signals_a, trades_a, history_a = run_stages(base)
    cutoff = int(window.test_start_ts + 5 * 86_400)
    changed = open_store(tmp_path / "changed.sqlite")
    write_bars(changed, perturb_after(small_bars, cutoff, seed=3), "test")
    _, signals_b, trades_b, history_b = run_stages(changed)

    sa, sb = signals_a.signals, signals_b.signals
    assert signals_a.active == ("trading_ai", "lava_ai", "lgbm_ai")
    for model_id in signals_a.active:
        changed_later = sa[sa["model_id"] == model_id]["signal"].to_numpy() != (
            sb[sb["model_id"] == model_id]["signal"].to_numpy()
        )
        assert changed_later.any(), f"the perturbation must change later {model_id} signals"
    pd.testing.assert_frame_equal(
        sa[sa["ts"] <= cutoff].reset_index(drop=True), sb[sb["ts"] <= cutoff].reset_index(drop=True)
    )
    cut = pd.Timestamp(cutoff, unit="s").strftime("%Y-%m-%d %H:%M:%S")
    keep = [
        "symbol",
        "entry_time",
        "exit_time",
        "entry_price",
        "exit_price",
        "direction",
        "pnl",
        "pnl_percent",
        "confidence",
        "ai_model_id",
    ]
    closed_a = trades_a[trades_a["exit_time"] <= cut][keep].reset_index(drop=True)
    closed_b = trades_b[trades_b["exit_time"] <= cut][keep].reset_index(drop=True)
    assert len(closed_a) > 0
    pd.testing.assert_frame_equal(closed_a, closed_b)
    # Trades decided at or before the cut-off keep their direction and entry time.
    decided = ["symbol", "entry_time", "direction", "confidence", "ai_model_id"]
    entered_a = trades_a[trades_a["entry_time"] <= cut][decided].reset_index(drop=True)
    entered_b = trades_b[trades_b["entry_time"] <= cut][decided].reset_index(drop=True)
    pd.testing.assert_frame_equal(entered_a, entered_b)
    weights = ["model_id", "old_weight", "new_weight", "reason", "seq"]
    pd.testing.assert_frame_equal(
        history_a[history_a["updated_at"] <= cut][weights].reset_index(drop=True),
        history_b[history_b["updated_at"] <= cut][weights].reset_index(drop=True),
    )


def test_backtest_session_shows_learned_weights_beside_the_unchanged_live_ones(
    small_store: sqlite3.Connection, small_bars: pd.DataFrame
) -> None:
    from rl_pipeline.session.queries import format_session_view, session_view_json

    live = ai_models.live_weights(small_store)
    summary = stages.run_session(small_store, CONFIG)  # from Python: publishes only when asked
    assert ai_models.live_weights(small_store) == live
    view = get_session_view(small_store, summary.session_id)
    text = format_session_view(view)
    assert "weights: not published (backtest)" in text and "live (unchanged)" in text
    learned_differs = False
    for model_id, learned in summary.weights_learned.items():
        line = next(x for x in text.splitlines() if x.startswith(f"  {model_id} "))
        columns = line.split()
        # ... start -> learned live
        assert columns[-4:] == [
            f"{live[model_id]:.4f}",
            "->",
            f"{learned:.4f}",
            f"{live[model_id]:.4f}",
        ]
        learned_differs |= f"{learned:.4f}" != f"{live[model_id]:.4f}"
    assert learned_differs, "the session learned nothing, so the test shows nothing"

    # The tested period: the last test_period_days of bars, ending at the last bar.
    last = pd.Timestamp(int(small_bars["ts"].max()), unit="s", tz="UTC")
    first = last - pd.Timedelta(days=CONFIG.test_period_days) + pd.Timedelta(seconds=1)
    symbols = ", ".join(sorted(small_bars["symbol"].unique()))
    assert (
        f"  tested: {first:%Y-%m-%dT%H:%M:%SZ} .. {last:%Y-%m-%dT%H:%M:%SZ} "
        f"({CONFIG.test_period_days} days), symbols {symbols}"
    ) in text
    assert "rule binary, update every trade, learning rate 0.01" in text
    as_json = session_view_json(view)
    assert as_json["configuration"]["test_period_days"] == CONFIG.test_period_days
    assert as_json["weights_outcome"] == "not published (backtest)"
