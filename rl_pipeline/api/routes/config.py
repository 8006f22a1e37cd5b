"""``/api/config``: export and import the whole system configuration (one JSON document)."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Security

from rl_pipeline.api.schemas import (
    CONFIG_EXAMPLE,
    ConfigDocument,
    ConfigImportResponse,
    error_responses,
)
from rl_pipeline.api.security import bearer_scheme
from rl_pipeline.api.store import store
from rl_pipeline.configuration.store import export_config, import_config

router = APIRouter(prefix="/api/config", tags=["configuration"])


@router.get("/export", response_model=ConfigDocument, response_model_exclude_unset=True)
def export(request: Request) -> dict[str, Any]:
    """The active configuration document: schema version, session configuration, live weights."""
    with store(request) as conn:
        return export_config(conn)


@router.post(
    "/import",
    response_model=ConfigImportResponse,
    dependencies=[Security(bearer_scheme)],
    responses=error_responses(
        401, 422, e422="rejected document, every bad field by its path; nothing changed"
    ),
)
def import_(
    request: Request,
    document: Annotated[
        dict[str, Any],
        Body(
            description="a document from /api/config/export (schema: ConfigDocument), "
            "validated strictly as a whole",
            examples=[CONFIG_EXAMPLE],
        ),
    ],
) -> dict[str, Any]:
    """Validate the whole document, then store it as the new active version and set its
    weights, in one transaction."""
    with store(request) as conn:
        return dataclasses.asdict(import_config(conn, document, source="api"))
