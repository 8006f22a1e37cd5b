"""Use case: the status of one session (or the latest), including one that was requested but
whose Dagster run has not opened it yet ('queued')."""

from __future__ import annotations

import sqlite3
from typing import Any

from rl_pipeline.session.queries import SessionView, get_session_view
from rl_pipeline.session.requests import get_request, launcher_died, queue_position
from rl_pipeline.store import session_requests as queue
from rl_pipeline.store import sessions
from rl_pipeline.timestamps import iso_z


def _latest_pending(conn: sqlite3.Connection) -> sqlite3.Row | None:
    return queue.latest_unopened(conn)


def _latest_start(conn: sqlite3.Connection) -> str | None:
    return sessions.latest_start_time(conn)


def session_status(conn: sqlite3.Connection, session_id: str | None = None) -> dict[str, Any]:
    """Status, stage, error, times (ISO 8601 with Z) and a per-model summary. Raises
    ``LookupError`` for an unknown session (or when nothing was ever requested)."""
    if session_id is None:
        pending = _latest_pending(conn)
        started = _latest_start(conn)
        if pending is not None and (started is None or pending["requested_at"] >= started):
            session_id = pending["session_id"]
    if session_id is not None:
        request = get_request(conn, session_id)
        if request is not None and not sessions.session_exists(conn, session_id):
            dead = launcher_died(conn, session_id)
            return {
                "session_id": session_id,
                "status": "failed" if dead else "queued",
                "stage": f"request {request.status}",
                "error": (
                    f"the launcher (pid {dead}) ended before the session opened; see "
                    f"data/logs/session-{session_id}.log"
                    if dead
                    else None
                ),
                "requested_by": request.requested_by,
                "requested_at": iso_z(request.requested_at),
                "start_time": None,
                "end_time": None,
                "models": [],
                "history_rows": 0,
                "configuration": request.config.model_dump(mode="json"),
                "weights_outcome": None,
                "queue_position": queue_position(conn, session_id),
            }
    view = get_session_view(conn, session_id)
    request = get_request(conn, view.session_id)
    return {
        "session_id": view.session_id,
        "status": view.status,
        "stage": view.stage,
        "progress": view.progress,
        "error": view.error,
        "requested_by": request.requested_by if request else None,
        "requested_at": iso_z(request.requested_at) if request else None,
        "start_time": iso_z(view.start_time),
        "end_time": iso_z(view.end_time),
        "models": model_summary(view),
        "history_rows": view.history_rows,
        "not_acting_models": (view.report or {}).get("not_acting_models", {}),
        "report": (view.report or {}).get("ensemble_report"),
        "configuration": view.configuration,
        "notes": (view.report or {}).get("notes"),
        "weights_outcome": view.weights_outcome,
        "queue_position": None,
    }


def model_summary(view: SessionView) -> list[dict[str, Any]]:
    """Per model: trades so far, and once the session has its report, whether it was active,
    its win rate and PnL and its weight before and after."""
    if not view.report:
        return [{"model_id": m, "trades": int(n)} for m, n in sorted(view.trades_by_model.items())]
    r = view.report
    warnings = (r.get("notes") or {}).get("training_warnings") or {}
    return [
        {
            "model_id": model_id,
            "active": model_id in r["active_models"],
            "inactive_reason": r["inactive_models"].get(model_id),
            "not_acting_reason": r.get("not_acting_models", {}).get(model_id),
            "trades": m["total_trades"],
            "win_rate": m["win_rate"],
            "total_pnl": m["total_pnl"],
            "sharpe_ratio": m.get("sharpe_ratio"),
            "max_drawdown": m.get("max_drawdown"),
            "weight_before": r["weights_before"].get(model_id),
            "weight_after": r["weights_after"].get(model_id),
            "weight_learned": r.get("weights_learned", r["weights_after"]).get(model_id),
            "training_warning": warnings.get(model_id),
        }
        for model_id, m in r["metrics"].items()
    ]
