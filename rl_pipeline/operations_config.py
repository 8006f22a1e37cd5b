"""Settings of the unattended operations (schedule and sensors), from the environment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rl_pipeline import paths


class OperationsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    automation: Literal["on", "off"] = Field(
        "on",
        description="'on': the sensors and the nightly schedule start running as soon as the "
        "Dagster daemon runs (`make ui`); 'off': they start stopped (switch them on in the UI)",
    )
    nightly_cron: str = Field("0 2 * * *", description="cron of the nightly session")
    timezone: str = "UTC"
    sensor_interval_s: int = Field(30, ge=1)
    incoming_dir: str = Field("", description="new market data files; empty = data/incoming")
    win_rate_threshold: float = Field(0.45, ge=0, le=1)
    win_rate_window: int = Field(3, ge=1, description="completed sessions in the rolling mean")
    max_running_sessions: int = Field(
        1, ge=1, description="sessions run at once (they publish: one at a time by default)"
    )
    max_queued_sessions: int = Field(
        10, ge=0, description="requests that may wait; beyond, a start is refused (429)"
    )

    executor: Literal["", "in_process", "process_pool", "dask"] = Field(
        "",
        description="where walk-forward fits run; empty = dask when dask_address is set, "
        "else process_pool",
    )
    workers: int = Field(0, ge=0, description="process pool size; 0 = one per core")
    dask_address: str = Field("", description="a Dask scheduler, e.g. tcp://10.0.0.5:8786")
    parallel_min_rows: int = Field(
        200_000,
        ge=0,
        description="fits holding fewer training rows in all run in this process (a local "
        "pool's round trip would cost more than it saves)",
    )

    signal_cache: bool = Field(
        True,
        description="reuse model signals whose inputs (model, parameters, bars, window, code) "
        "match earlier ones; off: every session computes its own",
    )

    @classmethod
    def from_env(cls) -> OperationsConfig:
        """``RL_PIPELINE_<FIELD>`` overrides each field (e.g. RL_PIPELINE_NIGHTLY_CRON)."""
        values = {
            name: os.environ[f"RL_PIPELINE_{name.upper()}"]
            for name in cls.model_fields
            if f"RL_PIPELINE_{name.upper()}" in os.environ
        }
        return cls.model_validate(values)

    @property
    def automation_on(self) -> bool:
        return self.automation == "on"

    def incoming_path(self) -> Path:
        return (
            Path(self.incoming_dir).resolve()
            if self.incoming_dir
            else paths.data_dir() / "incoming"
        )
