"""The walk-forward campaign as a Dagster asset: each materialisation is one campaign, its
learning curve and verdict in the metadata."""

import dagster as dg
import pandas as pd
from pydantic import Field

from rl_pipeline.configuration.store import active_session_config
from rl_pipeline.dagster_defs import metadata as md
from rl_pipeline.dagster_defs.failures import stage_failure
from rl_pipeline.dagster_defs.resources.store import StoreResource
from rl_pipeline.reporting import charts
from rl_pipeline.session.campaign import run_campaign


class CampaignConfig(dg.Config):
    """A campaign on the active configuration (see ``rl-pipeline campaign run``)."""

    sessions: int = Field(12, ge=1, le=500, description="consecutive sessions")
    test_period_days: int = Field(30, ge=1, le=3650, description="days per session")
    rule: str = Field("", description="update rule; empty = the active configuration's")
    publish: bool = Field(False, description="publish each session's weights as live weights")


@dg.asset(
    group_name="campaigns",
    kinds={"python", "sqlite"},
    owners=md.OWNERS,
    code_version="1",
    description="A walk-forward campaign: consecutive sessions ending at the last stored bar, "
    "each starting from the previous one's weights; the learning curve of every rule against "
    "static and equal weights, each model and the best model in hindsight.",
)
def campaign(
    context: dg.AssetExecutionContext, config: CampaignConfig, store: StoreResource
) -> dg.MaterializeResult:
    with stage_failure("campaign"), store.connection() as conn:
        view = run_campaign(
            conn,
            active_session_config(conn),
            config.sessions,
            config.test_period_days,
            config.rule or None,
            config.publish,
            progress=context.log.info,
        )
    curve = pd.DataFrame(view["curve"]).set_index("seq")
    strategies = [c for c in curve.columns if c.startswith("rule:")] + ["static", "equal"]
    strategies += [c for c in ("best_in_hindsight",) if c in curve.columns]
    verdict = view["verdict"]["adaptive_minus_static"]
    return dg.MaterializeResult(
        metadata={
            "campaign_id": view["campaign_id"],
            "rule": view["rule"],
            "sessions": dg.MetadataValue.json(view["sessions"]),
            md.ROW_COUNT: len(curve),
            "learning_curve": md.image(
                charts.campaign_chart(curve, strategies), "campaign learning curve"
            ),
            "curve_table": dg.MetadataValue.md(
                curve[["test_end", *strategies]].round(2).to_markdown()
            ),
            "learning_paid": verdict["answer"],
            "verdict": dg.MetadataValue.json(view["verdict"]),
            "best_model_in_hindsight": view["best_model_in_hindsight"] or "",
        }
    )


CAMPAIGN_ASSETS = [campaign]
