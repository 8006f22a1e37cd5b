"""Benchmark: a 50-point sweep on the shipped default data against one session's wall time.

A sweep rebuilds the session's signals once (from the signal cache) and then only learns the
weights and replays the ensemble per point, so a point should cost a small fraction of a
session. Measured: the default session in-process (first run: signals computed; second run:
signals reused from the cache), then a 50-point sweep (rule x learning rate x ensemble
threshold) on it: its setup (rebuilding window, features, signals and trades), its time per
point and its wall time including the store write; and a sweep of a session that ran with the
signal cache off (its setup computes the signals once).

Prints the figures and writes them to bench/results/bench_sweep.json.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from pathlib import Path

from rl_pipeline.config import SessionConfig
from rl_pipeline.market_data.setup import init_store
from rl_pipeline.session.stages import run_session
from rl_pipeline.session.sweep import SweepGrid, run_sweep
from rl_pipeline.store.connection import open_store

ROOT = Path(__file__).resolve().parent.parent
GRID = SweepGrid(
    rule=("binary", "hedge"),
    learning_rate=(0.005, 0.01, 0.02, 0.04, 0.08),
    threshold=(0.1, 0.15, 0.2, 0.25, 0.3),
)


def timed_session(conn) -> tuple[str, float, dict]:
    begin = time.perf_counter()
    summary = run_session(conn, SessionConfig())
    return summary.session_id, time.perf_counter() - begin, summary.report


def timed_sweep(conn, session_id: str) -> dict:
    begin = time.perf_counter()
    view = run_sweep(conn, GRID, session_id, progress=lambda line: None)
    wall = time.perf_counter() - begin
    return {"view": view, "wall_seconds": wall}


def main() -> None:
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["RL_PIPELINE_DATA_DIR"] = tmp
        db = Path(tmp) / "bench.sqlite"
        init_store(db)
        conn = open_store(db)
        _, cold_s, _ = timed_session(conn)
        session_id, warm_s, report = timed_session(conn)
        warm = timed_sweep(conn, session_id)
        os.environ["RL_PIPELINE_SIGNAL_CACHE"] = "0"
        conn.execute("DELETE FROM signal_cache")
        uncached_id, _, _ = timed_session(conn)
        del os.environ["RL_PIPELINE_SIGNAL_CACHE"]
        cold = timed_sweep(conn, uncached_id)
        conn.close()
    view = warm["view"]
    timing = view["timing"]
    own = next(r for r in view["table"] if r["point"] == view["session_point"])
    assert own["total_pnl"] == report["ensembles"]["adaptive"]["total_pnl"]
    figures = {
        "points": view["points"],
        "session_seconds_signals_computed": cold_s,
        "session_seconds_signals_reused": warm_s,
        "sweep_setup_seconds": timing["setup_seconds"],
        "seconds_per_point": timing["seconds_per_point"],
        "sweep_wall_seconds": warm["wall_seconds"],
        "sweep_setup_seconds_signals_computed": cold["view"]["timing"]["setup_seconds"],
        "sweep_wall_seconds_signals_computed": cold["wall_seconds"],
        "best": {
            k: view["table"][0][k] for k in ("rule", "learning_rate", "threshold", "total_pnl")
        },
        "session_pnl": own["total_pnl"],
        "session_rank": own["rank"],
        "bonferroni_yes_vs_static": view["multiple_testing"]["bonferroni_yes_vs_static"],
        "nominal_yes_vs_static": view["multiple_testing"]["nominal_yes_vs_static"],
    }
    per_point = figures["seconds_per_point"]
    print(
        f"default session in-process: {cold_s:.2f} s (signals computed), {warm_s:.2f} s "
        f"(signals reused from the cache)"
    )
    print(
        f"{view['points']}-point sweep: {per_point * 1000:.1f} ms per point "
        f"({per_point / cold_s:.1%} of the first session, {per_point / warm_s:.1%} of the "
        f"second), after {timing['setup_seconds']:.2f} s rebuilding the signals from the cache; "
        f"{warm['wall_seconds']:.2f} s wall in all (vs {view['points']} sessions: "
        f"{view['points'] * warm_s:.0f} s)"
    )
    print(
        f"sweep of a session whose signals were not cached: setup "
        f"{figures['sweep_setup_seconds_signals_computed']:.2f} s (computes them once), "
        f"{figures['sweep_wall_seconds_signals_computed']:.2f} s wall"
    )
    print(
        f"best point: {figures['best']} (the session's own settings rank {own['rank']} of "
        f"{view['points']}: {own['total_pnl']:,.2f}); {figures['nominal_yes_vs_static']} points "
        f"beat static weights at 95 %, {figures['bonferroni_yes_vs_static']} after Bonferroni"
    )
    out = ROOT / "bench" / "results" / "bench_sweep.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
