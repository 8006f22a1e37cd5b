"""Time series for the notebook: the full weight vector after every change of a session, each
model's realised equity curve from its closed trades, and the session's stored mark-to-market
curves of the ensembles and the models (the HTML report's curves)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from rl_pipeline.analytics.duck import (
    STORE,
    latest_completed_session,
    require_session,
    store_connection,
)
from rl_pipeline.backtest.trades import EquityCurve

DEFAULT_STARTING_CAPITAL = 100_000.0

# Every model has a row at seq 0 (the session-start vector); later seqs hold only the models that
# changed, so each (seq, model) takes the model's last value at or before that seq (ASOF join).
_WEIGHTS = f"""
WITH h AS (
    SELECT CAST(json_extract(trade_context, '$.seq') AS BIGINT) AS seq, model_id, new_weight,
           updated_at
    FROM {STORE}.model_weight_history WHERE session_id = ?
),
steps AS (SELECT seq, MAX(updated_at) AS time FROM h GROUP BY seq),
grid AS (SELECT * FROM steps CROSS JOIN (SELECT DISTINCT model_id FROM h))
SELECT grid.seq, grid.time, grid.model_id, h.new_weight AS weight
FROM grid ASOF JOIN h ON grid.model_id = h.model_id AND grid.seq >= h.seq
ORDER BY grid.seq, grid.model_id
"""

_EQUITY = f"""
SELECT ai_model_id AS model_id, exit_time AS time, trade_id, pnl,
       ? + SUM(pnl) OVER (PARTITION BY ai_model_id ORDER BY exit_time, entry_time, trade_id
                          ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS equity
FROM {STORE}.trade_results WHERE session_id = ?
ORDER BY model_id, exit_time, entry_time, trade_id
"""


def _session(con, session_id: str | None, having: str) -> str | None:
    if session_id is None:
        return latest_completed_session(con, having)
    require_session(con, session_id)
    return session_id


def weight_evolution(db_path: Path | str, session_id: str | None = None) -> pd.DataFrame:
    """Columns ``seq, time, model_id, weight``: every model's weight after each change of the
    session (default: the latest completed one), rebuilt from ``model_weight_history`` alone."""
    with store_connection(db_path) as con:
        sid = _session(con, session_id, "model_weight_history")
        if sid is None:
            return pd.DataFrame(columns=["seq", "time", "model_id", "weight"])
        return con.execute(_WEIGHTS, [sid]).df()


def equity_curves(db_path: Path | str, session_id: str | None = None) -> pd.DataFrame:
    """Columns ``model_id, time, trade_id, pnl, equity``: each model's starting capital plus the
    PnL of its trades closed so far, at each exit (realised equity, in the session's order of
    closed trades; the metrics' drawdown uses the mark-to-market curve instead)."""
    with store_connection(db_path) as con:
        sid = _session(con, session_id, "trade_results")
        if sid is None:
            return pd.DataFrame(columns=["model_id", "time", "trade_id", "pnl", "equity"])
        row = con.execute(
            "SELECT CAST(json_extract(configuration, '$.backtest.starting_capital') AS DOUBLE) "
            f"FROM {STORE}.reinforcement_sessions WHERE session_id = ?",
            [sid],
        ).fetchone()
        capital = row[0] if row and row[0] is not None else DEFAULT_STARTING_CAPITAL
        return con.execute(_EQUITY, [capital, sid]).df()


def session_equity(db_path: Path | str, session_id: str | None = None) -> dict[str, EquityCurve]:
    """The session's (default: the latest completed one with curves) mark-to-market equity
    curves by name: ``adaptive``, ``static_initial``, ``equal`` and each model id."""
    with store_connection(db_path) as con:
        sid = _session(con, session_id, "session_curves")
        if sid is None:
            return {}
        frame = con.execute(
            f"SELECT curve, ts, equity FROM {STORE}.session_curves WHERE session_id = ? "
            "ORDER BY curve, ts",
            [sid],
        ).df()
        capital = con.execute(
            "SELECT CAST(json_extract(configuration, '$.backtest.starting_capital') AS DOUBLE) "
            f"FROM {STORE}.reinforcement_sessions WHERE session_id = ?",
            [sid],
        ).fetchone()[0]
    capital = DEFAULT_STARTING_CAPITAL if capital is None else capital
    return {
        name: EquityCurve(part["ts"].to_numpy(), part["equity"].to_numpy(), capital)
        for name, part in frame.groupby("curve", sort=False)
    }


def session_report(db_path: Path | str, session_id: str | None = None) -> dict[str, Any] | None:
    """The stored summary and ensemble report of a session (default: the latest completed)."""
    with store_connection(db_path) as con:
        sid = _session(con, session_id, "session_reports")
        if sid is None:
            return None
        row = con.execute(
            f"SELECT report FROM {STORE}.session_reports WHERE session_id = ?", [sid]
        ).fetchone()
    return json.loads(row[0]) if row else None


def session_list(db_path: Path | str) -> pd.DataFrame:
    """Every session, newest first: id, status, start/end, parameters and its trade count."""
    with store_connection(db_path) as con:
        return con.execute(
            "SELECT s.session_id, s.status, s.start_time, s.end_time, s.test_period_days, "
            "s.learning_rate, s.reward_multiplier, s.punishment_multiplier, "
            f"(SELECT COUNT(*) FROM {STORE}.trade_results t WHERE t.session_id = s.session_id) "
            f"AS trades FROM {STORE}.reinforcement_sessions s "
            "ORDER BY s.start_time DESC, s.rowid DESC"
        ).df()
