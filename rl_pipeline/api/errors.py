"""How service errors become HTTP answers. Every 422 has FastAPI's own shape:
``{"detail": [{"type", "loc", "msg"}, ...]}`` with ``loc`` the path of the offending field."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import pydantic
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from rl_pipeline.analytics.trades import InvalidFilterError
from rl_pipeline.configuration.store import DOCUMENT, ConfigValidationError
from rl_pipeline.market.validation import BarValidationError
from rl_pipeline.mistral.errors import (
    LockTimeoutError,
    MistralServerError,
    ModelFileError,
    ModelNotConfiguredError,
    PortInUseError,
    ServerAlreadyRunningError,
)
from rl_pipeline.session.campaign import CampaignError
from rl_pipeline.session.requests import QueueFull
from rl_pipeline.session.sweep import SweepError
from rl_pipeline.store.bars import BarConflictError
from rl_pipeline.weights.live import WeightValidationError

log = logging.getLogger("rl_pipeline.api")
CONFLICTS = (ServerAlreadyRunningError, PortInUseError, LockTimeoutError)


def unprocessable(errors: Iterable[dict[str, Any]]) -> JSONResponse:
    return JSONResponse(status_code=422, content={"detail": list(errors)})


def field_error(loc: list[str | int], msg: str, kind: str = "value_error") -> dict[str, Any]:
    return {"type": kind, "loc": loc, "msg": msg}


def pydantic_errors(exc: pydantic.ValidationError, prefix: list[str]) -> list[dict[str, Any]]:
    return [field_error([*prefix, *e["loc"]], e["msg"], e["type"]) for e in exc.errors()]


def _document_path(path: str) -> list[str]:
    """'session.costs.fee_bps' -> ['session', 'costs', 'fee_bps']; the whole document -> []."""
    return [] if path == DOCUMENT else path.split(".")


def _message(exc: BaseException) -> str:
    return exc.args[0] if exc.args else str(exc)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own handler echoes each bad input, and a NaN or an infinity cannot be
        # written as JSON (a 500): answer with the field and the rule only.
        return unprocessable(field_error(list(e["loc"]), e["msg"], e["type"]) for e in exc.errors())

    @app.exception_handler(QueueFull)
    async def queue_full(request: Request, exc: QueueFull) -> JSONResponse:
        return JSONResponse(
            status_code=429,
            content={"detail": str(exc)},
            headers={"Retry-After": str(exc.retry_after_s)},
        )

    @app.exception_handler(LookupError)
    async def not_found(request: Request, exc: LookupError) -> JSONResponse:
        if isinstance(exc, KeyError | IndexError):  # a bug, not an unknown session: a 500
            raise exc
        return JSONResponse(status_code=404, content={"detail": _message(exc)})

    @app.exception_handler(CampaignError)
    @app.exception_handler(SweepError)
    async def campaign_refused(request: Request, exc: ValueError) -> JSONResponse:
        field, _, message = str(exc).partition(": ")
        return unprocessable([field_error(["body", field], message or str(exc))])

    @app.exception_handler(pydantic.ValidationError)
    async def invalid_config(request: Request, exc: pydantic.ValidationError) -> JSONResponse:
        # Raised by a service validating the whole configuration (e.g. cross-field rules).
        return unprocessable(pydantic_errors(exc, ["body"]))

    @app.exception_handler(WeightValidationError)
    async def invalid_weights(request: Request, exc: WeightValidationError) -> JSONResponse:
        return unprocessable(field_error(["body", e["field"]], e["rule"]) for e in exc.errors)

    @app.exception_handler(ConfigValidationError)
    async def invalid_document(request: Request, exc: ConfigValidationError) -> JSONResponse:
        return unprocessable(
            field_error(
                ["body", *([] if e["path"] == DOCUMENT else e["path"].split("."))], e["rule"]
            )
            for e in exc.errors
        )

    @app.exception_handler(BarValidationError)
    async def rejected_bars(request: Request, exc: BarValidationError) -> JSONResponse:
        loc = ["body", "paths"]
        return unprocessable([field_error(loc, f"rejected, nothing stored: {exc}")])

    @app.exception_handler(BarConflictError)
    async def conflicting_bars(request: Request, exc: BarConflictError) -> JSONResponse:
        return JSONResponse(status_code=409, content={"detail": str(exc)})

    @app.exception_handler(InvalidFilterError)
    async def invalid_filter(request: Request, exc: InvalidFilterError) -> JSONResponse:
        return unprocessable([field_error(["query", exc.field], str(exc))])

    @app.exception_handler(MistralServerError)
    async def mistral_error(request: Request, exc: MistralServerError) -> JSONResponse:
        if isinstance(exc, ModelFileError | ModelNotConfiguredError):
            return unprocessable([field_error(["body", "model_path"], str(exc))])
        if isinstance(exc, CONFLICTS):
            return JSONResponse(status_code=409, content={"detail": str(exc)})
        log.error("Mistral server error: %s", exc)
        return JSONResponse(status_code=502, content={"detail": str(exc)})
