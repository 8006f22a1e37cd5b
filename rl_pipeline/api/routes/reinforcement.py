"""``/api/reinforcement``: start a session (a Dagster run, returns at once) and read its status."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Security
from fastapi.responses import FileResponse

from rl_pipeline.api.schemas import (
    SessionStatus,
    StartSessionRequest,
    StartSessionResponse,
    error_responses,
)
from rl_pipeline.api.security import bearer_scheme
from rl_pipeline.api.store import store
from rl_pipeline.session.launch import launch_session
from rl_pipeline.session.queries import session_report_file
from rl_pipeline.session.status import session_status

router = APIRouter(prefix="/api/reinforcement", tags=["reinforcement"])
SessionId = Annotated[str | None, Query(min_length=1, max_length=200)]


@router.post(
    "/start",
    response_model=StartSessionResponse,
    dependencies=[Security(bearer_scheme)],
    responses=error_responses(401, 422, 429),
)
def start(body: StartSessionRequest, request: Request) -> StartSessionResponse:
    """Queue a reinforcement session and launch it as a Dagster run; returns at once."""
    with store(request) as conn:
        launched = launch_session(conn, body.overrides(), "api")
    return StartSessionResponse(
        status=True,
        session_id=launched.session_id,
        estimated_duration=launched.estimated_duration,
    )


@router.get(
    "/report",
    response_class=FileResponse,
    responses={
        200: {
            "description": "the report: one HTML file with its charts inline",
            "content": {"text/html": {"schema": {"type": "string", "format": "binary"}}},
        },
        **error_responses(404, 422, e404="unknown session, or one without a report"),
    },
)
def report(request: Request, session_id: SessionId = None) -> FileResponse:
    """The self-contained HTML report of a completed session (default: the latest); 404 when
    it has none."""
    with store(request) as conn:
        path = session_report_file(conn, session_id)
    return FileResponse(path, media_type="text/html")


@router.get(
    "/status",
    response_model=SessionStatus,
    response_model_exclude_unset=True,
    responses=error_responses(404, 422, e404="unknown session, or none requested yet"),
)
def status(request: Request, session_id: SessionId = None) -> dict[str, Any]:
    """One session (default: the latest): status (queued, running, completed, failed, stopped),
    stage, error, times (UTC, ISO 8601 with Z) and a per-model summary. 404 for an unknown
    session."""
    with store(request) as conn:
        return session_status(conn, session_id)
