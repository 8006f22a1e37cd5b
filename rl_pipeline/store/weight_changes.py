"""Weight changes made outside a reinforcement session (manual set, rollback, config import).

``model_weight_history.session_id`` is NOT NULL and references ``reinforcement_sessions``, and the
specification's tables are not changed, so each such change is recorded as a synthetic session
row of its own: status 'completed', ``test_period_days`` 0, no RL parameters, and a configuration
JSON whose ``kind`` is ``manual_weight_change``. Its history rows and model versions point at it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Any

WEIGHT_CHANGE_KIND = "manual_weight_change"

# A WHERE condition true for real reinforcement sessions only (configuration is always JSON).
IS_REINFORCEMENT_SESSION_SQL = (
    f"COALESCE(json_extract(configuration, '$.kind'), '') != '{WEIGHT_CHANGE_KIND}'"
)

# Wall-clock time to the millisecond: several changes can land within one second.
NOW_MS_SQL = "strftime('%Y-%m-%d %H:%M:%f', 'now')"


def insert_change_session_in(
    conn: sqlite3.Connection, session_id: str, configuration: dict[str, Any]
) -> None:
    """The synthetic session row of one weight change; the caller holds the transaction."""
    conn.execute(
        "INSERT INTO reinforcement_sessions (session_id, end_time, test_period_days, "
        "learning_rate, reward_multiplier, punishment_multiplier, status, configuration) "
        "VALUES (?, CURRENT_TIMESTAMP, 0, NULL, NULL, NULL, 'completed', ?)",
        (session_id, json.dumps({"kind": WEIGHT_CHANGE_KIND, **configuration})),
    )


def insert_history_in(
    conn: sqlite3.Connection,
    session_id: str,
    changes: Iterable[tuple[str, float, float]],
    reason: str,
    context: dict[str, Any],
) -> int:
    """One ``model_weight_history`` row per ``(model_id, old, new)``; the caller holds the
    transaction."""
    rows = [
        (
            f"{session_id}-{model_id}",
            session_id,
            model_id,
            old,
            new,
            reason,
            json.dumps({"seq": 0, "kind": WEIGHT_CHANGE_KIND, **context}),
        )
        for model_id, old, new in changes
    ]
    conn.executemany(
        "INSERT INTO model_weight_history (weight_id, session_id, model_id, old_weight, "
        "new_weight, updated_at, reason, trade_context) "
        f"VALUES (?, ?, ?, ?, ?, {NOW_MS_SQL}, ?, ?)",
        rows,
    )
    return len(rows)
