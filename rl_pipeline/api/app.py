"""The FastAPI application: the specification's ten routes, thin over the service functions.

uvicorn --factory rl_pipeline.api.app:create_app     (or: rl-pipeline api)
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response

from rl_pipeline.analytics import worker as analytics_worker
from rl_pipeline.api.errors import install_error_handlers
from rl_pipeline.api.routes import analytics, config, mistral, models, reinforcement
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

    app = FastAPI(title="rl_pipeline API", version="1", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    for module in (reinforcement, models, mistral, analytics, config):
        app.include_router(module.router)
    install_error_handlers(app)
    app.middleware("http")(_log_request)
    # Added last, so it runs first: a refused request is never read, validated or logged twice.
    app.add_middleware(BearerTokenMiddleware, token=settings.token)
    # Outermost: a request for another host, from a foreign page or too large is not served.
    app.add_middleware(
        RequestGuardMiddleware,
        allowed_hosts=settings.allowed_hosts,
        max_body_bytes=settings.max_body_bytes,
    )
    return app


def _said(token: str | None) -> str:
    return "required for POST/PUT" if token else "not set: mutating routes are open"


async def _log_request(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    started = time.perf_counter()
    response = await call_next(request)
    log.info(
        "%s %s -> %d (%.0f ms)",
        request.method,
        request.url.path,
        response.status_code,
        (time.perf_counter() - started) * 1000,
    )
    return response
