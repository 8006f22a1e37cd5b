"""``/api/campaigns``: run a walk-forward campaign (in the API process, the answer waits for
it) and read one back."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Security
from pydantic import BaseModel, ConfigDict, Field

from rl_pipeline.api.schemas import CampaignView, error_responses
from rl_pipeline.api.security import bearer_scheme
from rl_pipeline.api.store import store
from rl_pipeline.configuration.store import active_session_config
from rl_pipeline.session.campaign import campaign_view, run_campaign

router = APIRouter(prefix="/api/campaigns", tags=["campaigns"])
CampaignId = Annotated[str | None, Query(min_length=1, max_length=200)]


class RunCampaignRequest(BaseModel):
    """A campaign of ``sessions`` consecutive sessions of ``test_period_days`` each, ending at
    the last stored bar, on the active configuration."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"sessions": 3, "test_period_days": 7, "rule": "hedge", "publish": False}]
        },
    )

    sessions: int = Field(ge=1, le=60, description="how many sessions (the request waits)")
    test_period_days: int = Field(ge=1, le=3650)
    rule: str | None = Field(None, description="update rule; default: the active configuration's")
    publish: bool = Field(False, description="publish each session's weights as live weights")


@router.post(
    "/run",
    response_model=CampaignView,
    response_model_exclude_unset=True,
    dependencies=[Security(bearer_scheme)],
    responses=error_responses(401, 422),
)
def run(body: RunCampaignRequest, request: Request) -> dict[str, Any]:
    """Run the campaign and return it: sessions, learning curve, tournament and verdict.
    422 names the field when the request cannot run (unknown rule, more days than stored)."""
    with store(request) as conn:
        config = active_session_config(conn)
        return run_campaign(
            conn, config, body.sessions, body.test_period_days, body.rule, body.publish
        )


@router.get(
    "",
    response_model=CampaignView,
    response_model_exclude_unset=True,
    responses=error_responses(404, 422, e404="unknown campaign, or none run yet"),
)
def show(request: Request, campaign_id: CampaignId = None) -> dict[str, Any]:
    """One campaign (default: the latest); 404 when there is none."""
    with store(request) as conn:
        return campaign_view(conn, campaign_id)
