"""Use case: replay a finished session's trades into the live weights (the weight-update job).

A backtest leaves the live weights alone; replaying it later applies the reinforcement rule to
its trades, starting from the weights live now, as a new session of its own: its
model_weight_history rows point at the source trades, and its new weights go live once checked.
"""

from __future__ import annotations

import json
import sqlite3

from rl_pipeline.config import SessionConfig
from rl_pipeline.rl.weight_update import (
    ClosedTrade,
    WeightRule,
    apply_trades,
    session_start_weights,
)
from rl_pipeline.session.lifecycle import complete_session
from rl_pipeline.session.rows import history_rows
from rl_pipeline.session.stages import check_weights, open_session, session_stage
from rl_pipeline.session.types import SessionError, SessionHandle, SessionSummary
from rl_pipeline.store import ai_models, results, sessions
from rl_pipeline.store.model_versions import NewVersion


def source_session(conn: sqlite3.Connection, session_id: str) -> tuple[SessionConfig, list[str]]:
    row = sessions.status_configuration_report(conn, session_id)
    if row is None:
        raise SessionError(f"source_session_id: session {session_id!r} does not exist")
    if row["status"] != "completed" or row["report"] is None:
        raise SessionError(
            f"source_session_id: session {session_id!r} is {row['status']}, "
            "only a completed session can be replayed"
        )
    active = json.loads(row["report"]).get("active_models", [])
    return SessionConfig.model_validate_json(row["configuration"]), active


@session_stage("weight_replay")
def replay_trades(
    conn: sqlite3.Connection,
    session_id: str,
    handle: SessionHandle,
    source_id: str,
    active: list[str],
) -> SessionSummary:
    rule = WeightRule.from_config(handle.config)  # per trade: replay_session_weights checked
    trades = results.read_trades(conn, source_id)
    closed = [
        ClosedTrade(
            t.trade_id,
            t.ai_model_id,
            float(t.pnl),
            float(t.pnl_percent),
            t.exit_time,
            t.entry_time,
            t.symbol,
        )
        for t in trades.itertuples()
    ]
    live = ai_models.live_weights(conn)
    path = apply_trades(session_start_weights(live, active, rule), closed, rule)
    check_weights(path.final, tuple(active), rule)
    start_time = trades["entry_time"].min() if len(trades) else "1970-01-01 00:00:00"
    rows = history_rows(session_id, path, live, start_time)
    report = {
        "kind": "weight_update",
        "source_session_id": source_id,
        "active_models": active,
        "inactive_models": {m: "not active in the source session" for m in live if m not in active},
        "weights_before": live,
        "weights_after": path.final,
        "metrics": {},
        "replayed_trades": len(closed),
        "updates": path.updates,
    }
    results.replace_weight_history(conn, session_id, rows)
    versions = [
        NewVersion(m, "session", session_id, w, {"replayed_from": source_id}, None, None, {})
        for m, w in path.final.items()
    ]
    complete_session(conn, session_id, json.dumps(report), versions, path.final, started_from=live)
    return SessionSummary(session_id, {}, live, path.final, tuple(active), {}, report)


def replay_session_weights(
    conn: sqlite3.Connection,
    source_id: str,
    session_id: str | None = None,
    dagster_run_id: str | None = None,
) -> SessionSummary:
    """Replay ``source_id``'s trades as a new session; returns its summary."""
    config, active = source_session(conn, source_id)
    rule = WeightRule.from_config(config)
    if not rule.period.per_trade:  # refused before anything is written
        raise SessionError(
            f"source_session_id: session {source_id!r} updates every {rule.update_every}, from "
            "each model's mark-to-market equity, which is not stored; run a new session instead "
            "(only per-trade sessions can be replayed from their trades)"
        )
    handle = open_session(conn, config, session_id, dagster_run_id)
    return replay_trades(conn, handle.session_id, handle, source_id, active)


def replay_view(summary: SessionSummary) -> dict[str, object]:
    """What a replay did, for the CLI and the API: the new session, its source, and each
    model's live weight before and after."""
    return {
        "session_id": summary.session_id,
        "source_session_id": summary.report["source_session_id"],
        "replayed_trades": summary.report["replayed_trades"],
        "weights_before": summary.weights_before,
        "weights_after": summary.weights_after,
    }
