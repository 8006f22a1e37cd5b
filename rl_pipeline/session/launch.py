"""Use case: start a session from the API or the CLI with a few fields overridden, and say how
long it will probably take."""

from __future__ import annotations

import math
import sqlite3
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rl_pipeline.config import SessionConfig
from rl_pipeline.configuration.store import active_session_config
from rl_pipeline.session.requests import start_session
from rl_pipeline.store import sessions

RECENT_SESSIONS = 20  # the estimate follows the machine and data of late, not of months ago


@dataclass(frozen=True)
class LaunchedSession:
    session_id: str
    estimated_duration: int  # whole minutes
    config: SessionConfig


def merged(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` applied field by field: a nested section that is named only
    replaces the fields it names."""
    out = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def session_config_with(conn: sqlite3.Connection, overrides: Mapping[str, Any]) -> SessionConfig:
    """The active stored configuration with ``overrides`` (SessionConfig fields, nested
    sections allowed) applied and the whole validated again; raises
    ``pydantic.ValidationError``. Every run path (Dagster run config, sensors, schedule, CLI,
    API) starts here."""
    base = active_session_config(conn).model_dump()
    return SessionConfig.model_validate(merged(base, overrides))


def estimate_duration_minutes(conn: sqlite3.Connection) -> int:
    """Median wall time of the recent completed sessions, rounded up to whole minutes (at
    least 1; 1 when no session has completed yet)."""
    seconds = [max(s, 0.0) for s in sessions.recent_durations_s(conn, RECENT_SESSIONS)]
    if not seconds:
        return 1
    return max(1, math.ceil(statistics.median(seconds) / 60))


def launch_session(
    conn: sqlite3.Connection, overrides: Mapping[str, Any], requested_by: str
) -> LaunchedSession:
    """Validate the configuration, then queue the session and launch it as a Dagster run
    (returns at once; it waits its turn when the running sessions fill the limit). Nothing is
    stored when the configuration is invalid or the queue is full (``QueueFull``)."""
    config = session_config_with(conn, overrides)
    estimate = estimate_duration_minutes(conn)
    session_id = start_session(conn, config, requested_by, retry_after_s=estimate * 60)
    return LaunchedSession(session_id, estimate, config)
