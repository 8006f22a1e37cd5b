"""Signals of many windows computed side by side before their sessions run (a campaign).

Model signals never depend on the ensemble's weights, so the expensive part of a campaign (the
walk-forward fits of every session's window) is independent work: all fits of all windows go to
the executor in one batch and their signals into the signal cache. The sessions then run one
after another as usual (each starts from the previous one's weights) and take their signals
from the cache. Writes nothing but cache entries; fitted models are not kept as artifacts."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable

from rl_pipeline.config import SessionConfig
from rl_pipeline.features.technical import build_features
from rl_pipeline.models.base import ModelContext
from rl_pipeline.models.walk_forward import feature_matrix, run_fits
from rl_pipeline.parallel.session_executor import fit_executor
from rl_pipeline.session.signal_cache import SignalCache
from rl_pipeline.session.stages import build_models, read_market_window
from rl_pipeline.session.types import SessionHandle

log = logging.getLogger(__name__)


def warm_signal_cache(
    conn: sqlite3.Connection,
    config: SessionConfig,
    test_ends: list[int],
    computed_by: str,
    say: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Compute and cache the walk-forward models' signals of every window ending at
    ``test_ends`` (those not cached yet), all fits in one batch on the configured executor.
    Returns counts: windows, fits run, signals already cached."""
    say = say or log.info
    plans = []  # (cache, model, plan, features, decide)
    cached = 0
    for k, end in enumerate(test_ends, start=1):
        handle = SessionHandle(f"{computed_by}#{k}", config)
        window = read_market_window(conn, handle, test_end_ts=end)
        features = build_features(window.bars)
        decide = window.bars["in_test"].to_numpy()
        context = ModelContext(session_id=handle.session_id, artifacts_dir=None)
        models, _ = build_models(conn, window.session.config, context)
        cache = SignalCache(conn, computed_by, window.bars, window.test_start_ts, end)
        x = None  # the window's feature matrix, built once for all its models
        for model in models.values():
            if model.signal_cache_scope != "pooled" or not hasattr(model, "plan"):
                continue
            if cache.lookup_pooled(model, features, decide) is not None:
                cached += 1
                continue
            x = feature_matrix(features) if x is None else x
            plans.append((cache, model, model.plan(features, decide, x), features, decide))
    fits = [task for _, _, plan, _, _ in plans for task in plan.fits]
    executor = fit_executor(sum(len(t.y_train) for t in fits))
    started = time.perf_counter()
    step = max(1, len(fits) // 10)

    def progress(done: int, total: int) -> None:
        if done % step and done != total:
            return
        elapsed = time.perf_counter() - started
        say(
            f"{computed_by}: walk-forward fits {done}/{total} on {executor.name} "
            f"({executor.workers} workers), {elapsed:.1f} s, ETA "
            f"{elapsed / done * (total - done):.1f} s"
        )

    say(
        f"{computed_by}: {len(fits)} walk-forward fits for {len(test_ends)} windows "
        f"({cached} model signals already cached)"
    )
    fitted = run_fits(executor, fits, progress)
    for cache, model, plan, features, decide in plans:
        n = len(plan.fits)
        cache.store_pooled(model, features, decide, model.complete(plan, fitted[:n]))
        fitted = fitted[n:]
    return {"windows": len(test_ends), "fits": len(fits), "already_cached": cached}
