"""The project's one Dagster ``Definitions``."""

import dagster as dg

from rl_pipeline.dagster_defs.assets.campaign_assets import CAMPAIGN_ASSETS
from rl_pipeline.dagster_defs.assets.session_assets import SESSION_ASSETS
from rl_pipeline.dagster_defs.assets.sweep_assets import SWEEP_ASSETS
from rl_pipeline.dagster_defs.checks.session_checks import SESSION_CHECKS
from rl_pipeline.dagster_defs.jobs import JOBS
from rl_pipeline.dagster_defs.resources.mistral_server import MistralServerResource
from rl_pipeline.dagster_defs.resources.store import StoreResource
from rl_pipeline.dagster_defs.sensors.session_sensors import SCHEDULES, SENSORS

defs = dg.Definitions(
    assets=[*SESSION_ASSETS, *CAMPAIGN_ASSETS, *SWEEP_ASSETS],
    asset_checks=SESSION_CHECKS,
    jobs=JOBS,
    sensors=SENSORS,
    schedules=SCHEDULES,
    resources={"store": StoreResource(), "mistral": MistralServerResource()},
)
