"""``/api/models``: the live weights (read and set) and per-model performance."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Security

from rl_pipeline.analytics.duck import cached_by_data_version
from rl_pipeline.analytics.performance import model_performance
from rl_pipeline.analytics.worker import run_in_worker
from rl_pipeline.api.schemas import (
    PerformanceResponse,
    ReplayBody,
    ReplayResponse,
    WeightsBody,
    WeightsResponse,
    error_responses,
)
from rl_pipeline.api.security import bearer_scheme
from rl_pipeline.api.store import db_path, store
from rl_pipeline.session.replay import replay_session_weights, replay_view
from rl_pipeline.session.types import SessionError
from rl_pipeline.store.ai_models import LiveWeightsChanged
from rl_pipeline.weights.live import get_weights, set_weights

router = APIRouter(prefix="/api/models", tags=["models"])


@router.get("/weights", response_model=WeightsResponse)
def read_weights(request: Request) -> dict[str, Any]:
    """The live weight of each model and when any of them last changed."""
    with store(request) as conn:
        return get_weights(conn).as_api()


@router.put(
    "/weights",
    response_model=WeightsResponse,
    dependencies=[Security(bearer_scheme)],
    responses=error_responses(
        401, 422, e422="rejected weights, every bad field named; nothing changed"
    ),
)
def write_weights(body: WeightsBody, request: Request) -> dict[str, Any]:
    """Set every model's weight at once: each in [0, 1], inactive models 0, active ones summing
    to 1 — or, with ``"normalize": true``, scaled to sum to 1. Logged in the weight history and
    as a new model version."""
    with store(request) as conn:
        return set_weights(
            conn,
            body.weights(),
            normalise=body.normalize,
            source="api",
            normalise_option='"normalize": true',
        ).as_api()


@router.post(
    "/weights/replay",
    response_model=ReplayResponse,
    dependencies=[Security(bearer_scheme)],
    responses=error_responses(
        401,
        404,
        409,
        422,
        e404="unknown source session",
        e409="the live weights changed while the replay ran; nothing published",
        e422="the source session cannot be replayed (not completed, or a period session)",
    ),
)
def replay_weights(body: ReplayBody, request: Request) -> dict[str, Any]:
    """Replay a completed session's trades (typically a backtest's) into the live weights, as
    a new session; answers each model's weight before and after."""
    with store(request) as conn:
        try:
            return replay_view(replay_session_weights(conn, body.source_session_id))
        except SessionError as exc:
            if "does not exist" in str(exc):
                raise HTTPException(404, str(exc)) from exc
            field, _, message = str(exc).partition(": ")
            raise HTTPException(
                422, [{"type": "value_error", "loc": ["body", field], "msg": message}]
            ) from exc
        except LiveWeightsChanged as exc:
            raise HTTPException(409, str(exc)) from exc


@router.get(
    "/performance",
    response_model=PerformanceResponse,
    response_model_exclude_unset=True,
    responses=error_responses(404, 422, e404="unknown session"),
)
def performance(
    request: Request,
    session_id: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
) -> dict[str, Any]:
    """Per-model metrics of one session (default: the latest completed one), with each model's
    live weight and its figures over all completed sessions."""
    path = db_path(request)
    rows = cached_by_data_version(
        path,
        ("performance", session_id),
        lambda: run_in_worker(model_performance, path, session_id),
    )
    return {"session_id": rows[0]["session_id"] if rows else session_id, "models": rows}
