"""``/api/data``: the stored market data — list, import files, delete a range (the same service
as ``rl-pipeline data``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Security
from pydantic import BaseModel, ConfigDict, Field

from rl_pipeline import paths
from rl_pipeline.api.errors import field_error, unprocessable
from rl_pipeline.api.schemas import (
    DataDeleteResponse,
    DataImportResponse,
    MarketSeries,
    error_responses,
)
from rl_pipeline.api.security import bearer_scheme
from rl_pipeline.api.store import store
from rl_pipeline.market_data.data import (
    delete_market_data,
    describe_import,
    import_market_data,
    list_market_data,
)

router = APIRouter(prefix="/api/data", tags=["market data"])


class ImportRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"paths": ["btc-1h.csv", "stocks/*.csv"], "replace": False, "symbol": None}
            ]
        },
    )

    paths: list[Annotated[str, Field(min_length=1, max_length=4096)]] = Field(
        min_length=1,
        max_length=1000,
        description="files, directories or glob patterns inside the import folder "
        "(data/import/ or RL_PIPELINE_IMPORT_DIR; relative to it or absolute inside it)",
    )
    replace: bool = Field(
        False, description="replace the stored bars of each symbol in the imported time range"
    )
    symbol: str | None = Field(
        None, min_length=1, max_length=64, description="symbol of files without a symbol column"
    )


@router.get("", response_model=list[MarketSeries])
def list_(request: Request) -> list[dict[str, Any]]:
    """Per stored symbol: interval, calendar, first and last bar, rows, source file(s)."""
    with store(request) as conn:
        return list_market_data(conn)


@router.post(
    "/import",
    response_model=DataImportResponse,
    dependencies=[Security(bearer_scheme)],
    responses=error_responses(
        401,
        409,
        422,
        e409="a bar differs from the stored one (nothing stored)",
        e422="a rejected file or row, or a path outside the import folder (nothing stored)",
    ),
)
def import_(body: ImportRequest, request: Request) -> dict[str, Any]:
    """Validate every file, then store their bars in one transaction."""
    with store(request) as conn:
        batch = import_market_data(
            conn,
            body.paths,
            replace=body.replace,
            symbol=body.symbol,
            confine_to=paths.imports_dir(),
        )
    return describe_import(batch)


@router.delete(
    "/{symbol}",
    response_model=DataDeleteResponse,
    dependencies=[Security(bearer_scheme)],
    responses=error_responses(
        401, 404, 422, e404="no bars stored for the symbol", e422="a bad from or to"
    ),
)
def delete(
    symbol: str,
    request: Request,
    from_: Annotated[str | None, Query(alias="from", max_length=64)] = None,
    to: Annotated[str | None, Query(max_length=64)] = None,
) -> Any:
    """Delete the symbol's bars from ``from`` to ``to`` inclusive (open ends: all)."""
    with store(request) as conn:
        try:
            deleted = delete_market_data(conn, symbol, from_, to)
        except ValueError as exc:
            field = "to" if str(exc).startswith("to") else "from"
            return unprocessable([field_error(["query", field], str(exc))])
    return {"symbol": symbol, "deleted_rows": deleted}
