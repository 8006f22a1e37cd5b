"""Use case: one reinforcement session, as stages that Dagster assets, the CLI and plain Python
call alike. Any stage that raises ends the session as 'failed' with the error, and drops every
row (and model artifact) the session had written."""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import sqlite3
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from rl_pipeline.backtest.metrics import PerformanceMetrics, compute_metrics
from rl_pipeline.backtest.trades import Costs, EquityCurve, equity_curve, simulate_trades
from rl_pipeline.config import SessionConfig
from rl_pipeline.features.technical import build_features
from rl_pipeline.market.intervals import HOURLY_24_7, resolve_config, session_profile
from rl_pipeline.models.base import LLMEndpoint, ModelContext, Signals
from rl_pipeline.models.registry import build_model, model_specs
from rl_pipeline.models.walk_forward import feature_matrix, run_fits
from rl_pipeline.operations_config import OperationsConfig
from rl_pipeline.parallel.session_executor import (
    fit_executor,
    prepare_running_workers,
    prestart_for,
    running_executor,
)
from rl_pipeline.reporting.session_html import ReportInputs, render_session_report
from rl_pipeline.rl.weight_update import WeightRule, session_start_weights
from rl_pipeline.session.bar_reading import read_window_bars
from rl_pipeline.session.checks import weight_vector_problems
from rl_pipeline.session.lifecycle import (
    complete_session,
    fail_orphaned_sessions,
    fail_session,
    session_artifacts_dir,
)
from rl_pipeline.session.report import build_report_and_curves, empty_curve
from rl_pipeline.session.rows import history_rows, metric_rows, trade_rows
from rl_pipeline.session.signal_cache import SignalCache
from rl_pipeline.session.types import (
    MarketWindow,
    MetricsOutcome,
    ModelSignals,
    SessionError,
    SessionHandle,
    SessionSummary,
    TradeOutcome,
    WeightOutcome,
)
from rl_pipeline.store import ai_models, results, sessions
from rl_pipeline.store.bars import bar_ranges, series_profiles
from rl_pipeline.store.llm_cache import SqliteAnswerCache
from rl_pipeline.store.model_versions import NewVersion
from rl_pipeline.timestamps import epoch_iso_z, format_time, readable_id
from rl_pipeline.weights.learning import learn_weights, learning_inputs
from rl_pipeline.weights.versions import session_versions

SECONDS_PER_DAY = 86_400
log = logging.getLogger(__name__)
NO_LLM = (None, "no Mistral server requested for this session")
LONG_STAGE_S = 2.0  # fits running longer than this log their progress


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
                fail_session(conn, session_id, detail, stage=name)
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
    fail_orphaned_sessions(conn)
    session_id = session_id or readable_id()
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
    conn: sqlite3.Connection,
    session_id: str,
    handle: SessionHandle,
    *,
    test_end_ts: int | None = None,
) -> MarketWindow:
    """The session's bars (see :func:`read_market_window`); the effective configuration is
    stored with the session."""
    window = read_market_window(conn, handle, test_end_ts=test_end_ts, on_size=_prestart)
    sessions.set_configuration(conn, session_id, window.session.config.model_dump_json())
    return window


def _prestart(expected_rows: int) -> None:
    # Each walk-forward model fits on up to every loaded row: if that goes to the process
    # pool, its workers boot while the bars are read and the features computed.
    prestart_for(2 * expected_rows, _model_modules)


def _model_modules() -> list[str]:
    """What a pool worker imports ahead of the fits: each model's module and the libraries
    its fits load (``fit_modules``), so no fit pays for an import."""
    modules = {"rl_pipeline.models.walk_forward"}
    for spec in model_specs():
        model = spec.model_class()
        modules.add(model.__module__)
        modules.update(getattr(model, "fit_modules", ()))
    return sorted(modules)


