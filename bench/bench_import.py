"""Benchmark: peak memory of importing a 50 MB CSV of bars (``rl-pipeline data import``).

Writes a CSV of hourly bars (about 50 MB), then imports it into a fresh store in a child process
and reads that child's peak resident memory (ru_maxrss); a second child only loads the same
modules, so the difference is what the import itself needs. Prints the figures and writes them
to bench/results/bench_import.json. The goal: the import's own peak under 3x the file size.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
TARGET_BYTES = 50 * 1024 * 1024
PRELUDE = (
    "import rl_pipeline.market_data.importer, rl_pipeline.store.connection; "
    "import rl_pipeline.store.bars; "
    "from rl_pipeline.store.connection import open_store; "
    "from rl_pipeline.market_data.importer import import_bar_files; "
)


def write_csv(path: Path) -> int:
    """Hourly bars of several symbols until the file is about 50 MB; returns its rows."""
    rng = np.random.default_rng(1)
    rows, symbol = 0, 0
    with path.open("w") as handle:
        handle.write("symbol,timestamp,open,high,low,close,volume\n")
        while path.stat().st_size < TARGET_BYTES:
            n = 100_000
            stamps = pd.date_range("2010-01-01", periods=n, freq="h", tz="UTC")
            close = 100 * np.exp(np.cumsum(rng.normal(0, 0.005, n)))
            open_ = close * np.exp(rng.normal(0, 0.001, n))
            high = np.maximum(open_, close) * 1.002
            low = np.minimum(open_, close) * 0.998
            frame = pd.DataFrame(
                {
                    "symbol": f"SYM{symbol:03d}",
                    "timestamp": stamps.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "open": open_.round(4),
                    "high": high.round(4),
                    "low": low.round(4),
                    "close": close.round(4),
                    "volume": rng.integers(100, 10_000, n),
                }
            )
            frame.to_csv(handle, header=False, index=False)
            handle.flush()
            rows += n
            symbol += 1
    return rows


def peak_rss_of(code: str, env: dict[str, str]) -> tuple[int, float]:
    """Peak resident memory (bytes) and wall time of ``python -c code`` in a child."""
    start = time.perf_counter()
    # A fresh interpreter per measurement: ru_maxrss of RUSAGE_CHILDREN is the largest child.
    probe = (
        f"import resource, subprocess, sys; "
        f"subprocess.run([sys.executable, '-c', {code!r}], check=True); "
        f"print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    return int(done.stdout.split()[-1]) * 1024, time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        csv = data / "bars.csv"
        rows = write_csv(csv)
        size = csv.stat().st_size
        env = {
            **os.environ,
            "RL_PIPELINE_DATA_DIR": str(data),
            "RL_PIPELINE_DB": str(data / "s.db"),
        }
        baseline, _ = peak_rss_of(PRELUDE + "open_store().close()", env)
        peak, seconds = peak_rss_of(
            PRELUDE + f"c = open_store(); import_bar_files(c, [{str(csv)!r}]); c.close()", env
        )
    figures = {
        "file_mb": round(size / 2**20, 1),
        "rows": rows,
        "baseline_peak_rss_mb": round(baseline / 2**20, 1),
        "import_peak_rss_mb": round(peak / 2**20, 1),
        "import_own_peak_mb": round((peak - baseline) / 2**20, 1),
        "own_peak_over_file_size": round((peak - baseline) / size, 2),
        "wall_s": round(seconds, 1),
    }
    for key, value in figures.items():
        print(f"{key:>26}: {value}")
    out = ROOT / "bench" / "results" / "bench_import.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")
    _ = resource  # imported for the reader: ru_maxrss is what is measured


if __name__ == "__main__":
    main()
