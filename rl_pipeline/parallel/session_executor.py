"""The executor a session's fits run on, from the operations settings (environment):
``RL_PIPELINE_EXECUTOR`` (``process_pool`` by default, ``in_process``, ``dask``),
``RL_PIPELINE_WORKERS`` (0 = one per core), ``RL_PIPELINE_DASK_ADDRESS`` (a scheduler; setting
it alone selects ``dask``) and ``RL_PIPELINE_PARALLEL_MIN_ROWS`` (below this many training rows
in all, fits run in this process: a worker round trip would cost more than it saves).

One executor per process and setting is kept for the process's life (a pool's workers pay
their imports once, and a campaign's sessions share them) and closed at exit."""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable, Sequence

from rl_pipeline.operations_config import OperationsConfig
from rl_pipeline.parallel.executors import InProcessExecutor, TaskExecutor, executor_from_settings

_EXECUTORS: dict[tuple[str, int, str], TaskExecutor] = {}
_LOCK = threading.Lock()


def _key(ops: OperationsConfig) -> tuple[str, int, str]:
    kind = ops.executor or ("dask" if ops.dask_address else "process_pool")
    return kind, ops.workers, ops.dask_address


def configured_executor(operations: OperationsConfig | None = None) -> TaskExecutor:
    """The process's executor for the current settings (created on first use)."""
    ops = operations or OperationsConfig.from_env()
    key = _key(ops)
    with _LOCK:
        if key not in _EXECUTORS:
            _EXECUTORS[key] = executor_from_settings(*key)
        return _EXECUTORS[key]


def fit_executor(training_rows: int) -> TaskExecutor:
    """Where a session's fits run, given how many training rows they hold in all."""
    ops = OperationsConfig.from_env()
    if training_rows < ops.parallel_min_rows and ops.executor != "dask":
        return InProcessExecutor()
    return configured_executor(ops)


def running_executor() -> TaskExecutor:
    """The configured executor if its workers are up already (this process has used them),
    else in-process: light work (a report's charts) goes to running workers but never boots
    a pool of its own."""
    with _LOCK:
        executor = _EXECUTORS.get(_key(OperationsConfig.from_env()))
    if executor is None or not getattr(executor, "running", True):
        return InProcessExecutor()
    return executor


def ready_executor() -> TaskExecutor | None:
    """The configured process pool if its workers have run a batch already (booted, imports
    done), else None: idle workers that can take light work at once."""
    with _LOCK:
        executor = _EXECUTORS.get(_key(OperationsConfig.from_env()))
    return executor if getattr(executor, "ready", False) else None


def prepare_running_workers(modules: Sequence[str]) -> None:
    """Have running pool workers import ``modules`` now, without waiting (between a session's
    fits and its report they are idle, while this process replays the weights)."""
    warm_up = getattr(running_executor(), "warm_up", None)
    if warm_up is not None:
        warm_up(modules)


@atexit.register
def close_executors() -> None:
    with _LOCK:
        for executor in _EXECUTORS.values():
            executor.close()
        _EXECUTORS.clear()


def prestart_for(expected_training_rows: int, modules: Callable[[], list[str]]) -> None:
    """Boot the process pool's workers early (importing the modules ``modules()`` names, asked
    only then) when a session's fits will go to it; a no-op for small sessions and the other
    executors."""
    ops = OperationsConfig.from_env()
    if expected_training_rows < ops.parallel_min_rows:
        return
    executor = configured_executor(ops)
    warm_up = getattr(executor, "warm_up", None)
    if warm_up is not None:
        warm_up(modules())