def read_market_window(
    conn: sqlite3.Connection,
    handle: SessionHandle,
    *,
    test_end_ts: int | None = None,
    on_size: Callable[[int], None] | None = None,
) -> MarketWindow:
    """The bars of a test window and its history, writing nothing: the window ends at the last
    bar of the symbols (or at ``test_end_ts``); the interval-dependent defaults are filled from
    the symbols' bar interval and calendar. Refuses symbols without bars in the test window and
    a test period longer than the stored data."""
    session_id = handle.session_id
    config = handle.config
    ranges = bar_ranges(conn)
    if not ranges:
        raise SessionError("the store has no market bars: run `rl-pipeline init` or import a file")
    requested = list(dict.fromkeys(config.symbols))
    unknown = [s for s in requested if s not in ranges]
    if unknown:
        raise SessionError(f"symbols: no bars stored for {', '.join(unknown)}")
    candidates = requested or sorted(ranges)
    end = test_end_ts if test_end_ts is not None else max(ranges[s][1] for s in candidates)
    test_start = end - config.test_period_days * SECONDS_PER_DAY + 1
    skipped = {
        s: f"no bars in the test window (last bar {_utc(ranges[s][1])})"
        for s in candidates
        if ranges[s][1] < test_start
    }
    skipped.update(
        {
            s: f"no bars in the test window (first bar {_utc(ranges[s][0])})"
            for s in candidates
            if s not in skipped and ranges[s][0] > end
        }
    )
    if requested and skipped:
        named = "; ".join(f"{s}: {why}" for s, why in skipped.items())
        raise SessionError(
            f"symbols without bars in the test window {_utc(test_start)} .. {_utc(end)}: {named}"
        )
    symbols = [s for s in candidates if s not in skipped]
    if not symbols:
        raise SessionError(
            f"no symbol has bars in the test window {_utc(test_start)} .. {_utc(end)}"
        )
    first = min(ranges[s][0] for s in symbols)
    if test_start < first:
        raise SessionError(
            f"test_period_days {config.test_period_days} is longer than the stored data: the "
            f"test window would start {_utc(test_start)}, but bars of "
            f"{', '.join(symbols)} exist only from {_utc(first)} to {_utc(end)}"
        )
    profiles = series_profiles(conn, symbols)
    profile = session_profile(profiles) if profiles else HOURLY_24_7
    effective = resolve_config(config, profile)
    since = test_start - (effective.backtest.history_days or 0) * SECONDS_PER_DAY
    expected_bars = len(symbols) * (end - since) // max(profile.interval_seconds, 1)
    if on_size is not None:  # about how many bars are read, before reading them
        on_size(expected_bars)
    bars = read_window_bars(conn, symbols, since, end, expected_bars)
    bars["in_test"] = bars["ts"].to_numpy() >= test_start
    notes = {
        **handle.notes,
        "bar_profile": {
            "interval": profile.interval_name,
            "interval_seconds": profile.interval_seconds,
            "calendar": profile.calendar,
            "bars_per_day": profile.bars_per_day,
            "periods_per_year": effective.backtest.periods_per_year,
        },
        "symbols": symbols,
        "skipped_symbols": skipped,
        "test_window": {
            "start": epoch_iso_z(test_start),
            "end": epoch_iso_z(end),
            "days": config.test_period_days,
        },
    }
    for symbol, why in skipped.items():
        log.warning("session %s: symbol %s skipped: %s", session_id, symbol, why)
    return MarketWindow(SessionHandle(session_id, effective, notes), bars, test_start, end)


def _utc(ts: int) -> str:
    return pd.Timestamp(ts, unit="s", tz="UTC").strftime("%Y-%m-%d %H:%M UTC")


@session_stage("features")
def compute_features(
    conn: sqlite3.Connection, session_id: str, window: MarketWindow
) -> pd.DataFrame:
    return build_features(window.bars)


@session_stage("model_signals")
def compute_signals(
    conn: sqlite3.Connection,
    session_id: str,
    window: MarketWindow,
    features: pd.DataFrame,
    llm: tuple[LLMEndpoint | None, str] = NO_LLM,
) -> ModelSignals:
    """Signals of every active model. ``llm`` is the Mistral endpoint, or why there is none."""
    signals = model_signals(
        conn,
        session_id,
        window,
        features,
        llm,
        artifacts_dir=session_artifacts_dir(session_id),
        report=lambda text: sessions.set_progress(conn, session_id, text),
    )
    # Workers that ran the fits draw the report's charts: they load the plotting library
    # while this process replays the weights.
    prepare_running_workers(["rl_pipeline.reporting.charts"])
    return signals


