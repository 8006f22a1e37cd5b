"""Benchmark: a 64-symbol x 30-day session with its walk-forward fits in this process, on the
local process pool (2 workers) and on a 2-worker Dask LocalCluster: wall time, speed-up and
peak memory (this process plus its workers). Each variant runs in a fresh Python process on its
own copy of the same store, so none inherits another's warm caches.

Prints the figures and writes them to bench/results/bench_parallel.json.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SYMBOLS = 64
TEST_DAYS = 30
HISTORY_DAYS = 130  # the 90-day training window before the test period, and warm-up


def build_store(folder: Path) -> Path:
    from rl_pipeline.market.synthetic import generate_default_bars
    from rl_pipeline.store.bars import write_bars
    from rl_pipeline.store.connection import open_store

    db = folder / "base.sqlite"
    conn = open_store(db)
    symbols = tuple(f"S{i:02d}" for i in range(SYMBOLS))
    write_bars(conn, generate_default_bars(symbols=symbols, days=HISTORY_DAYS, seed=11), "bench")
    conn.close()
    return db


CHILD = """
import json, os, resource, sys, time
from rl_pipeline.config import SessionConfig
from rl_pipeline.parallel.session_executor import close_executors
from rl_pipeline.session.stages import run_session
from rl_pipeline.store.connection import open_store
conn = open_store(os.environ["RL_PIPELINE_DB"])
start = time.perf_counter()
summary = run_session(conn, SessionConfig(test_period_days=TEST_DAYS), publish=True)
wall = time.perf_counter() - start
close_executors()
trades = conn.execute("SELECT COUNT(*), SUM(pnl) FROM trade_results").fetchone()
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"wall_s": wall, "peak_rss_mb": own, "peak_worker_rss_mb": workers,
                  "trades": trades[0], "pnl": trades[1]}))
""".replace("TEST_DAYS", str(TEST_DAYS))


def run_variant(base: Path, folder: Path, name: str, env: dict[str, str]) -> dict:
    data = folder / name
    data.mkdir()
    shutil.copy(base, data / "db.sqlite")
    environment = {
        **os.environ,
        "RL_PIPELINE_DATA_DIR": str(data),
        "RL_PIPELINE_DB": str(data / "db.sqlite"),
        **env,
    }
    done = subprocess.run(
        [sys.executable, "-c", CHILD], env=environment, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    from distributed import LocalCluster

    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        base = build_store(folder)
        print(
            f"store: {SYMBOLS} symbols x {HISTORY_DAYS} days hourly "
            f"({time.perf_counter() - t:.1f} s)"
        )
        results["in_process"] = run_variant(
            base, folder, "inline", {"RL_PIPELINE_EXECUTOR": "in_process"}
        )
        results["process_pool"] = run_variant(
            base,
            folder,
            "pool",
            {
                "RL_PIPELINE_EXECUTOR": "process_pool",
                "RL_PIPELINE_WORKERS": "2",
                "RL_PIPELINE_PARALLEL_MIN_ROWS": "0",
            },
        )
        with LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            host="127.0.0.1",
        ) as cluster:
            results["dask_local_cluster"] = run_variant(
                base,
                folder,
                "dask",
                {
                    "RL_PIPELINE_DASK_ADDRESS": cluster.scheduler_address,
                    "RL_PIPELINE_PARALLEL_MIN_ROWS": "0",
                },
            )
    base_wall = results["in_process"]["wall_s"]
    print(f"\n{SYMBOLS}-symbol x {TEST_DAYS}-day session ({os.cpu_count()} cores)")
    print(
        f"{'executor':<20} {'wall s':>8} {'speed-up':>9} {'peak MB':>9} {'workers MB':>11} "
        f"{'trades':>7}"
    )
    for name, r in results.items():
        r["speed_up"] = base_wall / r["wall_s"]
        print(
            f"{name:<20} {r['wall_s']:>8.2f} {r['speed_up']:>8.2f}x {r['peak_rss_mb']:>9.0f} "
            f"{r['peak_worker_rss_mb']:>11.0f} {r['trades']:>7}"
        )
    same = len({(r["trades"], round(r["pnl"], 6)) for r in results.values()}) == 1
    print(f"identical trades and P&L on every executor: {same}")
    out = ROOT / "bench" / "results" / "bench_parallel.json"
    out.write_text(json.dumps({"session": results, "identical": same}, indent=2))
    print(f"written {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
