"""Sessions on the bars users have: interval and calendar detected on import, defaults per
interval, sessions that refuse what they cannot do, features and models that say what they
lack."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rl_pipeline.config import SessionConfig
from rl_pipeline.features.technical import build_features
from rl_pipeline.market.intervals import (
    BarProfile,
    detect_profile,
    resolve_config,
    resolved_values,
)
from rl_pipeline.market.synthetic import generate_default_bars
from rl_pipeline.market_data.importer import import_bar_file
from rl_pipeline.session.stages import run_session
from rl_pipeline.session.status import session_status
from rl_pipeline.session.types import SessionError
from rl_pipeline.store.bars import series_profiles, write_bars
from rl_pipeline_tests.support.cli import cli
from rl_pipeline_tests.support.store_state import session_outcome
from rl_pipeline_tests.support.user_files import (
    hourly_fx_frame,
    write_daily_stock_csv,
    write_hourly_fx_csv,
)

DAY = 86_400
LEARNERS = ("trading_ai", "lava_ai", "lgbm_ai")


def epoch(stamps: pd.Series) -> np.ndarray:
    parsed = pd.to_datetime(stamps, utc=True)
    return ((parsed - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).to_numpy(np.int64)


# -- detection and the defaults table ---------------------------------------------------------


def test_interval_and_calendar_are_detected() -> None:
    days = pd.Series(pd.bdate_range("2023-01-02", periods=300).strftime("%Y-%m-%d"))
    daily = detect_profile(epoch(days))
    assert (daily.interval_seconds, daily.calendar, daily.bars_per_day) == (86_400, "exchange", 1)
    hourly = detect_profile(generate_default_bars(symbols=("A",), days=30)["ts"].to_numpy())
    assert (hourly.interval_seconds, hourly.calendar, hourly.bars_per_day) == (3600, "24/7", 24)
    fx = detect_profile(epoch(hourly_fx_frame(weeks=4)["timestamp"]))
    assert (fx.interval_seconds, fx.calendar) == (3600, "exchange")
    # A gap (a halted week) does not change the interval.
    gappy = np.r_[np.arange(0, 100) * 60, 10**6 + np.arange(0, 100) * 60] + 3 * DAY
    assert detect_profile(gappy).interval_seconds == 60
    assert detect_profile(np.array([5])) is None


def test_hourly_defaults_are_the_ones_the_project_always_had() -> None:
    values = resolved_values(BarProfile(3600, "24/7", 24.0))
    assert values["backtest"] == {"periods_per_year": 365, "history_days": 120}
    assert values["models"]["trading_ai"] == {"fast_window": 24, "slow_window": 96}
    assert values["models"]["lava_ai"] == {
        "train_window_days": 90,
        "retrain_every_days": 7,
        "horizon_bars": 24,
        "min_train_rows": 500,
    }
    assert values["models"]["lgbm_ai"]["min_child_samples"] == 200
    assert values["models"]["mistral_ai"] == {"decision_every_bars": 24}


def test_daily_exchange_defaults_fit_the_rows_a_year_holds() -> None:
    values = resolved_values(BarProfile(86_400, "exchange", 1.0))
    assert values["backtest"]["periods_per_year"] == 252
    lava = values["models"]["lava_ai"]
    # 730 calendar days hold about 504 exchange days: the minimum must be reachable.
    assert lava["min_train_rows"] <= 504 * 0.5
    assert values["backtest"]["history_days"] >= lava["train_window_days"]


def test_fields_the_user_set_are_kept_when_defaults_are_filled() -> None:
    config = SessionConfig(
        backtest={"periods_per_year": 300}, models={"lava_ai": {"min_train_rows": 42}}
    )
    resolved = resolve_config(config, BarProfile(86_400, "exchange", 1.0))
    assert resolved.backtest.periods_per_year == 300
    assert resolved.models.lava_ai.min_train_rows == 42
    assert resolved.models.lava_ai.horizon_bars == 5  # unset: the daily default


def test_profiles_are_stored_on_import(conn: sqlite3.Connection, tmp_path: Path) -> None:
    import_bar_file(conn, write_daily_stock_csv(tmp_path / "ACME.csv", count=100))
    row = conn.execute(
        "SELECT interval_seconds, calendar, bars_per_day FROM bar_series WHERE symbol = 'ACME'"
    ).fetchone()
    assert tuple(row) == (86_400, "exchange", 1.0)
    assert series_profiles(conn, ["ACME"])["ACME"].calendar == "exchange"


# -- features ---------------------------------------------------------------------------------


@pytest.mark.parametrize("volume", ["zero", "constant", "missing"])
def test_uninformative_volume_neutralises_the_feature_and_keeps_rows(volume: str) -> None:
    bars = generate_default_bars(symbols=("A",), days=10, seed=3)
    bars["volume"] = {"zero": 0.0, "constant": 1234.0, "missing": np.nan}[volume]
    features = build_features(bars)
    after_warmup = features.iloc[100:]
    columns = [c for c in features.columns if c.startswith("f_")]
    assert np.isfinite(after_warmup[columns].to_numpy()).all()
    assert (after_warmup["f_volume_z"] == 0.0).all()


def test_real_volume_still_gives_a_z_score() -> None:
    features = build_features(generate_default_bars(symbols=("A",), days=10, seed=3))
    assert features["f_volume_z"].iloc[100:].std() > 0.5


# -- sessions refuse what they cannot do ------------------------------------------------------


def two_symbol_store(conn: sqlite3.Connection) -> None:
    """NEW has 40 days of hourly bars; OLD ended 100 days before NEW's last bar."""
    bars = generate_default_bars(symbols=("NEW",), days=40, seed=1)
    old = generate_default_bars(symbols=("OLD",), days=40, seed=2)
    old["ts"] = old["ts"] - 100 * DAY
    write_bars(conn, pd.concat([bars, old], ignore_index=True), "test")


