"""``/api/analytics/trades``: DuckDB trade analysis over the store, with filters."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from rl_pipeline.analytics.duck import cached_by_data_version
from rl_pipeline.analytics.trades import trade_analysis
from rl_pipeline.analytics.worker import run_in_worker
from rl_pipeline.api.schemas import TradeAnalysis, error_responses
from rl_pipeline.api.store import db_path
from rl_pipeline.config import MODEL_IDS

router = APIRouter(prefix="/api/analytics", tags=["analytics"])
ModelId = Literal[MODEL_IDS]  # every registered model


@router.get(
    "/trades",
    response_model=TradeAnalysis,
    response_model_exclude_unset=True,
    responses=error_responses(404, 422, e404="unknown session"),
)
def trades(
    request: Request,
    session_id: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    model_id: ModelId | None = None,
    symbol: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    start: Annotated[dt.datetime | None, Query(description="entry_time >= start (UTC)")] = None,
    end: Annotated[dt.datetime | None, Query(description="entry_time < end (UTC)")] = None,
    top_n: Annotated[int, Query(ge=0, le=100, description="best and worst trades")] = 5,
    include_unfinished: Annotated[
        bool, Query(description="also trades of running sessions (default: completed only)")
    ] = False,
) -> dict[str, Any]:
    """Trades by model, symbol, direction and hour of day (trades, win rate, total and average
    PnL), the PnL distribution (quantiles, histogram) and the best and worst trades (times in
    UTC, ISO 8601 with Z). Served from a cache until the store changes."""
    arguments = {
        "session_id": session_id,
        "model_id": model_id,
        "symbol": symbol,
        "start": start,
        "end": end,
        "top_n": top_n,
        "include_unfinished": include_unfinished,
    }
    path = db_path(request)
    return cached_by_data_version(
        path,
        ("trades", *arguments.items()),
        lambda: run_in_worker(trade_analysis, path, **arguments),
    )
