"""Use case: read what a session did (status, per-model summary, the error of a failed one)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from rl_pipeline.store import sessions


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
    # What happened to its weights: 'published', 'not published (backtest)' or 'refused: why'
    # (None while it runs, or when it failed before publication).
    weights_outcome: str | None = None


def get_session_view(conn: sqlite3.Connection, session_id: str | None = None) -> SessionView:
    """One session (the latest when ``session_id`` is None). Sessions whose process has died are
    marked failed first, so a status never says 'running' for a session nobody runs."""
    sessions.fail_orphaned_sessions(conn)
    session_id = session_id or sessions.latest_session_id(conn)
    if session_id is None:
        raise LookupError("no session has been run yet")
    row = sessions.get_session(conn, session_id)
    if row is None:
        raise LookupError(f"session {session_id!r} does not exist")
    report_row = conn.execute(
        "SELECT report FROM session_reports WHERE session_id = ?", (session_id,)
    ).fetchone()
    trades_by_model = dict(
        conn.execute(
            "SELECT ai_model_id, COUNT(*) FROM trade_results WHERE session_id = ? "
            "GROUP BY ai_model_id",
            (session_id,),
        ).fetchall()
    )
    history = conn.execute(
        "SELECT COUNT(*) FROM model_weight_history WHERE session_id = ?", (session_id,)
    ).fetchone()[0]
    return SessionView(
        session_id=session_id,
        status=row["status"],
        start_time=row["start_time"],
        end_time=row["end_time"],
        stage=row["stage"],
        error=row["error"],
        report=json.loads(report_row[0]) if report_row else None,
        trades_by_model=trades_by_model,
        history_rows=int(history),
        weights_outcome=row["weights_outcome"],
    )


def format_session_view(view: SessionView) -> str:
    """The short human summary printed by ``make run`` and ``rl-pipeline session show``."""
    lines = [f"session {view.session_id}: {view.status} (started {view.start_time} UTC)"]
    if view.error:
        lines.append(f"  error: {view.error}")
    if view.weights_outcome:
        lines.append(f"  weights: {view.weights_outcome}")
    if view.report:
        r = view.report
        lines.append(
            f"  {'model':<11} {'active':>6} {'trades':>7} {'win rate':>9} {'pnl':>12} "
            f"{'weight before -> after':>26}"
        )
        for model_id, m in r["metrics"].items():
            active = "yes" if model_id in r["active_models"] else "no"
            lines.append(
                f"  {model_id:<11} {active:>6} {m['total_trades']:>7} {m['win_rate']:>9.2%} "
                f"{m['total_pnl']:>12,.2f} "
                f"{r['weights_before'][model_id]:>12.6f} -> {r['weights_after'][model_id]:.6f}"
            )
        for model_id, reason in r["inactive_models"].items():
            lines.append(f"  {model_id} inactive: {reason}")
        lines.append(f"  weight history rows: {view.history_rows}")
        if r.get("ensemble_report"):
            lines.extend(format_ensemble_report(r["ensemble_report"]))
    return "\n".join(lines)


def format_ensemble_report(report: dict[str, Any]) -> list[str]:
    """Did learning pay? The ensembles and each model alone over the same test period."""
    lines = [
        "",
        "  session report (same test period, same costs)",
        f"  {'strategy':<34} {'trades':>7} {'win rate':>9} {'pnl':>12} {'sharpe':>8} {'max dd':>8}",
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
        )
    verdict = "yes" if report["learning_paid"] else "no"
    lines.append(
        f"  learning paid (adaptive beat static initial weights): {verdict} "
        f"({report['adaptive_minus_static']:+,.2f}); regret vs best single model "
        f"({report['best_single_model']}): {report['regret_vs_best_model']:,.2f}"
    )
    return lines