def model_signals(
    conn: sqlite3.Connection,
    run_id: str,
    window: MarketWindow,
    features: pd.DataFrame,
    llm: tuple[LLMEndpoint | None, str],
    *,
    enabled: dict[str, bool] | None = None,
    artifacts_dir: Path | None = None,
    label: str | None = None,
    report: Callable[[str], None] | None = None,
) -> ModelSignals:
    """Signals of every active model (``enabled``: which models to build, default the live
    ``ai_models`` rows), from the signal cache where their inputs match; ``run_id`` (a session
    or a sweep) is recorded as the computer of new cache rows. Writes no row of a session;
    trained models are saved under ``artifacts_dir`` unless it is None. ``label`` names the run
    in the log (default 'session <run_id>'); ``report`` receives the fits' progress."""
    label = label or f"session {run_id}"
    handle = window.session
    context = ModelContext(
        session_id=run_id,
        artifacts_dir=artifacts_dir,
        llm=llm[0],
        llm_unavailable_reason=llm[1],
        answer_cache=SqliteAnswerCache(conn),
    )
    decide = window.bars["in_test"].to_numpy()
    test_bars = window.bars.loc[decide, ["symbol", "ts", "open", "high", "low", "close"]]
    test_bars = test_bars.reset_index(drop=True)
    frames, active, parameters, training, idle = [], [], {}, {}, {}
    warnings: dict[str, str] = {}
    models, inactive = build_models(conn, handle.config, context, enabled)
    cache = (
        SignalCache(conn, run_id, window.bars, window.test_start_ts, window.test_end_ts)
        if OperationsConfig.from_env().signal_cache
        else None
    )
    predictions = _predict_all(
        run_id,
        models,
        features,
        decide,
        cache,
        report=report,
    )
    if cache is not None and cache.outcome:
        told = "; ".join(f"{m} {outcome}" for m, outcome in cache.outcome.items())
        log.info("%s: signals: %s", label, told)
    for model_id, model in models.items():
        predicted = predictions[model_id]
        shortfall = model.training_shortfall()
        if shortfall is not None:
            warnings[model_id] = shortfall_message(shortfall)
            log.warning("%s: %s %s", label, model_id, warnings[model_id])
        parameters[model_id] = model.describe()
        training[model_id] = model.training_record()
        idle[model_id] = model.inaction_reason()
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
    notes = {**handle.notes, "training_warnings": warnings}
    if cache is not None:
        notes["signal_cache"] = dict(cache.outcome)
    handle = dataclasses.replace(handle, notes=notes)
    return ModelSignals(
        handle,
        test_bars,
        pd.concat(frames, ignore_index=True),
        tuple(active),
        inactive,
        parameters,
        training,
        idle,
    )


