"""The parameter sweep as a Dagster asset: each materialisation is one sweep on a completed
session's stored signals, its ranked table and multiple-testing warning in the metadata."""

import dagster as dg
import pandas as pd
from pydantic import Field

from rl_pipeline.dagster_defs import metadata as md
from rl_pipeline.dagster_defs.failures import stage_failure
from rl_pipeline.dagster_defs.resources.store import StoreResource
from rl_pipeline.session.sweep import SweepGrid, run_sweep

TABLE_COLUMNS = [
    "rank",
    "point",
    *SweepGrid.axes(),
    "total_pnl",
    "sharpe",
    "static_pnl",
    "equal_pnl",
]


class SweepConfig(dg.Config):
    """A sweep (see ``rl-pipeline sweep run``); an empty list keeps the session's own value."""

    session_id: str = Field("", description="a completed session; empty = the latest one")
    rule: list[str] = Field([], description="update rules, e.g. [binary, hedge]")
    learning_rate: list[float] = Field([], description="e.g. [0.005, 0.01, 0.02]")
    reward_multiplier: list[float] = []
    punishment_multiplier: list[float] = []
    min_weight: list[float] = []
    max_weight: list[float] = []
    threshold: list[float] = Field([], description="ensemble thresholds")
    progress_every: int = Field(10, ge=1, description="log a progress line every N points")


def ranked_table(view: dict) -> pd.DataFrame:
    """The ranked table with each point's verdicts (95 % and Bonferroni) against static and
    equal weights."""
    frame = pd.DataFrame(view["table"])[TABLE_COLUMNS]
    for name, key in (("static", "adaptive_minus_static"), ("equal", "adaptive_minus_equal")):
        frame[f"vs_{name}"] = [r["verdict"][key]["answer"] for r in view["table"]]
        frame[f"vs_{name}_bonferroni"] = [r["bonferroni"][key]["answer"] for r in view["table"]]
    return frame.set_index("rank")


@dg.asset(
    group_name="sweeps",
    kinds={"python", "sqlite"},
    owners=md.OWNERS,
    code_version="1",
    description="A parameter sweep: a grid over the update rule, learning rate, multipliers, "
    "weight bounds and ensemble threshold replayed on a completed session's stored signals; the "
    "ranked table with each point's verdict and the multiple-testing warning.",
)
def sweep(
    context: dg.AssetExecutionContext, config: SweepConfig, store: StoreResource
) -> dg.MaterializeResult:
    grid = SweepGrid(**{name: tuple(getattr(config, name)) for name in SweepGrid.axes()})
    with stage_failure("sweep"), store.connection() as conn:
        view = run_sweep(
            conn,
            grid,
            config.session_id or None,
            progress=context.log.info,
            progress_every=config.progress_every,
        )
    frame = ranked_table(view)
    context.log.warning(view["warning"])
    return dg.MaterializeResult(
        metadata={
            "sweep_id": view["sweep_id"],
            "session_id": view["session_id"],
            "points": view["points"],
            md.ROW_COUNT: len(frame),
            "ranked_table": dg.MetadataValue.md(frame.head(50).round(4).to_markdown()),
            "best": dg.MetadataValue.json(view["table"][0]),
            "warning": dg.MetadataValue.text(view["warning"]),
            "multiple_testing": dg.MetadataValue.json(view["multiple_testing"]),
            "seconds_per_point": view["timing"]["seconds_per_point"],
            "signal_cache": dg.MetadataValue.json(view["signal_cache"]),
        }
    )


SWEEP_ASSETS = [sweep]
