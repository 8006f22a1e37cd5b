"""Benchmark: weight updates per second of every registered rule (1,000,000 trades, three
active models, default and loose bounds) and bulk SQLite writes of model_weight_history rows.

Prints the figures and writes them to bench/results/bench_weights.json.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np

from rl_pipeline.rl.rules import get_rule, rule_names
from rl_pipeline.rl.weight_update import (
    WeightRule,
    effective_bounds,
    session_start_weights,
    weight_vectors,
)
from rl_pipeline.store.connection import open_store, transaction

ROOT = Path(__file__).resolve().parent.parent
N_TRADES = 1_000_000


def bench_rule(rule: WeightRule) -> dict:
    rng = np.random.default_rng(0)
    model = rng.integers(0, 3, N_TRADES)
    # Model 0 wins 55 %, model 1 50 %, model 2 42 %: weights drift and hit the bounds.
    win = rng.random(N_TRADES) < np.array([0.55, 0.50, 0.42])[model]
    pnl = np.where(win, 1.0, -1.0)
    start = session_start_weights({"a": 0.25, "b": 0.35, "c": 0.4}, ["a", "b", "c"], rule)
    w0 = np.array(list(start.values()))
    lo, hi = effective_bounds(3, rule)
    begin = time.perf_counter()
    factor = np.ones((N_TRADES, 3))
    factor[np.arange(N_TRADES), model] = get_rule(rule.rule).factors(pnl, pnl, rule)
    acting = np.ones((N_TRADES, 3), dtype=bool)  # every model has acted (the common case)
    vectors = weight_vectors(w0, factor, acting, rule)
    seconds = time.perf_counter() - begin
    at_bound = int(np.sum(np.isclose(vectors, lo) | np.isclose(vectors, hi)))
    return {
        "trades": N_TRADES,
        "seconds": seconds,
        "trades_per_second": N_TRADES / seconds,
        "vectors_at_a_bound": at_bound,
        "final": vectors[-1].tolist(),
    }


def bench_history_writes(rows: int = 300_000) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        conn = open_store(Path(tmp) / "bench.sqlite")
        conn.execute(
            "INSERT INTO reinforcement_sessions (session_id, test_period_days) VALUES ('s', 1)"
        )
        data = [
            (
                f"s-{i:07d}-trading_ai",
                "s",
                "trading_ai",
                0.3,
                0.31,
                "2026-01-01 00:00:00",
                "reward",
                '{"seq": 1}',
            )
            for i in range(rows)
        ]
        begin = time.perf_counter()
        with transaction(conn):
            conn.executemany(
                "INSERT INTO model_weight_history (weight_id, session_id, model_id, old_weight, "
                "new_weight, updated_at, reason, trade_context) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                data,
            )
        seconds = time.perf_counter() - begin
    return {"rows": rows, "seconds": seconds, "rows_per_second": rows / seconds}


def main() -> None:
    figures = {}
    for name in rule_names():
        figures[f"{name}_default_bounds"] = bench_rule(WeightRule(rule=name))
        figures[f"{name}_bounds_not_binding"] = bench_rule(
            WeightRule(rule=name, min_weight=0.0, max_weight=1.0)
        )
    rules = list(figures)
    figures["history_writes"] = bench_history_writes()
    for name in rules:
        r = figures[name]
        print(
            f"weight updates ({name}): {r['trades_per_second'] / 1e6:.2f} M trades/s "
            f"({r['trades']:,} trades in {r['seconds']:.2f} s; {r['vectors_at_a_bound']:,} "
            "weights at a bound along the way)"
        )
    w = figures["history_writes"]
    print(
        f"model_weight_history bulk writes: {w['rows_per_second']:,.0f} rows/s "
        f"({w['rows']:,} rows, one transaction)"
    )
    out = ROOT / "bench" / "results" / "bench_weights.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2))
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
