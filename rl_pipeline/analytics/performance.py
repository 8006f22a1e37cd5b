"""Per-model performance: one session's ``performance_metrics`` rows (the latest completed
session by default) beside each model's live weight and its figures over all completed sessions
(each distinct trade counted once where sessions overlap)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rl_pipeline.analytics.duck import (
    STORE,
    fetch_dicts,
    latest_completed_session,
    require_session,
    store_connection,
)
from rl_pipeline.analytics.trades import TIME_FORMAT, distinct_trades

_QUERY = f"""
WITH completed AS (
    SELECT session_id FROM {STORE}.reinforcement_sessions WHERE status = 'completed'
), counted AS ({distinct_trades(" WHERE session_id IN (SELECT session_id FROM completed)")}
), lifetime AS (
    SELECT ai_model_id AS model_id,
           COUNT(*)::BIGINT AS lifetime_trades,
           COALESCE(COUNT(*) FILTER (WHERE pnl > 0) / NULLIF(COUNT(*), 0), 0) AS lifetime_win_rate,
           SUM(pnl) AS lifetime_pnl
    FROM counted
    GROUP BY ai_model_id
), sessions AS (
    SELECT p.model_id, COUNT(*)::BIGINT AS sessions_completed
    FROM {STORE}.performance_metrics p JOIN completed USING (session_id)
    GROUP BY p.model_id
)
SELECT p.model_id, a.model_name, p.session_id, p.win_rate, p.total_pnl, p.avg_trade_pnl,
       p.sharpe_ratio, p.max_drawdown, p.total_trades::BIGINT AS total_trades,
       strftime(p.calculated_at, '{TIME_FORMAT}') AS calculated_at,
       a.current_weight, a.is_active::BOOLEAN AS is_active,
       COALESCE(n.sessions_completed, 0) AS sessions_completed,
       COALESCE(l.lifetime_trades, 0) AS lifetime_trades,
       COALESCE(l.lifetime_win_rate, 0)::DOUBLE AS lifetime_win_rate,
       COALESCE(l.lifetime_pnl, 0)::DOUBLE AS lifetime_pnl
FROM {STORE}.performance_metrics p
JOIN {STORE}.ai_models a USING (model_id)
LEFT JOIN lifetime l USING (model_id)
LEFT JOIN sessions n USING (model_id)
WHERE p.session_id = ?
ORDER BY a.rowid
"""


def model_performance(db_path: Path | str, session_id: str | None = None) -> list[dict[str, Any]]:
    """One row per model for ``session_id`` (default: the latest completed session with
    metrics; no rows when there is none). Raises ``LookupError`` for an unknown session."""
    with store_connection(db_path) as con:
        if session_id is None:
            session_id = latest_completed_session(con, "performance_metrics")
            if session_id is None:
                return []
        else:
            require_session(con, session_id)
        return fetch_dicts(con, _QUERY, [session_id])
