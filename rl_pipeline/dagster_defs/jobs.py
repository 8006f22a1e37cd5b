"""Jobs."""

from __future__ import annotations

import dagster as dg

from rl_pipeline.dagster_defs.assets.session_assets import SESSION_ASSETS
from rl_pipeline.dagster_defs.resources.store import StoreResource
from rl_pipeline.store import sessions


@dg.failure_hook(required_resource_keys={"store"})
def fail_session_on_step_failure(context: dg.HookContext) -> None:
    """A step that failed outside a service stage still ends its session as 'failed'."""
    store: StoreResource = context.resources.store
    conn = store.connect()
    try:
        row = conn.execute(
            "SELECT r.session_id FROM session_runs r JOIN reinforcement_sessions s "
            "USING (session_id) WHERE r.dagster_run_id = ? AND s.status = 'running'",
            (context.run_id,),
        ).fetchone()
        if row is not None:
            error = context.op_exception
            sessions.mark_failed(
                conn, row[0], f"step {context.step_key} failed: {type(error).__name__}: {error}"
            )
    finally:
        conn.close()


reinforcement_session_job = dg.define_asset_job(
    "reinforcement_session_job",
    selection=dg.AssetSelection.assets(*SESSION_ASSETS),
    executor_def=dg.in_process_executor,
    hooks={fail_session_on_step_failure},
    description="One full reinforcement session: bars -> signals -> trades -> weights -> metrics.",
)
