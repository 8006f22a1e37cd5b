"""Three ways to run a list of independent tasks, behind one ``map``.

Tasks are plain top-level functions on picklable arguments and return picklable results; they
read no shared state and write nothing (the orchestrating process writes the store). Each task
runs with one BLAS/OpenMP thread wherever it runs, so a fit gives the same floats in this
process, in a pool worker and on a Dask worker (a different thread count could change the order
of floating-point sums)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, Protocol, TypeVar

import numpy as np
from threadpoolctl import threadpool_limits

from rl_pipeline.parallel.shipping import (
    in_shared_memory,
    join_large,
    resolve_fields,
    shared_large_arrays,
    split_large,
)

T = TypeVar("T")
R = TypeVar("R")
Progress = Callable[[int, int], None]  # (tasks done, tasks in all)

log = logging.getLogger(__name__)


def run_single_threaded(fn: Callable[[T], R], item: T) -> R:
    """``fn(item)`` with BLAS and OpenMP limited to one thread (on every executor)."""
    with threadpool_limits(limits=1):
        return fn(item)


class TaskExecutor(Protocol):
    """Runs ``fn`` on every item; results in the order of the items."""

    name: str
    workers: int

    def map(
        self, fn: Callable[[T], R], items: Sequence[T], progress: Progress | None = None
    ) -> list[R]: ...

    def close(self) -> None: ...


class InProcessExecutor:
    """One after another in this process (tests, small sessions)."""

    name = "in_process"
    workers = 1

    def map(
        self, fn: Callable[[T], R], items: Sequence[T], progress: Progress | None = None
    ) -> list[R]:
        out = []
        for done, item in enumerate(items, start=1):
            out.append(run_single_threaded(fn, item))
            if progress:
                progress(done, len(items))
        return out

    def close(self) -> None:
        pass


def _collect(futures: list[Future], progress: Progress | None) -> list[Any]:
    """The futures' results in their order. At the first error the tasks not started yet are
    cancelled, the running ones waited for (they may read the batch's shared memory, removed
    next), and the error is raised."""
    from concurrent.futures import as_completed, wait

    for done, future in enumerate(as_completed(futures), start=1):
        if future.exception() is not None:
            for other in futures:
                other.cancel()
            wait(futures)
            raise future.exception()
        if progress:
            progress(done, len(futures))
    return [f.result() for f in futures]


class ProcessPoolTaskExecutor:
    """A local pool of worker processes (default: one per core): joblib's loky executor. Its
    workers start fresh interpreters (never a fork of a process holding threads, a SQLite
    connection or a Dagster context), need no ``if __name__ == "__main__"`` guard in the
    caller's script, and are kept between batches, so their imports are paid once."""

    name = "process_pool"

    def __init__(self, workers: int = 0) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool: Any = None
        self.ready = False  # the workers have run a batch: booted, their imports done

    def _ensure(self) -> Any:
        from joblib.externals.loky import get_reusable_executor

        # The same pool while it is alive; a new one after a worker died (that breaks a pool).
        self._pool = get_reusable_executor(max_workers=self.workers, timeout=600)
        return self._pool

    def map(
        self, fn: Callable[[T], R], items: Sequence[T], progress: Progress | None = None
    ) -> list[R]:
        if len(items) <= 1:  # not worth a round trip to another process
            return InProcessExecutor().map(fn, items, progress)
        pool = self._ensure()
        with in_shared_memory(items) as shipped:
            futures = [pool.submit(_run_resolved, fn, item) for item in shipped]
            results = _collect(futures, progress)
        self.ready = True
        return results

    @property
    def running(self) -> bool:
        """Whether the workers have been started (and not closed)."""
        return self._pool is not None

    def warm_up(self, modules: Sequence[str]) -> None:
        """Start the workers and import ``modules`` in each, without waiting: a session calls
        this before its serial stages, so the workers boot while the bars are read."""
        pool = self._ensure()
        for _ in range(self.workers):
            pool.submit(_import_modules, tuple(modules))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, kill_workers=True)
            self._pool = None
            self.ready = False


class DaskExecutor:
    """Tasks on a Dask cluster (``dask.distributed``) at ``address`` (``tcp://host:8786``), or
    on a given ``Client`` (e.g. of a ``LocalCluster``). Workers need this package installed."""

    name = "dask"

    def __init__(self, address: str | None = None, client: Any = None) -> None:
        from distributed import Client

        self._owns_client = client is None
        self.client = client if client is not None else Client(address, timeout="30s")
        self.workers = max(1, len(self.client.scheduler_info().get("workers", {})))

    def map(
        self, fn: Callable[[T], R], items: Sequence[T], progress: Progress | None = None
    ) -> list[R]:
        from distributed import as_completed

        # The arrays several tasks share (a model's feature matrix) go to the cluster once, all
        # in one round trip; an array only one task holds travels with it.
        shared = shared_large_arrays(items)
        scattered = dict(zip(shared, self._scatter(list(shared.values())), strict=True))
        futures = []
        for item in items:
            light, arrays = split_large(item, scattered)
            futures.append(self.client.submit(_run_joined, fn, light, arrays, pure=False))
        for done, _ in enumerate(as_completed(futures), start=1):
            if progress:
                progress(done, len(futures))
        return self.client.gather(futures)

    def _scatter(self, arrays: list[np.ndarray]) -> list[Any]:
        return self.client.scatter(arrays, broadcast=True, hash=False) if arrays else []

    def close(self) -> None:
        if self._owns_client:
            self.client.close()


def _import_modules(modules: tuple[str, ...]) -> None:
    import importlib

    for module in modules:
        importlib.import_module(module)


def _run_resolved(fn: Callable[[T], R], item: T) -> R:
    return run_single_threaded(fn, resolve_fields(item))


def _run_joined(fn: Callable[[T], R], item: T, arrays: dict[str, np.ndarray]) -> R:
    return run_single_threaded(fn, join_large(item, arrays))


def executor_from_settings(kind: str, workers: int = 0, dask_address: str = "") -> TaskExecutor:
    """The executor the operations settings name: ``in_process``, ``process_pool`` or
    ``dask`` (which needs ``dask_address``)."""
    if kind == "in_process":
        return InProcessExecutor()
    if kind == "process_pool":
        return ProcessPoolTaskExecutor(workers)
    if kind == "dask":
        if not dask_address:
            raise ValueError("executor: 'dask' needs dask_address (RL_PIPELINE_DASK_ADDRESS)")
        return DaskExecutor(dask_address)
    raise ValueError(f"executor: {kind!r} is not one of in_process, process_pool, dask")
