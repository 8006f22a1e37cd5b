"""``/api/sweeps``: run a parameter sweep on a session's stored signals (in the API process,
the answer waits for it) and read one back."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Security
from pydantic import BaseModel, ConfigDict, Field

from rl_pipeline.api.schemas import FiniteFloat, RuleName, SweepView, error_responses
from rl_pipeline.api.security import bearer_scheme
from rl_pipeline.api.store import store
from rl_pipeline.config import EnsembleConfig, SessionConfig, WeightRuleConfig
from rl_pipeline.session.sweep import SweepGrid, run_sweep, sweep_view

router = APIRouter(prefix="/api/sweeps", tags=["sweeps"])
SweepId = Annotated[str | None, Query(min_length=1, max_length=200)]


def _values(model: type[BaseModel], name: str) -> Any:
    """A list of values, each with the rules of the configuration field it sweeps."""
    rules = model.model_fields[name].metadata
    return Annotated[list[Annotated[FiniteFloat, *rules]], Field(max_length=100)]


LearningRates = _values(SessionConfig, "learning_rate")
Multipliers = _values(SessionConfig, "reward_multiplier")
MinWeights = _values(WeightRuleConfig, "min_weight")
MaxWeights = _values(WeightRuleConfig, "max_weight")
Thresholds = _values(EnsembleConfig, "threshold")


class RunSweepRequest(BaseModel):
    """The grid: every combination of the values given (at most 5,000 points); an axis
    left out stays at the session's own value."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "rule": ["binary", "hedge"],
                    "learning_rate": [0.005, 0.01, 0.02],
                    "threshold": [0.1, 0.15],
                }
            ]
        },
    )

    session_id: str | None = Field(
        None, min_length=1, max_length=200, description="default: the latest completed session"
    )
    rule: list[RuleName] = Field([], max_length=20, description="update rules")
    learning_rate: LearningRates = []
    reward_multiplier: Multipliers = []
    punishment_multiplier: Multipliers = []
    min_weight: MinWeights = []
    max_weight: MaxWeights = []
    threshold: Thresholds = Field([], description="ensemble thresholds")

    def grid(self) -> SweepGrid:
        return SweepGrid(**{name: tuple(getattr(self, name)) for name in SweepGrid.axes()})


@router.post(
    "/run",
    response_model=SweepView,
    response_model_exclude_unset=True,
    dependencies=[Security(bearer_scheme)],
    responses=error_responses(401, 404, 422, e404="unknown session, or no completed session"),
)
def run(body: RunSweepRequest, request: Request) -> dict[str, Any]:
    """Run the grid on the session's stored signals and return the ranked table with the
    multiple-testing warning. Creates no session and leaves the live weights alone. 422 names
    the field of a refused grid (min_weight > max_weight, an unknown rule, a learning rate
    <= 0, too many points); nothing is stored then."""
    with store(request) as conn:
        return run_sweep(conn, body.grid(), body.session_id)


@router.get(
    "",
    response_model=SweepView,
    response_model_exclude_unset=True,
    responses=error_responses(404, 422, e404="unknown sweep, or none run yet"),
)
def show(request: Request, sweep_id: SweepId = None) -> dict[str, Any]:
    """One sweep (default: the latest), best point first; 404 when there is none."""
    with store(request) as conn:
        return sweep_view(conn, sweep_id)