def build_models(
    conn: sqlite3.Connection,
    config: SessionConfig,
    context: ModelContext,
    enabled: dict[str, bool] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """The registered models active for a session (``enabled``, default the live ``ai_models``
    rows), and why each other one is not."""
    live = enabled
    if live is None:
        live = {r["model_id"]: bool(r["is_active"]) for r in ai_models.live_models(conn)}
    models, inactive = {}, {}
    for spec in model_specs():
        model_id = spec.model_id
        if not live.get(model_id, False):
            inactive[model_id] = "not active in ai_models (is_active is false or no row)"
            continue
        model = build_model(spec, config, context)
        availability = model.availability()
        if not availability.active:
            inactive[model_id] = availability.reason
            continue
        models[model_id] = model
    return models, inactive


def _predict_all(
    session_id: str,
    models: dict[str, Any],
    features: pd.DataFrame,
    decide: Any,
    cache: SignalCache | None = None,
    report: Callable[[str], None] | None = None,
) -> dict[str, Signals]:
    """Every model's signals: from the signal cache where their inputs match, else computed.
    The walk-forward fits of all models are independent tasks, run together on the configured
    executor (see ``rl_pipeline.parallel``); small sessions, whose fits cost less than a
    worker round trip, run them in this process."""
    out: dict[str, Signals] = {}
    plans = {}
    x = None
    for model_id, model in models.items():
        if cache is not None and model.signal_cache_scope == "pooled":
            found = cache.lookup_pooled(model, features, decide)
            if found is not None:
                out[model_id] = found
                continue
        if _plans(model):
            if x is None:
                x = feature_matrix(features)  # one matrix for every model's fits
            plans[model_id] = model.plan(features, decide, x)
    fits = [task for plan in plans.values() for task in plan.fits]
    executor = fit_executor(sum(len(t.y_train) for t in fits))
    started = time.perf_counter()

    step = max(1, len(fits) // 10)  # about ten progress lines per session

    def progress(done: int, total: int) -> None:
        elapsed = time.perf_counter() - started
        eta = elapsed / done * (total - done)
        if done % step and done != total:
            return
        # Progress lines only for fits that take a while; always one line when they end.
        if done == total or elapsed >= LONG_STAGE_S:
            log.info(
                "session %s: walk-forward fits %d/%d on %s (%d workers), %.1f s, ETA %.1f s",
                session_id, done, total, executor.name, executor.workers, elapsed, eta,
            )  # fmt: skip
        if report is not None:
            report(f"walk-forward fits {done}/{total}, {elapsed:.0f} s, ETA {eta:.0f} s")

    fitted = run_fits(executor, fits, progress)
    for model_id, model in models.items():
        if model_id in out:
            continue
        if model_id in plans:
            n = len(plans[model_id].fits)
            out[model_id] = model.complete(plans[model_id], fitted[:n])
            fitted = fitted[n:]
            if cache is not None:
                cache.store_pooled(model, features, decide, out[model_id])
        elif cache is not None:
            out[model_id] = cache.predict(model, features, decide, model.predict)
        else:
            out[model_id] = model.predict(features, decide)
    return out


def _plans(model: Any) -> bool:
    return hasattr(model, "plan") and hasattr(model, "complete")


def shortfall_message(shortfall: dict[str, Any]) -> str:
    """What a model short of training rows did, with the numbers."""
    return (
        f"too few training rows: flat in {shortfall['flat_periods']} of "
        f"{shortfall['periods']} retrain periods, which had {shortfall['fewest_train_rows']} to "
        f"{shortfall['most_train_rows']} rows in the {shortfall['train_window_days']}-day "
        f"training window (min_train_rows {shortfall['min_train_rows']}; or a single label class)"
    )


@session_stage("trade_results")
def run_winrate_test(
    conn: sqlite3.Connection, session_id: str, signals: ModelSignals
) -> TradeOutcome:
    """Each active model trades its own signals; the trades replace the session's trades."""
    trades, curves = model_trades(session_id, signals)
    results.replace_trades(conn, session_id, trades)
    return TradeOutcome(signals.session, trades, curves, signals)


def model_trades(
    session_id: str, signals: ModelSignals
) -> tuple[pd.DataFrame, dict[str, EquityCurve]]:
    """Each active model's trades of its own signals (rows of ``trade_results`` with ids of
    ``session_id``, in exit order) and its equity curve; writes nothing."""
    config = signals.session.config
    costs = Costs(config.costs.fee_bps, config.costs.slippage_bps)
    size = config.backtest.trade_size
    bars = signals.test_bars
    codes = pd.factorize(bars["symbol"])[0]
    open_, close, ts = bars["open"].to_numpy(), bars["close"].to_numpy(), bars["ts"].to_numpy()
    frames, curves = [], {}
    for model_id in signals.active:
        rows = signals.signals[signals.signals["model_id"] == model_id]
        kernel = simulate_trades(
            codes,
            open_,
            close,
            rows["signal"].to_numpy(),
            rows["confidence"].to_numpy(),
            costs,
            size,
        )
        curves[model_id] = equity_curve(
            codes, ts, close, kernel, costs, size, config.backtest.starting_capital
        )
        frames.append(trade_rows(session_id, model_id, bars, kernel, costs, size))
    trades = pd.concat(frames, ignore_index=True).sort_values(
        ["exit_time", "entry_time", "trade_id"], ignore_index=True
    )
    return trades, curves


@session_stage("model_weights")
def apply_reinforcement(
    conn: sqlite3.Connection,
    session_id: str,
    outcome: TradeOutcome,
    start_weights: dict[str, float] | None = None,
) -> WeightOutcome:
    """Learn the weights with the session's rule (per closed trade in exit order, or per
    period); log every change. The session starts from the live weights unless
    ``start_weights`` are given (a campaign passes the previous session's final weights)."""
    config = outcome.session.config
    rule = WeightRule.from_config(config)
    live = ai_models.live_weights(conn)
    start = session_start_weights(start_weights or live, outcome.signals.active, rule)
    path = learn_weights(start, learning_inputs(outcome.trades, outcome.curves), rule, config)
    not_acting = {
        m: outcome.signals.idle_reasons.get(m, "it made no trade with a non-zero pnl")
        for m in outcome.signals.active
        if m not in path.acted
    }
    for model_id, reason in not_acting.items():
        log.warning(
            "session %s: %s did not act (%s); its weight stays %.6f",
            session_id,
            model_id,
            reason,
            start[model_id],
        )
    start_time = format_time(outcome.signals.test_bars["ts"].iloc[:1].to_numpy())[0]
    before = start_weights or live
    rows = history_rows(session_id, path, before, start_time)
    results.replace_weight_history(conn, session_id, rows)
    return WeightOutcome(outcome.session, path, len(rows), live, not_acting, before)


def check_weights(weights: dict[str, float], active: tuple[str, ...], rule: WeightRule) -> None:
    """Raise unless the weights may go live (the rules of the weights_valid asset check)."""
    problems = weight_vector_problems(weights, active, rule)
    if problems:
        raise SessionError(f"check failed: {'; '.join(problems)}")


def trained_versions(session_id: str, signals: ModelSignals) -> list[NewVersion]:
    return [
        NewVersion(
            model_id=model_id,
            kind="trained",
            session_id=session_id,
            weight=None,
            parameters={**signals.parameters[model_id], "cutoff_ts": artifact.cutoff_ts},
            artifact_path=artifact.path,
            artifact_sha256=artifact.sha256,
            metrics=artifact.metrics,
        )
        for model_id, artifacts in signals.training.items()
        for artifact in artifacts
    ]


def session_report_path(session_id: str) -> Path:
    """The session's HTML report, beside its model artifacts (removed with them if it fails)."""
    return session_artifacts_dir(session_id) / "report.html"


def write_session_report(
    session_id: str,
    summary_text: str,
    outcome: TradeOutcome,
    weights: WeightOutcome,
    measured: MetricsOutcome,
) -> Path:
    ts = outcome.signals.test_bars["ts"]
    page = render_session_report(
        ReportInputs(
            session_id,
            json.loads(summary_text),
            measured.ensemble_curves,
            outcome.curves,
            weights.path,
            int(ts.min()) if len(ts) else 0,
            int(ts.max()) if len(ts) else 0,
            outcome.trades,
        ),
        running_executor(),
    )
    path = session_report_path(session_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


@session_stage("performance_metrics")
def record_metrics(
    conn: sqlite3.Connection,
    session_id: str,
    outcome: TradeOutcome,
    weights: WeightOutcome,
    static_weights: dict[str, float] | None = None,
) -> MetricsOutcome:
    """Per-model metrics and the ensemble report; the metrics replace the session's rows.
    ``static_weights``: the report's fixed-weights baseline (default: the start weights)."""
    config = outcome.session.config
    metrics: dict[str, PerformanceMetrics] = {}
    for model_id in weights.path.final:
        pnl = outcome.trades.loc[outcome.trades["ai_model_id"] == model_id, "pnl"].to_numpy()
        curve = outcome.curves.get(model_id, empty_curve(config))
        metrics[model_id] = compute_metrics(pnl, curve, config.backtest.periods_per_year)
    report, ensemble_curves = build_report_and_curves(
        outcome.signals.test_bars,
        outcome.signals.signals,
        weights.path,
        metrics,
        config,
        outcome.trades,
        outcome.curves,
        weights.not_acting,
        static_weights,
    )
    results.replace_metrics(conn, session_id, metric_rows(session_id, metrics))
    both = {**ensemble_curves, **outcome.curves}
    results.replace_curves(conn, session_id, {n: (c.ts, c.equity) for n, c in both.items()})
    return MetricsOutcome(outcome.session, metrics, report, ensemble_curves)


@session_stage("live_weights")
def finish_session(
    conn: sqlite3.Connection,
    session_id: str,
    outcome: TradeOutcome,
    weights: WeightOutcome,
    measured: MetricsOutcome,
    publish: bool = True,
) -> SessionSummary:
    """The checks, then in one transaction: the report, model versions, the new live weights
    (unless ``publish`` is false: a backtest leaves them untouched) and status 'completed'."""
    config = outcome.session.config
    check_weights(weights.path.final, outcome.signals.active, WeightRule.from_config(config))
    summary = SessionSummary(
        session_id,
        measured.metrics,
        weights.started_from or weights.live_before,
        weights.path.final if publish else weights.live_before,
        outcome.signals.active,
        outcome.signals.inactive,
        measured.report,
        weights.not_acting,
        weights.path.final,
        outcome.signals.session.notes,
    )
    versions = trained_versions(session_id, outcome.signals)
    if publish:
        versions += session_versions(
            session_id, outcome.signals, weights.path.final, measured.metrics
        )
    summary_text = summary_json(summary, outcome.signals.parameters)
    write_session_report(session_id, summary_text, outcome, weights, measured)
    complete_session(
        conn,
        session_id,
        summary_text,
        versions,
        weights.path.final if publish else None,
        started_from=weights.live_before,
    )
    return summary


def measure_and_finish(
    conn: sqlite3.Connection, session_id: str, outcome: TradeOutcome, weights: WeightOutcome
) -> SessionSummary:
    """Metrics, report, checks and publication in one call (the plain-Python path)."""
    measured = record_metrics(conn, session_id, outcome, weights)
    return finish_session(conn, session_id, outcome, weights, measured)


def summary_json(summary: SessionSummary, parameters: dict[str, dict[str, Any]]) -> str:
    return json.dumps(
        {
            "session_id": summary.session_id,
            "active_models": list(summary.active),
            "inactive_models": summary.inactive,
            "not_acting_models": summary.not_acting,
            "weights_learned": summary.weights_learned,
            "weights_before": summary.weights_before,
            "weights_after": summary.weights_after,
            "metrics": {m: x.as_dict() for m, x in summary.metrics.items()},
            "ensemble_report": summary.report,
            "parameters": parameters,
            "notes": summary.notes,
        },
    )


def learn_session_weights(
    conn: sqlite3.Connection,
    handle: SessionHandle,
    llm: tuple[LLMEndpoint | None, str] = NO_LLM,
    test_end_ts: int | None = None,
    start_weights: dict[str, float] | None = None,
) -> tuple[MarketWindow, TradeOutcome, WeightOutcome]:
    """The stages of an opened session in order, up to its learned weights (the plain-Python
    path; Dagster runs the same stages as assets)."""
    sid = handle.session_id
    window = load_market_window(conn, sid, handle, test_end_ts=test_end_ts)
    features = compute_features(conn, sid, window)
    signals = compute_signals(conn, sid, window, features, llm)
    outcome = run_winrate_test(conn, sid, signals)
    return window, outcome, apply_reinforcement(conn, sid, outcome, start_weights)


def run_session(
    conn: sqlite3.Connection,
    config: SessionConfig,
    session_id: str | None = None,
    llm: tuple[LLMEndpoint | None, str] = NO_LLM,
    publish: bool = False,
) -> SessionSummary:
    """All stages in order, in this process. The learned weights go live only with
    ``publish=True``; by default (a notebook, a script) the live weights stay as they are."""
    handle = open_session(conn, config, session_id)
    sid = handle.session_id
    _, outcome, weights = learn_session_weights(conn, handle, llm)
    measured = record_metrics(conn, sid, outcome, weights)
    return finish_session(conn, sid, outcome, weights, measured, publish)
