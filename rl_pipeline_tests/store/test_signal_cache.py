"""Signals computed once are reused when everything they depend on matches, and recomputed
exactly where an input changed: one bar of one symbol, one model setting."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest

from rl_pipeline.config import SessionConfig
from rl_pipeline.session.queries import format_session_view, get_session_view
from rl_pipeline.session.stages import run_session

CONFIG = SessionConfig(test_period_days=10, backtest={"history_days": 10})


def trades_of(conn: sqlite3.Connection, session_id: str) -> pd.DataFrame:
    return pd.read_sql(
        "SELECT ai_model_id, symbol, entry_time, exit_time, direction, pnl, confidence "
        "FROM trade_results WHERE session_id = ? ORDER BY ai_model_id, symbol, entry_time",
        conn,
        params=(session_id,),
    )


def cache_rows(conn: sqlite3.Connection) -> set[tuple[str, str | None, str]]:
    return {
        (r[0], r[1], r[2])
        for r in conn.execute("SELECT model_id, symbol, computed_by FROM signal_cache")
    }


def test_signals_are_reused_and_recomputed_only_where_an_input_changed(
    small_store: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = run_session(small_store, CONFIG)
    assert first.notes["signal_cache"] == {
        "trading_ai": "reused for 0 of 2 symbols, computed for AAA, BBB",
        "lava_ai": "computed",
        "lgbm_ai": "computed",
    }
    assert cache_rows(small_store) == {
        ("trading_ai", "AAA", first.session_id),
        ("trading_ai", "BBB", first.session_id),
        ("lava_ai", None, first.session_id),
        ("lgbm_ai", None, first.session_id),
    }

    again = run_session(small_store, CONFIG)
    assert again.notes["signal_cache"] == {
        "lava_ai": f"reused (computed by session {first.session_id})",
        "lgbm_ai": f"reused (computed by session {first.session_id})",
        "trading_ai": "reused for 2 of 2 symbols, computed for none",
    }
    pd.testing.assert_frame_equal(
        trades_of(small_store, again.session_id), trades_of(small_store, first.session_id)
    )
    shown = format_session_view(get_session_view(small_store, again.session_id))
    assert f"  signals: lava_ai reused (computed by session {first.session_id})" in shown

    # One bar of BBB changes: BBB's TradingAI signals and the pooled models are recomputed,
    # AAA's TradingAI signals are reused.
    last_bbb = small_store.execute(
        "SELECT MAX(ts) FROM market_bars WHERE symbol = 'BBB'"
    ).fetchone()[0]
    small_store.execute(
        "UPDATE market_bars SET close = close * 1.01 WHERE symbol = 'BBB' AND ts = ?", (last_bbb,)
    )
    changed = run_session(small_store, CONFIG)
    assert changed.notes["signal_cache"] == {
        "trading_ai": "reused for 1 of 2 symbols, computed for BBB",
        "lava_ai": "computed",
        "lgbm_ai": "computed",
    }
    new_rows = cache_rows(small_store) - cache_rows_before(first, small_store)
    assert {(m, s) for m, s, _ in new_rows} == {
        ("trading_ai", "BBB"),
        ("lava_ai", None),
        ("lgbm_ai", None),
    }

    # What the cache served equals what a session without the cache computes.
    monkeypatch.setenv("RL_PIPELINE_SIGNAL_CACHE", "0")
    fresh = run_session(small_store, CONFIG)
    assert "signal_cache" not in fresh.notes
    pd.testing.assert_frame_equal(
        trades_of(small_store, fresh.session_id), trades_of(small_store, changed.session_id)
    )
    monkeypatch.delenv("RL_PIPELINE_SIGNAL_CACHE")

    # A setting of one model changes its key only.
    tuned = CONFIG.model_copy(
        update={
            "models": CONFIG.models.model_copy(
                update={"lgbm_ai": CONFIG.models.lgbm_ai.model_copy(update={"n_estimators": 50})}
            )
        }
    )
    retuned = run_session(small_store, tuned)
    assert retuned.notes["signal_cache"]["lgbm_ai"] == "computed"
    assert retuned.notes["signal_cache"]["lava_ai"].startswith("reused")
    assert (
        retuned.notes["signal_cache"]["trading_ai"]
        == "reused for 2 of 2 symbols, computed for none"
    )


def cache_rows_before(first, conn: sqlite3.Connection) -> set[tuple[str, str | None, str]]:
    return {row for row in cache_rows(conn) if row[2] == first.session_id}
