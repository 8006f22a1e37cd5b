"""``/api/server/mistral``: start, stop and inspect the local Mistral (llama.cpp) server."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Security

from rl_pipeline.api.schemas import (
    MistralStartRequest,
    MistralStartResponse,
    MistralStatusResponse,
    MistralStopResponse,
    error_responses,
)
from rl_pipeline.api.security import bearer_scheme
from rl_pipeline.api.store import store
from rl_pipeline.llm.control import (
    mistral_server_status,
    start_mistral_server,
    stop_mistral_server,
)

router = APIRouter(prefix="/api/server/mistral", tags=["mistral server"])


@router.post(
    "/start",
    response_model=MistralStartResponse,
    dependencies=[Security(bearer_scheme)],
    responses=error_responses(
        401,
        409,
        422,
        502,
        e409="another server runs with another model or port, the port is taken, or another "
        "process holds the server lock",
        e422="invalid field, or a model_path outside the models folder, missing, not a GGUF "
        "file, or none configured",
        e502="the server exited or did not become healthy in time (the message carries its "
        "log tail), or no llama-server binary",
    ),
)
def start(request: Request, body: MistralStartRequest | None = None) -> dict[str, Any]:
    """Start the server and wait until it is healthy (or return the one already running with
    the same model and port). The model must be inside the models folder."""
    body = body or MistralStartRequest()
    with store(request) as conn:
        return dict(
            start_mistral_server(
                conn,
                body.model_path,
                body.port,
                body.timeout,
                models_folder=request.app.state.settings.models_dir,
            )
        )


@router.post(
    "/stop",
    response_model=MistralStopResponse,
    dependencies=[Security(bearer_scheme)],
    responses=error_responses(
        401,
        409,
        502,
        e409="another process holds the server lock",
        e502="the server process survived SIGKILL",
    ),
)
def stop(request: Request) -> dict[str, Any]:
    """Stop the server (SIGTERM, then SIGKILL after the grace period); not running is no error."""
    with store(request) as conn:
        return dict(stop_mistral_server(conn))


@router.get("/status", response_model=MistralStatusResponse)
def status(request: Request) -> dict[str, Any]:
    """running, stopped or crashed, checked against the live process and its /health."""
    with store(request) as conn:
        return dict(mistral_server_status(conn))
