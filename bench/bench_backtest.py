"""Benchmark: the winrate test runner (signals -> trades with costs -> metrics) on 1,000,000 bars
for one model, and the wall time of the default session through `dagster job execute`.

Prints the figures and writes them to bench/results/bench_backtest.json.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from rl_pipeline.backtest.metrics import compute_metrics
from rl_pipeline.backtest.trades import Costs, equity_curve, simulate_trades

ROOT = Path(__file__).resolve().parent.parent
N_BARS = 1_000_000


def kernel_inputs(n: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    open_ = np.concatenate(([100.0], close[:-1]))
    fast = np.convolve(close, np.ones(10) / 10, "full")[:n]
    slow = np.convolve(close, np.ones(20) / 20, "full")[:n]
    return {
        "codes": np.zeros(n, dtype=np.int64),
        "ts": 1_600_000_000 + 3600 * np.arange(n, dtype=np.int64),
        "open": open_,
        "close": close,
        "signal": np.sign(fast - slow).astype(np.int8),
        "confidence": np.full(n, 0.5),
    }


def winrate_runner(x: dict[str, np.ndarray]) -> int:
    costs = Costs(10.0, 5.0)
    trades = simulate_trades(
        x["codes"], x["open"], x["close"], x["signal"], x["confidence"], costs, 10_000.0
    )
    curve = equity_curve(x["codes"], x["ts"], x["close"], trades, costs, 10_000.0, 100_000.0)
    compute_metrics(trades.pnl, curve, 365)
    return len(trades)


def bench_kernel() -> dict:
    x = kernel_inputs(N_BARS)
    winrate_runner(x)  # warm-up
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for _ in range(5):
        start = time.perf_counter()
        n_trades = winrate_runner(x)
        times.append(time.perf_counter() - start)
    best = min(times)
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "bars": N_BARS,
        "trades": n_trades,
        "best_seconds": best,
        "bars_per_second": N_BARS / best,
        "peak_rss_mb": rss_after / 1024,
        "peak_rss_growth_mb": (rss_after - rss_before) / 1024,
    }


def bench_default_session() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "dagster"
        home.mkdir()
        shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "RL_PIPELINE_DATA_DIR": tmp,
            "RL_PIPELINE_DB": str(Path(tmp) / "bench.sqlite"),
        }
        bin_dir = Path(sys.executable).parent
        subprocess.run(
            [str(bin_dir / "rl-pipeline"), "init"], env=env, check=True, capture_output=True
        )
        session = subprocess.run(
            [str(bin_dir / "rl-pipeline"), "session", "new"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        start = time.perf_counter()
        subprocess.run(
            [
                str(bin_dir / "dagster"),
                "job",
                "execute",
                "-m",
                "rl_pipeline",
                "-j",
                "reinforcement_session_job",
                "-c",
                str(ROOT / "run_config" / "default_session.yaml"),
                "--tags",
                json.dumps({"dagster/partition": session}),
            ],
            env=env,
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        dagster_wall = time.perf_counter() - start
        code = (
            "import time; from rl_pipeline.config import SessionConfig;"
            "from rl_pipeline.session.stages import run_session;"
            "from rl_pipeline.store.connection import open_store;"
            "c = open_store(); t = time.perf_counter();"
            "run_session(c, SessionConfig(), publish=True);"
            "print(time.perf_counter() - t)"
        )
        plain = subprocess.run(
            [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
        )
        core_seconds = float(plain.stdout.strip())
    return {
        "dagster_job_execute_wall_seconds": dagster_wall,
        "core_session_seconds": core_seconds,
        "dagster_overhead_share": 1 - core_seconds / dagster_wall,
    }


def main() -> None:
    figures = {"winrate_runner": bench_kernel(), "default_session": bench_default_session()}
    k, s = figures["winrate_runner"], figures["default_session"]
    print(
        f"winrate test runner: {k['bars_per_second'] / 1e6:.1f} M bars/s on {k['bars']:,} bars "
        f"({k['trades']:,} trades, best {k['best_seconds'] * 1000:.1f} ms, "
        f"peak RSS {k['peak_rss_mb']:.0f} MB)"
    )
    print(
        f"default session via dagster job execute: {s['dagster_job_execute_wall_seconds']:.2f} s "
        f"wall (core {s['core_session_seconds']:.2f} s, Dagster/process overhead "
        f"{s['dagster_overhead_share']:.0%})"
    )
    out = ROOT / "bench" / "results" / "bench_backtest.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2))
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
