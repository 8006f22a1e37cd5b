"""Use case: read what a session did (status, per-model summary, the error of a failed one)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rl_pipeline.backtest.metrics import extra_metrics, format_metric
from rl_pipeline.session.lifecycle import WEIGHTS_PUBLISHED, fail_orphaned_sessions
from rl_pipeline.store import results, sessions
from rl_pipeline.timestamps import iso_z, with_iso_z


@dataclass(frozen=True)
class SessionView:
    session_id: str
    status: str
    start_time: str
    end_time: str | None
    stage: str | None
    error: str | None
    report: dict[str, Any] | None
    trades_by_model: dict[str, int]
    history_rows: int
    configuration: dict[str, Any] | None = None  # the effective configuration the session ran
    # What happened to its weights: 'published', 'not published (backtest)' or 'refused: why'
    # (None while it runs, or when it failed before publication).
    weights_outcome: str | None = None
    progress: str | None = None  # how far the running stage has got (fits done, ETA)


def get_session_view(conn: sqlite3.Connection, session_id: str | None = None) -> SessionView:
    """One session (the latest when ``session_id`` is None). Sessions whose process has died are
    marked failed first, so a status never says 'running' for a session nobody runs."""
    fail_orphaned_sessions(conn)
    session_id = session_id or sessions.latest_session_id(conn)
    if session_id is None:
        raise LookupError("no session has been run yet")
    row = sessions.get_session(conn, session_id)
    if row is None:
        raise LookupError(f"session {session_id!r} does not exist")
    report = sessions.read_report(conn, session_id)
    trades_by_model = results.trades_by_model(conn, session_id)
    history = results.history_count(conn, session_id)
    return SessionView(
        session_id=session_id,
        status=row["status"],
        start_time=row["start_time"],
        end_time=row["end_time"],
        stage=row["stage"],
        error=row["error"],
        report=json.loads(report) if report else None,
        trades_by_model=trades_by_model,
        history_rows=int(history),
        configuration=json.loads(row["configuration"]) if row["configuration"] else None,
        weights_outcome=row["weights_outcome"],
        progress=row["progress"],
    )


def session_report_file(conn: sqlite3.Connection, session_id: str | None = None) -> Path:
    """The HTML report of a completed session (default: the latest). Raises ``LookupError``
    for an unknown session or one without a report (failed, running, or from before reports)."""
    from rl_pipeline.session.stages import session_report_path

    view = get_session_view(conn, session_id)
    path = session_report_path(view.session_id)
    if view.status != "completed" or not path.is_file():
        raise LookupError(f"session {view.session_id!r} ({view.status}) has no HTML report")
    return path


def session_view_json(view: SessionView) -> dict[str, Any]:
    """The whole stored view of a session: the summary and, under ``report``, the ensemble
    report (ensembles, tournament, verdict)."""
    summary = dict(view.report or {})
    report = summary.pop("ensemble_report", None)
    return {
        "session_id": view.session_id,
        "status": view.status,
        "start_time": iso_z(view.start_time),
        "end_time": iso_z(view.end_time),
        "stage": view.stage,
        "error": view.error,
        "trades_by_model": view.trades_by_model,
        "history_rows": view.history_rows,
        "weights_outcome": view.weights_outcome,
        "configuration": view.configuration,
        "summary": summary or None,
        "report": report,
    }


def list_session_views(
    conn: sqlite3.Connection, status: str | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    """Reinforcement sessions, newest first (``session list``): id, status, times, test period,
    learning rate, rule, stage, error and trade count. Sessions whose process died are marked
    failed first."""
    fail_orphaned_sessions(conn)
    return [
        with_iso_z(row, "start_time", "end_time")
        for row in sessions.list_sessions(conn, status, limit)
    ]


def format_session_view(view: SessionView) -> str:
    """The short human summary printed by ``make run`` and ``rl-pipeline session show``."""
    lines = [f"session {view.session_id}: {view.status} (started {view.start_time} UTC)"]
    if view.error:
        lines.append(f"  error: {view.error}")
    if view.weights_outcome:
        lines.append(f"  weights: {view.weights_outcome}")
    if view.report:
        r = view.report
        lines.extend(format_configuration(view.configuration, r.get("notes") or {}))
        # The weights the session learned; for a backtest (or a refused publication) the live
        # weights stayed as they were, which is shown beside them.
        learned = r.get("weights_learned") or r["weights_after"]
        published = view.weights_outcome in (None, WEIGHTS_PUBLISHED)
        live_header = "" if published else f" {'live (unchanged)':>16}"
        lines.append(
            f"  {'model':<11} {'active':>6} {'trades':>7} {'win rate':>9} {'pnl':>12} "
            f"{'weight start -> learned':>27}{live_header}"
        )
        for model_id, m in r["metrics"].items():
            active = "yes" if model_id in r["active_models"] else "no"
            live = "" if published else f" {r['weights_after'][model_id]:>16.4f}"
            lines.append(
                f"  {model_id:<11} {active:>6} {m['total_trades']:>7} {m['win_rate']:>9.2%} "
                f"{m['total_pnl']:>12,.2f} "
                f"{r['weights_before'][model_id]:>13.4f} -> "
                f"{learned[model_id]:<10.4f}{live}".rstrip()
            )
        if not r["metrics"] and r.get("weights_before"):  # a weight-update replay
            lines.append("  (a replay of another session's trades: no model ran)")
            for model_id, before in r["weights_before"].items():
                lines.append(
                    f"  {model_id:<11} {'':>6} {'':>7} {'':>9} {'':>12} "
                    f"{before:>13.4f} -> {learned[model_id]:.4f}"
                )
        for model_id, reason in r["inactive_models"].items():
            lines.append(f"  {model_id} inactive: {reason}")
        for model_id, reason in r.get("not_acting_models", {}).items():
            weight = (r.get("ensemble_report") or {}).get("start_weights", {}).get(model_id, 0.0)
            lines.append(f"  {model_id} did not act: {reason}; its weight stays {weight:.6f}")
        lines.extend(format_notes(r.get("notes") or {}))
        lines.append(f"  weight history rows: {view.history_rows}")
        if r.get("ensemble_report"):
            lines.extend(format_ensemble_report(r["ensemble_report"]))
    return "\n".join(lines)


def format_configuration(config: dict[str, Any] | None, notes: dict[str, Any]) -> list[str]:
    """What was tested, in two lines: the window and symbols, then the settings that shape the
    numbers (``session show --config`` prints the whole effective configuration)."""
    lines = []
    window = notes.get("test_window")
    if window:
        symbols = ", ".join(notes.get("symbols") or [])
        lines.append(
            f"  tested: {window['start']} .. {window['end']} ({window['days']} days), "
            f"symbols {symbols}"
        )
    if config:
        w, c = config.get("weights", {}), config.get("costs", {})
        lines.append(
            f"  rule {w.get('rule', w.get('mode'))}, update every {w.get('update_every')}, "
            f"learning rate {config.get('learning_rate')}, "
            f"reward x{config.get('reward_multiplier')}, "
            f"punishment x{config.get('punishment_multiplier')}, fee {c.get('fee_bps')} bps, "
            f"slippage {c.get('slippage_bps')} bps"
        )
    return lines


def format_notes(notes: dict[str, Any]) -> list[str]:
    """The session's bars (interval, calendar, annualisation), skipped symbols and models that
    stayed flat for lack of training rows."""
    lines = []
    profile = notes.get("bar_profile")
    if profile:
        lines.append(
            f"  bars: {profile['interval']} interval, {profile['calendar']} calendar, "
            f"Sharpe annualised with {profile['periods_per_year']} periods per year"
        )
    for symbol, why in (notes.get("skipped_symbols") or {}).items():
        lines.append(f"  symbol {symbol} skipped: {why}")
    for model_id, warning in (notes.get("training_warnings") or {}).items():
        lines.append(f"  WARNING {model_id}: {warning}")
    for model_id, outcome in (notes.get("signal_cache") or {}).items():
        lines.append(f"  signals: {model_id} {outcome}")
    return lines


def format_ensemble_report(report: dict[str, Any]) -> list[str]:
    """Did learning pay? The ensembles and each model alone over the same test period (and
    every further registered metric, after the specification's)."""
    extras = extra_metrics()
    lines = [
        "",
        "  session report (same test period, same costs)",
        f"  {'strategy':<34} {'trades':>7} {'win rate':>9} {'pnl':>12} {'sharpe':>8} {'max dd':>8}"
        + "".join(f" {e.label or e.name:>12}" for e in extras),
    ]
    named = [
        (f"ensemble, {k.replace('_', ' ')} weights", v) for k, v in report["ensembles"].items()
    ]
    named += [(f"{k} alone", v) for k, v in report["models_alone"].items()]
    for name, m in named:
        sharpe = "n/a" if m["sharpe_ratio"] is None else f"{m['sharpe_ratio']:.2f}"
        lines.append(
            f"  {name:<34} {m['total_trades']:>7} {m['win_rate']:>9.2%} "
            f"{m['total_pnl']:>12,.2f} {sharpe:>8} {m['max_drawdown']:>8.2%}"
            + "".join(f" {format_metric(e, m.get(e.name)):>12}" for e in extras)
        )
    lines.extend(format_tournament(report))
    lines.extend(format_verdict(report))
    return lines


def format_interval(v: dict[str, Any]) -> str:
    """A verdict in one line: answer, mean per day, 95 % interval, p-value, days."""
    if v["ci_low"] is None:
        return f"{v['answer']} (fewer than two days)"
    return (
        f"{v['answer']}: mean {v['mean']:+,.2f}/day, 95% CI [{v['ci_low']:+,.2f}, "
        f"{v['ci_high']:+,.2f}], p = {v['p_value']:.3f}, {v['days']} days"
    )


def format_tournament(report: dict[str, Any]) -> list[str]:
    """Every registered rule replayed on the session's signals."""
    if "tournament" not in report:
        return []
    lines = [
        "",
        "  rule tournament (same signals, each rule from the same start weights)",
        f"  {'rule':<12} {'trades':>7} {'pnl':>12} {'sharpe':>8} {'max dd':>8}  "
        f"{'vs static':<13} {'vs equal':<13} final weights",
    ]
    for e in report["tournament"]:
        if "error" in e:
            lines.append(f"  {e['rule']:<12} not run: {e['error']}")
            continue
        sharpe = "n/a" if e["sharpe"] is None else f"{e['sharpe']:.2f}"
        weights = " ".join(f"{m}={w:.3f}" for m, w in e["final_weights"].items() if w > 0)
        mark = "*" if e["rule"] == report["rule"] else " "
        lines.append(
            f" {mark}{e['rule']:<12} {e['total_trades']:>7} {e['total_pnl']:>12,.2f} "
            f"{sharpe:>8} {e['max_drawdown']:>8.2%}  "
            f"{e['verdict']['adaptive_minus_static']['answer']:<13} "
            f"{e['verdict']['adaptive_minus_equal']['answer']:<13} {weights}"
        )
    return lines


def format_verdict(report: dict[str, Any]) -> list[str]:
    best = report["best_single_model"]
    regret = (
        f"regret vs best single model ({best}): {report['regret_vs_best_model']:,.2f}"
        if best
        else "no model traded"
    )
    if "verdict" not in report:  # a report stored before the bootstrap verdict existed
        return [f"  learning paid: {report['learning_paid']}; {regret}"]
    v = report["verdict"]
    return [
        "",
        f"  learning paid ({report['rule']}, updates every {report['update_every']}; paired "
        "block bootstrap of daily P&L):",
        f"    adaptive - static weights: {format_interval(v['adaptive_minus_static'])}",
        f"    adaptive - equal weights:  {format_interval(v['adaptive_minus_equal'])}",
        f"  {regret}",
    ]
