"""Use case: one reinforcement session, as stages that Dagster assets, the CLI and plain Python
call alike. Any stage that raises ends the session as 'failed' with the error, and drops every
row the session had written."""

from __future__ import annotations

import functools
import json
import sqlite3
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from rl_pipeline.backtest.metrics import PerformanceMetrics, compute_metrics
from rl_pipeline.backtest.trades import Costs, EquityCurve, equity_curve, simulate_trades
from rl_pipeline.config import SessionConfig
from rl_pipeline.features.technical import build_features
from rl_pipeline.models.registry import MODEL_FACTORIES, NOT_BUILT_REASON
from rl_pipeline.rl.weight_update import (
    ClosedTrade,
    WeightPath,
    WeightRule,
    apply_trades,
    session_start_weights,
)
from rl_pipeline.store import ai_models, results, sessions
from rl_pipeline.store.bars import last_timestamp, list_symbols, read_bars
from rl_pipeline.store.connection import transaction

SECONDS_PER_DAY = 86_400
WEIGHT_SUM_TOLERANCE = 1e-9


class SessionError(RuntimeError):
    """A session cannot go on; the message says why."""


@dataclass(frozen=True)
class SessionHandle:
    session_id: str
    config: SessionConfig


@dataclass(frozen=True)
class MarketWindow:
    """Bars loaded for a session: history for indicators plus the test period (``in_test``)."""

    session: SessionHandle
    bars: pd.DataFrame
    test_start_ts: int
    test_end_ts: int


@dataclass(frozen=True)
class ModelSignals:
    """Test-period bars with one ``signal``/``confidence`` row per active model and bar."""

    session: SessionHandle
    test_bars: pd.DataFrame
    signals: pd.DataFrame
    active: tuple[str, ...]
    inactive: dict[str, str]
    parameters: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class TradeOutcome:
    session: SessionHandle
    trades: pd.DataFrame
    curves: dict[str, EquityCurve]
    signals: ModelSignals


@dataclass(frozen=True)
class WeightOutcome:
    session: SessionHandle
    path: WeightPath
    history_rows: int
    live_before: dict[str, float]


@dataclass(frozen=True)
class SessionSummary:
    session_id: str
    metrics: dict[str, PerformanceMetrics]
    weights_before: dict[str, float]
    weights_after: dict[str, float]
    active: tuple[str, ...]
    inactive: dict[str, str] = field(default_factory=dict)


T = TypeVar("T")


