"""Analytics computed in a separate, lower-priority process.

DuckDB queries hold the CPU for a while (and parts of them the GIL): run inside the API process
they made the cheap routes wait behind them. One worker process at a lower priority computes
them instead; the operating system then serves the cheap routes first, and at most one core
goes to analytics however many analytics requests arrive.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from rl_pipeline.analytics import duck

T = TypeVar("T")
NICENESS = 10  # added to the worker's priority value: it yields the CPU to the API

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def _start_worker() -> None:
    os.nice(NICENESS)
    # The worker opens the store through DuckDB only, so it may keep its connection.
    duck.keep_connections()


def _executor() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                max_workers=1,
                # spawn, not fork: the API process has threads (a forked child could inherit a
                # lock held by one of them).
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
            )
        return _pool


def run_in_worker(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in the analytics worker (started on first use); its exceptions
    are raised here."""
    return _executor().submit(fn, *args, **kwargs).result()


def shutdown() -> None:
    """Stop the worker (the API calls this when it stops)."""
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.shutdown(wait=True, cancel_futures=True)
            _pool = None
