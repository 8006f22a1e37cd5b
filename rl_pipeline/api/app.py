"""The FastAPI application: the specification's ten routes, thin over the service functions.

uvicorn --factory rl_pipeline.api.app:create_app     (or: rl-pipeline api)
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rl_pipeline.analytics import worker as analytics_worker
from rl_pipeline.api.errors import install_error_handlers
from rl_pipeline.api.routes import (
    analytics,
    campaigns,
    config,
    data,
    mistral,
    models,
    reinforcement,
    sweeps,
)
from rl_pipeline.api.security import BearerTokenMiddleware, RequestGuardMiddleware
from rl_pipeline.api.settings import ApiSettings
from rl_pipeline.store.connection import open_store

log = logging.getLogger("rl_pipeline.api")

DESCRIPTION = """Reinforcement sessions, model weights, performance, the Mistral server, trade
analytics and the configuration of rl_pipeline. When `RL_PIPELINE_API_TOKEN` is set, every POST
and PUT needs `Authorization: Bearer <token>`."""


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """The app, configured from the environment unless ``settings`` are given."""
    settings = settings or ApiSettings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        open_store(settings.db_path).close()  # migrations, once, before the first request
        log.info("API serving store %s (token %s)", settings.db_path, _said(settings.token))
        yield
        analytics_worker.shutdown()

    # Swagger UI and ReDoc from files inside the installed package: /docs works offline.
    app = FastAPIOffline(
        title="rl_pipeline API", version="1", description=DESCRIPTION, lifespan=lifespan
    )
    app.state.settings = settings
    for module in (reinforcement, models, mistral, analytics, config, campaigns, sweeps, data):
        app.include_router(module.router)
    install_error_handlers(app)
    # Added late, so it runs early: a refused request is never read or validated.
    app.add_middleware(BearerTokenMiddleware, token=settings.token)
    # Before the token: a request for another host, from a foreign page or too large is not
    # served.
    app.add_middleware(
        RequestGuardMiddleware,
        allowed_hosts=settings.allowed_hosts,
        max_body_bytes=settings.max_body_bytes,
    )
    app.add_middleware(RequestLogMiddleware)  # outermost: refused requests are logged too
    return app


def _said(token: str | None) -> str:
    return "required for POST/PUT" if token else "not set: mutating routes are open"


class RequestLogMiddleware:
    """One log line per request, refused ones included: method, path, status and duration
    (a plain ASGI middleware: it adds no task or stream per request)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            log.info(
                "%s %s -> %d (%.0f ms)",
                scope["method"],
                scope["path"],
                status,
                (time.perf_counter() - started) * 1000,
            )