def session_stage(name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Record the stage, and fail the session (dropping its rows) if the stage raises."""

    def wrap(fn: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(fn)
        def run(conn: sqlite3.Connection, session_id: str, *args: Any, **kwargs: Any) -> T:
            sessions.require_running(conn, session_id)
            sessions.set_stage(conn, session_id, name)
            try:
                return fn(conn, session_id, *args, **kwargs)
            except BaseException as exc:
                detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
                sessions.mark_failed(conn, session_id, f"stage {name}: {detail}")
                raise

        return run

    return wrap


def open_session(
    conn: sqlite3.Connection,
    config: SessionConfig,
    session_id: str | None = None,
    dagster_run_id: str | None = None,
) -> SessionHandle:
    """Create the session row ('running'), owned by this process."""
    sessions.fail_orphaned_sessions(conn)
    session_id = session_id or str(uuid.uuid4())
    sessions.insert_session(
        conn,
        session_id,
        config.test_period_days,
        config.learning_rate,
        config.reward_multiplier,
        config.punishment_multiplier,
        config.model_dump_json(),
        dagster_run_id,
    )
    return SessionHandle(session_id, config)


@session_stage("market_bars")
def load_market_window(
    conn: sqlite3.Connection, session_id: str, handle: SessionHandle
) -> MarketWindow:
    config = handle.config
    stored = list_symbols(conn)
    symbols = list(config.symbols) or stored
    if not symbols:
        raise SessionError("the store has no market bars: run `rl-pipeline init` or import a file")
    unknown = sorted(set(symbols) - set(stored))
    if unknown:
        raise SessionError(f"symbols: no bars stored for {', '.join(unknown)}")
    end = last_timestamp(conn, symbols)
    test_start = end - config.test_period_days * SECONDS_PER_DAY + 1
    since = test_start - config.backtest.history_days * SECONDS_PER_DAY
    bars = read_bars(conn, symbols, since)
    bars["in_test"] = bars["ts"].to_numpy() >= test_start
    return MarketWindow(handle, bars, test_start, end)


@session_stage("features")
def compute_features(
    conn: sqlite3.Connection, session_id: str, window: MarketWindow
) -> pd.DataFrame:
    return build_features(window.bars)


@session_stage("model_signals")
def compute_signals(
    conn: sqlite3.Connection, session_id: str, window: MarketWindow, features: pd.DataFrame
) -> ModelSignals:
    handle = window.session
    live = {r["model_id"]: bool(r["is_active"]) for r in ai_models.live_models(conn)}
    decide = window.bars["in_test"].to_numpy()
    test_bars = window.bars.loc[decide, ["symbol", "ts", "open", "high", "low", "close"]]
    test_bars = test_bars.reset_index(drop=True)
    frames, active, inactive, parameters = [], [], {}, {}
    for model_id, factory in MODEL_FACTORIES.items():
        if factory is None:
            inactive[model_id] = NOT_BUILT_REASON
            continue
        if not live.get(model_id, False):
            inactive[model_id] = "is_active is false in ai_models"
            continue
        model = factory(handle.config)
        availability = model.availability()
        if not availability.active:
            inactive[model_id] = availability.reason
            continue
        predicted = model.predict(features, decide)
        parameters[model_id] = model.describe()
        active.append(model_id)
        frames.append(
            pd.DataFrame(
                {
                    "model_id": model_id,
                    "symbol": test_bars["symbol"],
                    "ts": test_bars["ts"],
                    "signal": predicted.signal[decide],
                    "confidence": predicted.confidence[decide],
                }
            )
        )
    if not active:
        raise SessionError(f"no active model: {inactive}")
    return ModelSignals(
        handle, test_bars, pd.concat(frames, ignore_index=True), tuple(active), inactive, parameters
    )


def format_time(ts: np.ndarray) -> np.ndarray:
    return pd.to_datetime(ts, unit="s", utc=True).strftime("%Y-%m-%d %H:%M:%S").to_numpy()


def trade_frame(
    session_id: str,
    model_id: str,
    bars: pd.DataFrame,
    codes: np.ndarray,
    trades,
    costs: Costs,
    size: float,
) -> pd.DataFrame:
    ts = bars["ts"].to_numpy()
    symbols = bars["symbol"].to_numpy()[trades.entry_index]
    entry_time = format_time(ts[trades.entry_index])
    exit_time = format_time(ts[trades.exit_index])
    decision_time = format_time(ts[trades.decision_index])
    metadata = [
        json.dumps(
            {
                "decision_time": d,
                "entry_open": float(eo),
                "exit_reference": float(xr),
                "exit_reason": "end_of_period" if eop else "signal_change",
                "fees": float(f),
                "fee_bps": costs.fee_bps,
                "slippage_bps": costs.slippage_bps,
                "size": size,
                "quantity": size / float(ef),
            }
        )
        for d, eo, xr, eop, f, ef in zip(
            decision_time,
            trades.entry_raw,
            trades.exit_raw,
            trades.end_of_period,
            trades.fees,
            trades.entry_fill,
            strict=True,
        )
    ]
    return pd.DataFrame(
        {
            "trade_id": [
                f"{session_id}-{model_id}-{s}-{t}"
                for s, t in zip(symbols, ts[trades.entry_index], strict=True)
            ],
            "session_id": session_id,
            "symbol": symbols,
            "entry_time": entry_time,
            "exit_time": exit_time,
            "entry_price": trades.entry_fill,
            "exit_price": trades.exit_fill,
            "direction": np.where(trades.direction > 0, "LONG", "SHORT"),
            "pnl": trades.pnl,
            "pnl_percent": trades.pnl_percent,
            "confidence": trades.confidence,
            "ai_model_id": model_id,
            "metadata": metadata,
        }
    )


@session_stage("trade_results")
def run_winrate_test(
    conn: sqlite3.Connection, session_id: str, signals: ModelSignals
) -> TradeOutcome:
    """Each active model trades its own signals; the trades replace the session's trades."""
    config = signals.session.config
    costs = Costs(config.costs.fee_bps, config.costs.slippage_bps)
    size = config.backtest.trade_size
    bars = signals.test_bars
    codes = pd.factorize(bars["symbol"])[0]
    frames, curves = [], {}
    for model_id in signals.active:
        model_rows = signals.signals[signals.signals["model_id"] == model_id]
        kernel = simulate_trades(
            codes,
            bars["open"].to_numpy(),
            bars["close"].to_numpy(),
            model_rows["signal"].to_numpy(),
            model_rows["confidence"].to_numpy(),
            costs,
            size,
        )
        curves[model_id] = equity_curve(
            codes,
            bars["ts"].to_numpy(),
            bars["close"].to_numpy(),
            kernel,
            costs,
            size,
            config.backtest.starting_capital,
        )
        frames.append(trade_frame(session_id, model_id, bars, codes, kernel, costs, size))
    trades = pd.concat(frames, ignore_index=True).sort_values(
        ["exit_time", "entry_time", "trade_id"], ignore_index=True
    )
    results.replace_trades(conn, session_id, trades)
    return TradeOutcome(signals.session, trades, curves, signals)


def history_rows(
    session_id: str, path: WeightPath, live: dict[str, float], start_time: str
) -> list[tuple]:
    rows = []
    for model_id, new in path.initial.items():
        rows.append(
            (
                f"{session_id}-{0:07d}-{model_id}",
                session_id,
                model_id,
                live[model_id],
                new,
                start_time,
                "session start",
                json.dumps({"seq": 0, "live_weight": live[model_id]}),
            )
        )
    for change in path.changes:
        t = change.trade
        rows.append(
            (
                f"{session_id}-{change.seq:07d}-{change.model_id}",
                session_id,
                change.model_id,
                change.old_weight,
                change.new_weight,
                t.exit_time,
                change.reason,
                json.dumps(
                    {
                        "seq": change.seq,
                        "trade_id": t.trade_id,
                        "trade_model_id": t.model_id,
                        "symbol": t.symbol,
                        "pnl": t.pnl,
                        "pnl_percent": t.pnl_percent,
                        "entry_time": t.entry_time,
                        "exit_time": t.exit_time,
                    }
                ),
            )
        )
    return rows


@session_stage("model_weights")
def apply_reinforcement(
    conn: sqlite3.Connection, session_id: str, outcome: TradeOutcome
) -> WeightOutcome:
    """Reward or punish each model's weight per closed trade, in exit order; log every change."""
    config = outcome.session.config
    rule = WeightRule.from_config(config)
    live = ai_models.live_weights(conn)
    start = session_start_weights(live, outcome.signals.active, rule)
    trades = outcome.trades
    closed = [
        ClosedTrade(*row)
        for row in zip(
            trades["trade_id"],
            trades["ai_model_id"],
            trades["pnl"].astype(float),
            trades["pnl_percent"].astype(float),
            trades["exit_time"],
            trades["entry_time"],
            trades["symbol"],
            strict=True,
        )
    ]
    path = apply_trades(start, closed, rule)
    start_time = format_time(np.array([outcome.signals.test_bars["ts"].min()]))[0]
    rows = history_rows(session_id, path, live, start_time)
    results.replace_weight_history(conn, session_id, rows)
    return WeightOutcome(outcome.session, path, len(rows), live)


def check_weights(weights: dict[str, float], active: tuple[str, ...], rule: WeightRule) -> None:
    total = sum(weights[m] for m in active)
    if abs(total - 1.0) > WEIGHT_SUM_TOLERANCE:
        raise SessionError(f"check failed: active weights sum to {total!r}, not 1")
    n = len(active)
    lo, hi = min(rule.min_weight, 1 / n), max(rule.max_weight, 1 / n)
    for m in active:
        if not lo - 1e-12 <= weights[m] <= hi + 1e-12:
            raise SessionError(f"check failed: weight of {m} = {weights[m]} outside [{lo}, {hi}]")
    for m, w in weights.items():
        if m not in active and w != 0.0:
            raise SessionError(f"check failed: inactive model {m} has weight {w}")


@session_stage("performance_metrics")
def complete_session(
    conn: sqlite3.Connection, session_id: str, outcome: TradeOutcome, weights: WeightOutcome
) -> SessionSummary:
    """Metrics per model, the checks, then — in one transaction — metrics, report, the new live
    weights and status 'completed'."""
    config = outcome.session.config
    rule = WeightRule.from_config(config)
    check_weights(weights.path.final, outcome.signals.active, rule)
    metrics: dict[str, PerformanceMetrics] = {}
    empty_curve = EquityCurve(
        np.zeros(0, dtype=np.int64), np.zeros(0), config.backtest.starting_capital
    )
    for model_id in weights.path.final:
        pnl = outcome.trades.loc[outcome.trades["ai_model_id"] == model_id, "pnl"].to_numpy()
        curve = outcome.curves.get(model_id, empty_curve)
        metrics[model_id] = compute_metrics(pnl, curve, config.backtest.periods_per_year)
    summary = SessionSummary(
        session_id,
        metrics,
        weights.live_before,
        weights.path.final,
        outcome.signals.active,
        outcome.signals.inactive,
    )
    metric_rows = [
        (
            f"{session_id}-{m}",
            m,
            session_id,
            x.win_rate,
            x.total_pnl,
            x.avg_trade_pnl,
            x.sharpe_ratio,
            x.max_drawdown,
            x.total_trades,
        )
        for m, x in metrics.items()
    ]
    report = summary_json(summary, outcome.signals.parameters)
    with transaction(conn):
        conn.execute("DELETE FROM performance_metrics WHERE session_id = ?", (session_id,))
        conn.executemany(
            f"INSERT INTO performance_metrics ({', '.join(results.METRIC_COLUMNS)}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            metric_rows,
        )
        conn.execute(
            "INSERT OR REPLACE INTO session_reports (session_id, report) VALUES (?, ?)",
            (session_id, report),
        )
        ai_models.publish_weights_in(conn, weights.path.final)
        conn.execute(
            "UPDATE reinforcement_sessions SET status = 'completed', end_time = CURRENT_TIMESTAMP "
            "WHERE session_id = ?",
            (session_id,),
        )
        conn.execute(
            "UPDATE session_runs SET stage = 'completed', updated_at = CURRENT_TIMESTAMP "
            "WHERE session_id = ?",
            (session_id,),
        )
    return summary


def summary_json(summary: SessionSummary, parameters: dict[str, dict[str, Any]]) -> str:
    return json.dumps(
        {
            "session_id": summary.session_id,
            "active_models": list(summary.active),
            "inactive_models": summary.inactive,
            "weights_before": summary.weights_before,
            "weights_after": summary.weights_after,
            "metrics": {m: x.as_dict() for m, x in summary.metrics.items()},
            "parameters": parameters,
        },
    )


def run_session(
    conn: sqlite3.Connection, config: SessionConfig, session_id: str | None = None
) -> SessionSummary:
    """All stages in order, in this process (the plain-Python path; Dagster runs the same
    stages as assets)."""
    handle = open_session(conn, config, session_id)
    sid = handle.session_id
    window = load_market_window(conn, sid, handle)
    features = compute_features(conn, sid, window)
    signals = compute_signals(conn, sid, window, features)
    outcome = run_winrate_test(conn, sid, signals)
    weights = apply_reinforcement(conn, sid, outcome)
    return complete_session(conn, sid, outcome, weights)
