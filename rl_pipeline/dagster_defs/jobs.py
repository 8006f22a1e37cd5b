"""The three session jobs."""

import dagster as dg
from pydantic import Field

from rl_pipeline.dagster_defs import metadata as md
from rl_pipeline.dagster_defs.assets.session_assets import BACKTEST_JOB, SESSION_ASSETS
from rl_pipeline.dagster_defs.failures import stage_failure
from rl_pipeline.dagster_defs.resources.store import StoreResource
from rl_pipeline.session.lifecycle import fail_session
from rl_pipeline.session.replay import replay_session_weights
from rl_pipeline.store import sessions


@dg.failure_hook(required_resource_keys={"store"})
def fail_session_on_step_failure(context: dg.HookContext) -> None:
    """A step that failed outside a service stage still ends its session as 'failed'."""
    store: StoreResource = context.resources.store
    with store.connection() as conn:
        error = context.op_exception
        for session_id in sessions.running_sessions_of_run(conn, context.run_id):
            fail_session(
                conn, session_id, f"{type(error).__name__}: {error}", stage=context.step_key
            )


def session_job(name: str, description: str):
    """A job over every session asset, one partition (session) per run."""
    return dg.define_asset_job(
        name,
        selection=dg.AssetSelection.assets(*SESSION_ASSETS),
        executor_def=dg.in_process_executor,
        hooks={fail_session_on_step_failure},
        description=description,
    )


reinforcement_session_job = session_job(
    "reinforcement_session_job",
    "One full reinforcement session: bars -> signals -> trades -> weights -> metrics -> checked "
    "weights made live. Partition = session id.",
)
backtest_job = session_job(
    BACKTEST_JOB,
    "A backtest: signals -> trades -> metrics (and the weight path the rule would take); the "
    "live weights stay untouched. Replay it later with weight_update_job.",
)


PLACEHOLDER_PREFIX = "<"


class WeightReplayConfig(dg.Config):
    source_session_id: str = Field(
        description="Required: the id of a completed session (typically a backtest_job run) "
        "whose trades are replayed into the live weights, e.g. 2026-12-02T031401Z-1a2b3c4d "
        "(`rl-pipeline session list` shows the ids). The replay itself is a new session."
    )


def check_source(source_session_id: str) -> None:
    """The example run config's placeholder is refused before anything is written."""
    if not source_session_id.strip() or source_session_id.startswith(PLACEHOLDER_PREFIX):
        raise dg.Failure(
            description=f"source_session_id: set it to the id of a completed session "
            f"(got {source_session_id!r}, the example's placeholder)",
            metadata={"source_session_id": source_session_id, "stage": "weight_replay"},
        )


@dg.op(description="Replay a completed session's trades into the live weights, as a new session.")
def replay_session_trades(
    context: dg.OpExecutionContext, config: WeightReplayConfig, store: StoreResource
) -> dg.Output[str]:
    source = config.source_session_id
    check_source(source)
    with stage_failure("weight_replay", source_session_id=source), store.connection() as conn:
        summary = replay_session_weights(conn, source, dagster_run_id=context.run_id)
    return dg.Output(
        summary.session_id,
        metadata={
            "session_id": summary.session_id,
            "source_session_id": source,
            "replayed_trades": summary.report["replayed_trades"],
            "updates": summary.report["updates"],
            "weights": md.weights_markdown(summary.weights_before, summary.weights_after),
            "weights_after": dg.MetadataValue.json(summary.weights_after),
        },
    )


@dg.job(
    executor_def=dg.in_process_executor,
    hooks={fail_session_on_step_failure},
    description="Replays a session's trades into the live weights and model versions.",
)
def weight_update_job() -> None:
    replay_session_trades()


campaign_job = dg.define_asset_job(
    "campaign_job",
    selection=dg.AssetSelection.groups("campaigns"),
    executor_def=dg.in_process_executor,
    description="A walk-forward campaign (see the campaign asset); its learning curve is in "
    "the asset's metadata.",
)

sweep_job = dg.define_asset_job(
    "sweep_job",
    selection=dg.AssetSelection.groups("sweeps"),
    executor_def=dg.in_process_executor,
    description="A parameter sweep on a completed session's stored signals (see the sweep "
    "asset); its ranked table and multiple-testing warning are in the asset's metadata.",
)

JOBS = [
    reinforcement_session_job,
    backtest_job,
    weight_update_job,
    campaign_job,
    sweep_job,
]
