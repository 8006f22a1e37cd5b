"""Independent work (walk-forward fits, per-session signals) run by one small interface: in this
process, on a local process pool, or on a Dask cluster. Same inputs, same results bit for bit."""

from rl_pipeline.parallel.executors import (
    DaskExecutor,
    InProcessExecutor,
    ProcessPoolTaskExecutor,
    TaskExecutor,
    executor_from_settings,
)

__all__ = [
    "DaskExecutor",
    "InProcessExecutor",
    "ProcessPoolTaskExecutor",
    "TaskExecutor",
    "executor_from_settings",
]
