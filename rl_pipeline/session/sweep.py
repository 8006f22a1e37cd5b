"""Use case: a parameter sweep — a grid over the update rule, its learning rate,
reward/punishment multipliers, weight bounds and the ensemble threshold, replayed on the stored
signals of one completed session, each point with its P&L, Sharpe and bootstrap verdicts against
static and equal weights, ranked, with the multiple-testing warning the best of N points needs
(docs/SEMANTICS.md).

A point costs a small fraction of a session: the session's market window, features and model
signals are rebuilt once (the signals from the signal cache, computed once if missing), the
models' trades do not depend on the weights, and every point only learns the weights and replays
the ensemble (the same functions as the session report's rule tournament). A sweep creates no
session and never touches the live weights; it is stored in one transaction when it has run.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd
import pydantic

from rl_pipeline.config import SessionConfig
from rl_pipeline.features.technical import build_features
from rl_pipeline.rl.rules import rule_names
from rl_pipeline.rl.weight_update import WeightRule, session_start_weights
from rl_pipeline.session import stages
from rl_pipeline.session.report import (
    EnsembleRun,
    baseline_runs,
    replay_rule,
    rule_result,
    signal_matrices,
    verdict,
)
from rl_pipeline.session.types import SessionHandle
from rl_pipeline.store import sessions, sweeps
from rl_pipeline.timestamps import epoch_iso_z, iso_z, readable_id
from rl_pipeline.weights.learning import LearningInputs, learning_inputs

log = logging.getLogger("rl_pipeline.sweep")

MAX_POINTS = 5_000
FAMILY_ALPHA = 0.05  # the error rate the Bonferroni view holds for the whole grid
RANKING = "total_pnl descending, then sharpe descending (none last), then point"
VERSUS = {"adaptive_minus_static": "static_initial", "adaptive_minus_equal": "equal"}


class SweepError(ValueError):
    """A sweep that cannot run as asked ("field: why"); nothing is stored."""


@dataclass(frozen=True)
class SweepGrid:
    """The values of each axis; an empty axis holds the session's own value."""

    rule: tuple[str, ...] = ()
    learning_rate: tuple[float, ...] = ()
    reward_multiplier: tuple[float, ...] = ()
    punishment_multiplier: tuple[float, ...] = ()
    min_weight: tuple[float, ...] = ()
    max_weight: tuple[float, ...] = ()
    threshold: tuple[float, ...] = ()

    @classmethod
    def axes(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


def session_settings(config: SessionConfig) -> dict[str, Any]:
    """A session's value of every axis."""
    return {
        "rule": config.weights.rule,
        "learning_rate": config.learning_rate,
        "reward_multiplier": config.reward_multiplier,
        "punishment_multiplier": config.punishment_multiplier,
        "min_weight": config.weights.min_weight,
        "max_weight": config.weights.max_weight,
        "threshold": config.ensemble.threshold,
    }


def point_config(config: SessionConfig, point: dict[str, Any]) -> SessionConfig:
    """``config`` with the axes of ``point``, validated as a session's configuration."""
    document = config.model_dump()
    for name in ("learning_rate", "reward_multiplier", "punishment_multiplier"):
        document[name] = point[name]
    for name in ("rule", "min_weight", "max_weight"):
        document["weights"][name] = point[name]
    document["ensemble"]["threshold"] = point["threshold"]
    return SessionConfig.model_validate(document)


def grid_axes(grid: SweepGrid, config: SessionConfig) -> dict[str, list[Any]]:
    """Every axis' values (repeats dropped, order kept; the session's own where empty), each
    value checked on its own. Raises ``SweepError`` naming the axis."""
    own = session_settings(config)
    axes: dict[str, list[Any]] = {}
    for name in SweepGrid.axes():
        values = list(dict.fromkeys(getattr(grid, name))) or [own[name]]
        for value in values:
            if name == "rule":
                if value not in rule_names():
                    raise SweepError(
                        f"rule: unknown rule {value!r}; registered: {', '.join(rule_names())}"
                    )
            elif not isinstance(value, int | float) or not math.isfinite(value):
                raise SweepError(f"{name}: {value!r} is not a finite number")
        axes[name] = [v if name == "rule" else float(v) for v in values]
    return axes


def grid_points(
    grid: SweepGrid, config: SessionConfig
) -> tuple[dict[str, list[Any]], list[tuple[dict[str, Any], SessionConfig]]]:
    """The axes and every point of the grid with its configuration, each validated as a
    session's own would be. Raises ``SweepError`` naming the field before anything runs."""
    axes = grid_axes(grid, config)
    total = math.prod(len(v) for v in axes.values())
    if total > MAX_POINTS:
        sizes = " x ".join(f"{len(v)} {name}" for name, v in axes.items() if len(v) > 1)
        raise SweepError(f"points: {sizes} = {total} points, at most {MAX_POINTS}")
    points = []
    for values in itertools.product(*axes.values()):
        point = dict(zip(axes, values, strict=True))
        try:
            points.append((point, point_config(config, point)))
        except pydantic.ValidationError as exc:
            error = exc.errors()[0]
            field = _field(error["loc"], error["msg"])
            raise SweepError(f"{field}: {_point_message(error, point)}") from exc
    return axes, points


def _field(loc: tuple[Any, ...], message: str) -> str:
    """The sweep axis a configuration error is about."""
    if loc and loc[-1] in SweepGrid.axes():
        return str(loc[-1])
    if "min_weight" in message:
        return "min_weight"
    if loc and loc[-1] == "rule":
        return "rule"
    return "learning_rate * punishment_multiplier"


def _point_message(error: dict[str, Any], point: dict[str, Any]) -> str:
    shown = ", ".join(f"{k}={v}" for k, v in point.items())
    return f"{error['msg'].removeprefix('Value error, ')} (at the point {shown})"


@dataclass(frozen=True)
class SweepSource:
    """What a sweep reads of its session."""

    session_id: str
    config: SessionConfig
    active: tuple[str, ...]
    weights_before: dict[str, float]
    static_weights: dict[str, float]
    symbols: list[str]
    test_start_ts: int
    test_end_ts: int
    report: dict[str, Any]


def sweep_source(conn: sqlite3.Connection, session_id: str | None) -> SweepSource:
    """The session (default: the latest completed one with a report). Raises ``LookupError``
    for an unknown session, ``SweepError`` for one that cannot be swept."""
    session_id = session_id or sessions.latest_reported_session_id(conn)
    if session_id is None:
        raise LookupError("no completed session to sweep: run a session first")
    row = sessions.status_configuration_report(conn, session_id)
    if row is None:
        raise LookupError(f"session {session_id!r} does not exist")
    summary = json.loads(row["report"]) if row["report"] else {}
    report = summary.get("ensemble_report")
    if row["status"] != "completed" or report is None:
        raise SweepError(
            f"session_id: session {session_id!r} is {row['status']} without an ensemble report; "
            "a sweep needs a completed session that ran its stages"
        )
    window = summary["notes"]["test_window"]
    return SweepSource(
        session_id,
        SessionConfig.model_validate_json(row["configuration"]),
        tuple(summary["active_models"]),
        summary["weights_before"],
        report["static_weights"],
        list(summary["notes"]["symbols"]),
        int(pd.Timestamp(window["start"]).timestamp()),
        int(pd.Timestamp(window["end"]).timestamp()),
        report,
    )


@dataclass(frozen=True)
class SweepData:
    """The session's test bars, signals and trades, rebuilt once for every point."""

    test_bars: pd.DataFrame
    models: list[str]
    s: np.ndarray
    c: np.ndarray
    inputs: LearningInputs
    signal_cache: dict[str, str]


def rebuild(conn: sqlite3.Connection, source: SweepSource, sweep_id: str) -> SweepData:
    """The session's market window, features and model signals (from the signal cache, or
    computed once and cached), and each model's trades; writes no session row."""
    handle = SessionHandle(source.session_id, source.config)
    window = stages.read_market_window(conn, handle, test_end_ts=source.test_end_ts)
    symbols = list(pd.unique(window.bars["symbol"]))
    if window.test_start_ts != source.test_start_ts or symbols != source.symbols:
        raise SweepError(
            f"session_id: the stored bars no longer give session {source.session_id!r}'s test "
            f"window ({', '.join(source.symbols)}); they give {', '.join(symbols)}"
        )
    features = build_features(window.bars)
    signals = stages.model_signals(
        conn,
        sweep_id,
        window,
        features,
        stages.NO_LLM,
        enabled={m: True for m in source.active},
        label=f"sweep {sweep_id} (session {source.session_id})",
    )
    if signals.active != source.active:
        missing = {m: signals.inactive.get(m, "") for m in source.active if m not in signals.active}
        raise SweepError(
            f"session_id: session {source.session_id!r} used models that cannot give signals "
            f"now: {missing}"
        )
    trades, curves = stages.model_trades(source.session_id, signals)
    models = list(signals.active)
    s, c = signal_matrices(signals.signals, models, len(signals.test_bars))
    return SweepData(
        signals.test_bars,
        models,
        s,
        c,
        learning_inputs(trades, curves),
        dict(signals.session.notes.get("signal_cache", {})),
    )


def evaluate_point(
    config: SessionConfig,
    source: SweepSource,
    data: SweepData,
    baselines: dict[float, dict[str, EnsembleRun]],
    family_size: int,
) -> dict[str, Any]:
    """One point: the weights its rule learns from the session's start weights, the adaptive
    ensemble, and the verdicts (95 % and Bonferroni-adjusted for ``family_size`` points) against
    static and equal weights at the point's threshold."""
    rule = WeightRule.from_config(config)
    start = session_start_weights(source.weights_before, data.models, rule)
    path, run = replay_rule(start, data.inputs, rule, config, data.test_bars, data.s, data.c)
    threshold = config.ensemble.threshold
    if threshold not in baselines:
        baselines[threshold] = baseline_runs(
            data.test_bars, source.static_weights, data.models, data.s, data.c, config
        )
    base = baselines[threshold]
    result = rule_result(run, path, base, config)
    adjusted_confidence = 1.0 - FAMILY_ALPHA / family_size
    adjusted = {}
    for name, baseline in VERSUS.items():
        wide = verdict(run, base[baseline], config, adjusted_confidence)
        p = result["verdict"][name]["p_value"]
        adjusted[name] = {
            "confidence": adjusted_confidence,
            "ci_low": wide["ci_low"],
            "ci_high": wide["ci_high"],
            "p_value": None if p is None else min(1.0, p * family_size),
            "answer": wide["answer"],
        }
    result["bonferroni"] = adjusted
    result["static_pnl"] = base["static_initial"].metrics.total_pnl
    result["equal_pnl"] = base["equal"].metrics.total_pnl
    return result


def rank_key(point: dict[str, Any]) -> tuple[float, float, int]:
    """The ranking: total P&L descending, then Sharpe descending (none last), then grid order."""
    sharpe = point["sharpe"]
    return (-point["total_pnl"], math.inf if sharpe is None else -sharpe, point["point"])


def run_sweep(
    conn: sqlite3.Connection,
    grid: SweepGrid,
    session_id: str | None = None,
    sweep_id: str | None = None,
    progress: Callable[[str], None] | None = None,
    progress_every: int = 10,
) -> dict[str, Any]:
    """Run the grid on the session's stored signals and store it; returns ``sweep_view``.
    Invalid grids and sessions are refused (``SweepError``, ``LookupError``) before anything is
    computed or stored."""
    source = sweep_source(conn, session_id)
    axes, points = grid_points(grid, source.config)
    sweep_id = sweep_id or readable_id("sweep-")
    say = progress or log.info
    started = time.perf_counter()
    data = rebuild(conn, source, sweep_id)
    setup_s = time.perf_counter() - started
    say(
        f"sweep {sweep_id}: session {source.session_id} rebuilt in {setup_s:.2f} s "
        f"(signals: {_cache_note(data.signal_cache)}); {len(points)} points"
    )
    own = session_settings(source.config)
    baselines: dict[float, dict[str, EnsembleRun]] = {}
    rows = []
    points_started = time.perf_counter()
    for k, (point, config) in enumerate(points, start=1):
        result = evaluate_point(config, source, data, baselines, len(points))
        rows.append(_row(k, point, result))
        if k % max(progress_every, 1) == 0 or k == len(points):
            elapsed = time.perf_counter() - points_started
            eta = elapsed / k * (len(points) - k)
            say(f"sweep {sweep_id}: {k}/{len(points)} points, {elapsed:.2f} s, ETA {eta:.2f} s")
    points_s = time.perf_counter() - points_started
    for rank, row in enumerate(sorted(rows, key=rank_key), start=1):
        row["rank"] = rank
    session_point = next(
        (row["point"] for row, (point, _) in zip(rows, points, strict=True) if point == own),
        None,
    )
    summary = {
        "ranking": RANKING,
        "session_settings": own,
        "session_point": session_point,
        "session_report": {
            "adaptive_pnl": source.report["ensembles"]["adaptive"]["total_pnl"],
            "static_pnl": source.report["ensembles"]["static_initial"]["total_pnl"],
            "equal_pnl": source.report["ensembles"]["equal"]["total_pnl"],
        },
        "multiple_testing": multiple_testing(rows, source.config),
        "timing": {
            "setup_seconds": setup_s,
            "points_seconds": points_s,
            "seconds_per_point": points_s / len(points),
        },
        "signal_cache": data.signal_cache,
        "test_window": {"start": source.test_start_ts, "end": source.test_end_ts},
    }
    sweeps.insert_sweep(conn, sweep_id, source.session_id, axes, summary, rows)
    return sweep_view(conn, sweep_id)


def _row(k: int, point: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    return {
        "point": k,
        "rank": 0,
        **point,
        "total_pnl": result["total_pnl"],
        "sharpe": result["sharpe"],
        "max_drawdown": result["max_drawdown"],
        "total_trades": result["total_trades"],
        "static_pnl": result["static_pnl"],
        "equal_pnl": result["equal_pnl"],
        "detail": {
            "win_rate": result["win_rate"],
            "final_weights": result["final_weights"],
            "verdict": result["verdict"],
            "bonferroni": result["bonferroni"],
        },
    }


def multiple_testing(rows: list[dict[str, Any]], config: SessionConfig) -> dict[str, Any]:
    """How many points were tried, what that does to the best one, and the Bonferroni view."""
    n = len(rows)
    resamples = config.verdict.resamples
    smallest = min(1.0, n / (resamples + 1))
    passing = {
        name: sum(r["detail"]["bonferroni"][name]["answer"] == "yes" for r in rows)
        for name in VERSUS
    }
    nominal = sum(r["detail"]["verdict"]["adaptive_minus_static"]["answer"] == "yes" for r in rows)
    warning = (
        f"{n} points were tried on the same session: the best of {n} is chosen after the fact, "
        f"so its P&L is optimistic (selection bias) and will likely be lower on new data. "
        f"{nominal} of {n} points beat static weights at 95 % each; with a Bonferroni "
        f"correction for {n} tests (each interval at {100 * (1 - FAMILY_ALPHA / n):.4g} %, "
        f"p x {n}) {passing['adaptive_minus_static']} do against static weights and "
        f"{passing['adaptive_minus_equal']} against equal weights."
    )
    if n > 1 and smallest >= FAMILY_ALPHA:
        warning += (
            f" With {resamples} bootstrap resamples the smallest adjusted p-value is "
            f"{smallest:.3g}: no point can pass; raise verdict.resamples or try fewer points."
        )
    if n > 1:
        warning += " Confirm the chosen settings on a later period (a campaign) before using them."
    return {
        "points": n,
        "family_alpha": FAMILY_ALPHA,
        "bonferroni_confidence": 1 - FAMILY_ALPHA / n,
        "nominal_yes_vs_static": nominal,
        "bonferroni_yes_vs_static": passing["adaptive_minus_static"],
        "bonferroni_yes_vs_equal": passing["adaptive_minus_equal"],
        "smallest_adjusted_p": smallest,
        "warning": warning,
    }


def _cache_note(outcome: dict[str, str]) -> str:
    return "; ".join(f"{m} {what}" for m, what in outcome.items()) or "signal cache off"


def sweep_view(conn: sqlite3.Connection, sweep_id: str | None = None) -> dict[str, Any]:
    """A stored sweep (default: the latest): the ranked table, best first, and its warning.
    Raises ``LookupError`` when there is none."""
    sweep_id = sweep_id or sweeps.latest_sweep_id(conn)
    row = sweeps.get_sweep(conn, sweep_id) if sweep_id else None
    if row is None:
        raise LookupError(
            f"sweep {sweep_id!r} does not exist" if sweep_id else "no sweep has run yet"
        )
    summary = json.loads(row["summary"])
    window = summary.pop("test_window")
    table = []
    for point in sweeps.ranked_points(conn, sweep_id):
        detail = point.pop("detail")
        table.append({**point, **detail})
    return {
        "sweep_id": row["sweep_id"],
        "session_id": row["session_id"],
        "created_at": iso_z(row["created_at"]),
        "points": row["points"],
        "grid": json.loads(row["grid"]),
        "test_start": epoch_iso_z(window["start"]),
        "test_end": epoch_iso_z(window["end"]),
        **summary,
        "warning": summary["multiple_testing"]["warning"],
        "table": table,
    }


__all__ = [
    "SweepError",
    "SweepGrid",
    "grid_points",
    "rank_key",
    "run_sweep",
    "sweep_view",
]
