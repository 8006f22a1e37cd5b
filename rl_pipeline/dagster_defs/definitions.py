"""The project's one Dagster ``Definitions``."""

from __future__ import annotations

import dagster as dg

from rl_pipeline.dagster_defs.assets.session_assets import SESSION_ASSETS
from rl_pipeline.dagster_defs.jobs import reinforcement_session_job
from rl_pipeline.dagster_defs.resources.mistral_server import MistralServerResource
from rl_pipeline.dagster_defs.resources.store import StoreResource

defs = dg.Definitions(
    assets=SESSION_ASSETS,
    jobs=[reinforcement_session_job],
    resources={"store": StoreResource(), "mistral": MistralServerResource()},
)