def test_a_symbol_without_bars_in_the_window_fails_before_training(
    conn: sqlite3.Connection,
) -> None:
    two_symbol_store(conn)
    config = SessionConfig(test_period_days=10, symbols=("NEW", "OLD"))
    with pytest.raises(SessionError, match=r"OLD: no bars in the test window \(last bar 20") as e:
        run_session(conn, config, session_id="s-old", publish=True)
    last_old = pd.Timestamp(
        conn.execute("SELECT MAX(ts) FROM market_bars WHERE symbol = 'OLD'").fetchone()[0],
        unit="s",
        tz="UTC",
    )
    assert last_old.strftime("%Y-%m-%d %H:%M") in str(e.value)
    outcome = session_outcome(conn, "s-old")
    assert outcome["status"] == "failed" and "stage market_bars" in outcome["error"]
    assert conn.execute("SELECT COUNT(*) FROM trade_results").fetchone()[0] == 0


def test_the_test_window_follows_the_requested_symbols(conn: sqlite3.Connection) -> None:
    two_symbol_store(conn)
    config = SessionConfig(test_period_days=10, symbols=("OLD",), backtest={"history_days": 10})
    summary = run_session(conn, config, publish=True)
    last_old = conn.execute("SELECT MAX(ts) FROM market_bars WHERE symbol = 'OLD'").fetchone()[0]
    trades = conn.execute(
        "SELECT MIN(entry_time), MAX(exit_time), COUNT(DISTINCT symbol) FROM trade_results"
    ).fetchone()
    assert trades[2] == 1 and summary.metrics["trading_ai"].total_trades > 0
    # The test window ends at OLD's last bar (a trade exits at most one bar later).
    end = pd.Timestamp(last_old, unit="s")
    assert end - pd.Timedelta(days=10) <= pd.Timestamp(trades[0])
    assert pd.Timestamp(trades[1]) <= end + pd.Timedelta(hours=1)


