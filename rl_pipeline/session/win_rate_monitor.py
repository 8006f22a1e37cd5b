"""Use case: watch the live ensemble's win rate across recent sessions."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from rl_pipeline.store import sessions


@dataclass(frozen=True)
class WinRateReading:
    latest_session_id: str | None
    rolling_win_rate: float | None
    sessions: int


def ensemble_win_rate(conn: sqlite3.Connection, window: int) -> WinRateReading:
    """Mean win rate of the adaptive ensemble over the last ``window`` completed sessions that
    have an ensemble report (weight-update replays have none)."""
    rows = sessions.completed_reports(conn)
    rates, latest = [], None
    for session_id, report in rows:
        ensemble = json.loads(report).get("ensemble_report")
        if not ensemble:
            continue
        latest = latest or session_id
        rates.append(ensemble["ensembles"]["adaptive"]["win_rate"])
        if len(rates) == window:
            break
    mean = sum(rates) / len(rates) if rates else None
    return WinRateReading(latest, mean, len(rates))
