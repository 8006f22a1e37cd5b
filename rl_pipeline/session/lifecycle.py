"""How a session ends: the one ``complete_session`` and the one ``fail_session`` that every path
uses (a stage that raises, a blocking asset check, a run that failed or was killed, a session
whose process died). Failing keeps the session row with its reason and stage, drops every row
the session wrote and its model artifacts, and never touches the live weights."""

from __future__ import annotations

import logging
import shutil
import sqlite3
from pathlib import Path

from rl_pipeline import paths
from rl_pipeline.store import ai_models, results, sessions
from rl_pipeline.store.connection import transaction
from rl_pipeline.store.model_versions import NewVersion, insert_versions_in

log = logging.getLogger(__name__)


def session_artifacts_dir(session_id: str) -> Path:
    """Models trained in a session (and its HTML report) are saved here; removed if it fails."""
    return paths.artifacts_dir() / session_id


def fail_session(
    conn: sqlite3.Connection, session_id: str, reason: str, stage: str | None = None
) -> bool:
    """End a running session as failed: its row keeps the reason (prefixed with the stage, when
    given), every row it wrote and its artifacts are dropped, the live weights stay as they
    are. A session that has already ended is left alone (False)."""
    error = f"stage {stage}: {reason}" if stage else reason
    ended = sessions.mark_failed(conn, session_id, error)
    if ended:
        shutil.rmtree(session_artifacts_dir(session_id), ignore_errors=True)
        log.warning("session %s failed: %s", session_id, error)
    return ended


def fail_orphaned_sessions(conn: sqlite3.Connection) -> list[str]:
    """Sessions left 'running' by a process that no longer exists end as failed."""
    orphaned = sessions.orphaned_sessions(conn)
    for session_id in orphaned:
        fail_session(conn, session_id, "the process running this session ended before it finished")
    return orphaned


WEIGHTS_PUBLISHED = "published"
WEIGHTS_NOT_PUBLISHED = "not published (backtest)"


def complete_session(
    conn: sqlite3.Connection,
    session_id: str,
    report_json: str,
    versions: list[NewVersion],
    live_weights: dict[str, float] | None,
    started_from: dict[str, float] | None = None,
) -> None:
    """In one transaction: the report, the model versions, the new live weights (None: leave
    them, as a backtest does) and status 'completed'.

    Publication is a compare-and-swap: ``live_weights`` go live only if the live weights still
    equal ``started_from``, the vector this session's weights were computed from (required
    when publishing; a campaign passes its own). Otherwise nothing of this transaction is
    written, the refusal and its reason are recorded as the session's weights outcome, and
    :class:`~rl_pipeline.store.ai_models.LiveWeightsChanged` is raised: the session then ends
    as 'failed' through :func:`fail_session` (its rows and artifacts dropped)."""
    if live_weights is not None and started_from is None:
        raise ValueError("started_from: publishing needs the weights the session started from")
    outcome = WEIGHTS_PUBLISHED if live_weights is not None else WEIGHTS_NOT_PUBLISHED
    stage = "completed" if live_weights is not None else "completed (weights not published)"
    try:
        with transaction(conn):
            sessions.save_report_in(conn, session_id, report_json)
            insert_versions_in(conn, versions)
            if live_weights is not None and started_from is not None:
                ai_models.compare_and_publish_in(conn, started_from, live_weights)
                # Its history now follows every change made while it ran (each of which would
                # have refused it), so the chain in insert order holds.
                results.move_history_to_end_in(conn, session_id)
            sessions.mark_completed_in(conn, session_id, stage, outcome)
    except ai_models.LiveWeightsChanged as refused:
        sessions.set_weights_outcome(conn, session_id, f"refused: {refused}")
        raise
