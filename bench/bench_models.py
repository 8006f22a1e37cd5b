"""Benchmark: training and inference throughput (rows per second) of LavaAI and LGBMAI, and the
default session's wall time split by stage.

Prints the figures and writes them to bench/results/bench_models.json.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from rl_pipeline.config import SessionConfig
from rl_pipeline.features.technical import build_features, feature_columns
from rl_pipeline.market.intervals import HOURLY_24_7, resolve_config
from rl_pipeline.market.synthetic import generate_default_bars
from rl_pipeline.models.lava_ai import LavaAI
from rl_pipeline.models.lgbm_ai import LGBMAI
from rl_pipeline.models.walk_forward import forward_labels

ROOT = Path(__file__).resolve().parent.parent


def model_throughput() -> dict:
    # The defaults of the synthetic hourly bars (interval-dependent fields filled).
    config = resolve_config(SessionConfig(), HOURLY_24_7)
    features = build_features(generate_default_bars())
    x = features[feature_columns(features)].to_numpy(np.float64)
    label, _ = forward_labels(features, config.models.lava_ai.horizon_bars)
    ok = np.isfinite(x).all(axis=1)
    x, y = x[ok], label[ok]
    figures = {}
    for cls, params in ((LavaAI, config.models.lava_ai), (LGBMAI, config.models.lgbm_ai)):
        estimator = cls(params).make_estimator()
        start = time.perf_counter()
        estimator.fit(x, y)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(5):
            estimator.predict_proba(x)
        predict_s = (time.perf_counter() - start) / 5
        figures[cls.model_id] = {
            "rows": len(x),
            "train_rows_per_second": len(x) / fit_s,
            "inference_rows_per_second": len(x) / predict_s,
        }
    return figures


def session_stages() -> dict:
    from rl_pipeline.market_data.setup import init_store
    from rl_pipeline.session import stages as stages
    from rl_pipeline.store.connection import open_store

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["RL_PIPELINE_DATA_DIR"] = tmp
        db = Path(tmp) / "bench.sqlite"
        init_store(db)
        conn = open_store(db)
        timings = {}

        def timed(name, fn, *args):
            start = time.perf_counter()
            out = fn(*args)
            timings[name] = time.perf_counter() - start
            return out

        total = time.perf_counter()
        handle = timed("open_session", stages.open_session, conn, SessionConfig())
        sid = handle.session_id
        window = timed("market_bars", stages.load_market_window, conn, sid, handle)
        features = timed("features", stages.compute_features, conn, sid, window)
        signals = timed("model_signals", stages.compute_signals, conn, sid, window, features)
        outcome = timed("trade_results", stages.run_winrate_test, conn, sid, signals)
        weights = timed("model_weights", stages.apply_reinforcement, conn, sid, outcome)
        timed("performance_metrics", stages.measure_and_finish, conn, sid, outcome, weights)
        timings["total"] = time.perf_counter() - total
        timings["trades"] = len(outcome.trades)
        timings["weight_updates_per_second"] = weights.path.updates / timings["model_weights"]
    return timings


def main() -> None:
    figures = {"models": model_throughput(), "default_session_stages_seconds": session_stages()}
    for model_id, f in figures["models"].items():
        print(
            f"{model_id}: train {f['train_rows_per_second']:,.0f} rows/s, inference "
            f"{f['inference_rows_per_second']:,.0f} rows/s ({f['rows']:,} rows)"
        )
    stages = figures["default_session_stages_seconds"]
    split = ", ".join(
        f"{k} {v:.3f}s"
        for k, v in stages.items()
        if k not in ("total", "trades", "weight_updates_per_second")
    )
    print(f"default session {stages['total']:.2f} s in-process: {split}")
    print(
        f"weight updates: {stages['weight_updates_per_second']:,.0f} trades/s "
        f"({stages['trades']} trades, incl. history rows)"
    )
    out = ROOT / "bench" / "results" / "bench_models.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2))
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
