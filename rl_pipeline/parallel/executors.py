"""Three ways to run a list of independent tasks, behind one ``map``.

Tasks are plain top-level functions on picklable arguments and return picklable results; they
read no shared state and write nothing (the orchestrating process writes the store). Each task
runs with one BLAS/OpenMP thread wherever it runs, so a fit gives the same floats in this
process, in a pool worker and on a Dask worker (a different thread count could change the order
of floating-point sums)."""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, wait
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
    workers: int  # tasks at once
    runs_tasks_here: bool  # this process (the calling thread) runs some of the tasks

    def map(
        self, fn: Callable[[T], R], items: Sequence[T], progress: Progress | None = None
    ) -> list[R]: ...

    def close(self) -> None: ...


class InProcessExecutor:
    """One after another in this process (tests, small sessions)."""

    name = "in_process"
    workers = 1
    runs_tasks_here = True

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


def _map_with_caller(
    pool: Any,
    pool_workers: int,
    fn: Callable[[T], R],
    items: Sequence[T],
    shipped: Sequence[Any],
    progress: Progress | None,
) -> list[R]:
    """``fn`` on every item, in the items' order, by this thread and ``pool_workers`` pool
    workers together: each takes the next item when it is free (a worker's next item is
    submitted as soon as its last one ends). Progress is reported from this thread only. On
    an error no new item starts, the items the workers hold are waited for (they read the
    batch's shared memory), and the error is raised."""
    waiting = deque(range(len(items)))
    lock = threading.Lock()
    stopped = threading.Event()
    ended: queue.SimpleQueue[tuple[int, Future]] = queue.SimpleQueue()
    submitted: list[Future] = []
    results: list[Any] = [None] * len(items)
    done = 0

    def next_item() -> int | None:
        with lock:
            return waiting.popleft() if waiting and not stopped.is_set() else None

    def feed_worker() -> None:
        with lock:  # under the lock, so nothing is submitted once the batch has stopped
            if not waiting or stopped.is_set():
                return
            i = waiting.popleft()
            try:
                future = pool.submit(_run_resolved, fn, shipped[i])
            except Exception as error:  # a broken pool: the error reaches this thread
                future = Future()
                future.set_exception(error)
            submitted.append(future)
        future.add_done_callback(lambda f: worker_ended(i, f))

    def worker_ended(i: int, future: Future) -> None:
        ended.put((i, future))
        if not future.cancelled() and future.exception() is None:
            feed_worker()

    def count_done(i: int, result: Any) -> None:
        nonlocal done
        results[i] = result
        done += 1
        if progress:
            progress(done, len(items))

    def take_ended(block: bool) -> None:
        while block or not ended.empty():
            i, future = ended.get()
            count_done(i, future.result())
            block = False

    try:
        for _ in range(pool_workers):
            feed_worker()
        while (i := next_item()) is not None:
            count_done(i, run_single_threaded(fn, items[i]))
            take_ended(block=False)
        while done < len(items):
            take_ended(block=True)
    except BaseException:
        with lock:
            stopped.set()
            in_hand = list(submitted)
        wait(in_hand)
        raise
    return results


class ProcessPoolTaskExecutor:
    """Local worker processes (joblib's loky executor) with this process as one of them:
    ``workers`` tasks run at once (default: one per core), ``workers - 1`` in pool processes
    and one here, each lane taking the next task when it is free. This process would only wait
    for the batch otherwise, and one worker fewer means one interpreter fewer to boot (≈1 s of
    CPU: Python, pandas, LightGBM, scikit-learn) and to hold in memory.

    The pool's workers start fresh interpreters (never a fork of a process holding threads, a
    SQLite connection or a Dagster context), need no ``if __name__ == "__main__"`` guard in the
    caller's script, and are kept between batches, so their imports are paid once."""

    name = "process_pool"
    runs_tasks_here = True

    def __init__(self, workers: int = 0) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool: Any = None
        self.ready = False  # the workers have run a batch: booted, their imports done

    def _ensure(self) -> Any:
        from joblib.externals.loky import get_reusable_executor

        # The same pool while it is alive; a new one if a worker died (it breaks the pool).
        self._pool = get_reusable_executor(max_workers=self.workers - 1, timeout=600)
        return self._pool

    def map(
        self, fn: Callable[[T], R], items: Sequence[T], progress: Progress | None = None
    ) -> list[R]:
        if len(items) <= 1 or self.workers <= 1:  # nothing to share out
            return InProcessExecutor().map(fn, items, progress)
        pool = self._ensure()
        with in_shared_memory(items) as shipped:
            results = _map_with_caller(pool, self.workers - 1, fn, items, shipped, progress)
        self.ready = True
        return results

    @property
    def running(self) -> bool:
        """Whether the workers have been started (and not closed)."""
        return self._pool is not None

    def warm_up(self, modules: Sequence[str]) -> None:
        """Start the workers and import ``modules`` in each, without waiting: a session calls
        this before its serial stages, so the workers boot while the bars are read."""
        if self.workers <= 1:
            return
        pool = self._ensure()
        for _ in range(self.workers - 1):
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
    runs_tasks_here = False

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