def test_without_symbols_the_session_lists_the_skipped_ones(conn: sqlite3.Connection) -> None:
    two_symbol_store(conn)
    summary = run_session(
        conn, SessionConfig(test_period_days=10, backtest={"history_days": 10}), "s-all"
    )
    assert summary.notes["symbols"] == ["NEW"]
    assert list(summary.notes["skipped_symbols"]) == ["OLD"]
    assert "no bars in the test window (last bar" in summary.notes["skipped_symbols"]["OLD"]
    status = session_status(conn, "s-all")
    assert "OLD" in status["notes"]["skipped_symbols"]


def test_a_test_period_longer_than_the_data_is_refused(conn: sqlite3.Connection) -> None:
    write_bars(conn, generate_default_bars(symbols=("A",), days=40, seed=1), "test")
    with pytest.raises(SessionError, match="test_period_days 1000 is longer than the stored data"):
        run_session(conn, SessionConfig(test_period_days=1000), publish=True)


def test_a_model_short_of_training_rows_says_so(
    conn: sqlite3.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    write_bars(conn, generate_default_bars(symbols=("A",), days=40, seed=1), "test")
    config = SessionConfig(test_period_days=10, backtest={"history_days": 10})
    with caplog.at_level(logging.WARNING):
        summary = run_session(conn, config, "s-short", publish=True)
    warning = summary.notes["training_warnings"]["lava_ai"]
    assert "too few training rows" in warning and "min_train_rows 500" in warning
    assert summary.metrics["lava_ai"].total_trades == 0
    assert any(
        r.levelno == logging.WARNING and "lava_ai too few training rows" in r.getMessage()
        for r in caplog.records
    )
    status = session_status(conn, "s-short")
    models = {m["model_id"]: m for m in status["models"]}
    assert models["lava_ai"]["training_warning"] == warning
    assert models["trading_ai"]["training_warning"] is None
    stored = json.loads(
        conn.execute("SELECT report FROM session_reports WHERE session_id = 's-short'").fetchone()[
            0
        ]
    )
    assert stored["notes"]["training_warnings"]["lgbm_ai"].startswith("too few training rows")


# -- the README path: init without demo data, own file, session -------------------------------


def start_and_wait(days: int) -> tuple[str, dict]:
    done = cli("session", "start", "--test-period-days", str(days), "--wait", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    status = json.loads(done.stdout)
    return status["session_id"], status


def trades_by_model(status: dict) -> dict[str, int]:
    return {m["model_id"]: m["trades"] for m in status["models"]}


@pytest.mark.slow
def test_a_daily_stock_session_trades_with_the_defaults(db_path: Path, tmp_path: Path) -> None:
    assert cli("init", "--no-default-data").returncode == 0
    stock = write_daily_stock_csv(tmp_path / "ACME.csv", count=780)
    assert cli("data", "import", str(stock)).returncode == 0
    session_id, status = start_and_wait(60)
    assert status["status"] == "completed"
    trades = trades_by_model(status)
    assert all(trades[m] >= 1 for m in LEARNERS), trades
    assert status["notes"]["symbols"] == ["ACME"]
    effective = status["configuration"]
    assert effective["backtest"]["periods_per_year"] == 252
    assert status["notes"]["bar_profile"]["calendar"] == "exchange"
    shown = cli("session", "show", session_id)
    assert "1d interval, exchange calendar" in shown.stdout
    assert "252 periods per year" in shown.stdout


@pytest.mark.slow
def test_an_hourly_fx_session_with_zero_volume_trades(db_path: Path, tmp_path: Path) -> None:
    assert cli("init", "--no-default-data").returncode == 0
    fx = write_hourly_fx_csv(tmp_path / "eurusd.csv", weeks=40)
    assert cli("data", "import", str(fx)).returncode == 0
    _, status = start_and_wait(60)
    assert status["status"] == "completed"
    trades = trades_by_model(status)
    assert trades["lava_ai"] >= 1 and trades["lgbm_ai"] >= 1, trades
    assert status["configuration"]["backtest"]["periods_per_year"] == 252
