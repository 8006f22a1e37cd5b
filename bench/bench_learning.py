"""Benchmark and evidence: does learning pay?

1. The rule tournament of a session report (every registered rule replayed, baselines, the
   bootstrap verdicts) on 1,000,000 bars (10 symbols x 100,000 hourly bars, three models with
   persistent random signals), against the default session's own wall time on the shipped data.
2. A 12-session walk-forward campaign (30 days each) on the shipped data, once with per-trade
   updates and once with daily updates: its wall time and, for every rule, the campaign's
   cumulative P&L against static and equal weights with the bootstrap verdict. This is the
   table in the README's "Does learning pay?".

Prints the figures and writes them to bench/results/bench_learning.json.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from rl_pipeline.backtest.metrics import compute_metrics
from rl_pipeline.backtest.trades import Costs, equity_curve, simulate_trades
from rl_pipeline.config import SessionConfig
from rl_pipeline.market_data.setup import init_store
from rl_pipeline.rl.weight_update import WeightRule, session_start_weights
from rl_pipeline.session import stages as stages
from rl_pipeline.session.campaign import run_campaign
from rl_pipeline.session.report import build_report
from rl_pipeline.session.rows import trade_rows
from rl_pipeline.store.connection import open_store
from rl_pipeline.weights.learning import learn_weights, learning_inputs

ROOT = Path(__file__).resolve().parent.parent
MODELS = ("trading_ai", "lava_ai", "lgbm_ai")


def synthetic_session(symbols: int = 10, bars: int = 100_000, seed: int = 0):
    rng = np.random.default_rng(seed)
    n = symbols * bars
    ts = np.tile(1_600_000_000 + 3600 * np.arange(bars, dtype=np.int64), symbols)
    symbol = np.repeat([f"S{i:02d}" for i in range(symbols)], bars)
    close = np.exp(np.cumsum(rng.normal(0, 0.004, (symbols, bars)), axis=1)).ravel() * 100
    open_ = np.roll(close, 1)
    open_[::bars] = close[::bars]
    test_bars = pd.DataFrame({"symbol": symbol, "ts": ts, "open": open_, "close": close})
    frames = []
    for m in MODELS:
        # Persistent signals: a new random position every ~20 bars.
        change = rng.random(n) < 0.05
        signal = rng.integers(-1, 2, n).astype(np.int8)
        signal = signal[np.maximum.accumulate(np.where(change, np.arange(n), 0))]
        frames.append(
            pd.DataFrame(
                {
                    "model_id": m,
                    "symbol": symbol,
                    "ts": ts,
                    "signal": signal,
                    "confidence": rng.random(n),
                }
            )
        )
    return test_bars, pd.concat(frames, ignore_index=True)


def bench_tournament(config: SessionConfig) -> dict:
    test_bars, signals = synthetic_session()
    costs = Costs(config.costs.fee_bps, config.costs.slippage_bps)
    size = config.backtest.trade_size
    codes = pd.factorize(test_bars["symbol"])[0]
    trades, curves, metrics = [], {}, {}
    for m in MODELS:
        rows = signals[signals["model_id"] == m]
        kernel = simulate_trades(
            codes,
            test_bars["open"].to_numpy(),
            test_bars["close"].to_numpy(),
            rows["signal"].to_numpy(),
            rows["confidence"].to_numpy(),
            costs,
            size,
        )
        curves[m] = equity_curve(
            codes,
            test_bars["ts"].to_numpy(),
            test_bars["close"].to_numpy(),
            kernel,
            costs,
            size,
            config.backtest.starting_capital,
        )
        metrics[m] = compute_metrics(kernel.pnl, curves[m], config.backtest.periods_per_year)
        trades.append(trade_rows("bench", m, test_bars, kernel, costs, size))
    trades_df = pd.concat(trades, ignore_index=True).sort_values(
        ["exit_time", "entry_time", "trade_id"], ignore_index=True
    )
    rule = WeightRule.from_config(config)
    start = session_start_weights(
        {"trading_ai": 0.25, "lava_ai": 0.35, "lgbm_ai": 0.4}, MODELS, rule
    )
    begin = time.perf_counter()
    path = learn_weights(start, learning_inputs(trades_df, curves), rule, config)
    learn_seconds = time.perf_counter() - begin
    begin = time.perf_counter()
    report = build_report(test_bars, signals, path, metrics, config, trades_df, curves, {})
    seconds = time.perf_counter() - begin
    return {
        "bars": len(test_bars),
        "trades": len(trades_df),
        "rules": [e["rule"] for e in report["tournament"]],
        "learn_seconds": learn_seconds,
        "report_seconds": seconds,
    }


def bench_default_session() -> dict:
    """The default session's wall time in this process, and the part that builds its report
    (baselines, the tournament of every rule, the verdicts)."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "s.sqlite"
        init_store(db)
        conn = open_store(db)
        begin = time.perf_counter()
        handle = stages.open_session(conn, SessionConfig())
        sid = handle.session_id
        _, outcome, weights = stages.learn_session_weights(conn, handle)
        report_begin = time.perf_counter()
        measured = stages.record_metrics(conn, sid, outcome, weights)
        report_seconds = time.perf_counter() - report_begin
        stages.finish_session(conn, sid, outcome, weights, measured, publish=False)
        return {"seconds": time.perf_counter() - begin, "report_seconds": report_seconds}


def bench_campaign(update_every: str, sessions: int = 12, days: int = 30) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "c.sqlite"
        init_store(db)
        conn = open_store(db)
        config = SessionConfig.model_validate({"weights": {"update_every": update_every}})
        begin = time.perf_counter()
        view = run_campaign(conn, config, sessions, days, rule="binary", progress=lambda _: None)
        seconds = time.perf_counter() - begin
    last = view["curve"][-1]
    return {
        "update_every": update_every,
        "sessions": sessions,
        "test_period_days": days,
        "seconds": seconds,
        "static": last["static"],
        "equal": last["equal"],
        "best_model_in_hindsight": view["best_model_in_hindsight"],
        "best_model_pnl": last["best_in_hindsight"],
        "rules": {
            e["rule"]: {
                "total_pnl": e["total_pnl"],
                "vs_static": e["verdict"]["adaptive_minus_static"],
                "vs_equal": e["verdict"]["adaptive_minus_equal"],
                "vs_binary": e["verdict"]["adaptive_minus_binary"],
                "final_weights": e["final_weights"],
            }
            for e in view["tournament"]
        },
    }


def interval(v: dict) -> str:
    if v["ci_low"] is None:
        return "n/a"
    return f"{v['mean']:+.1f} [{v['ci_low']:+.1f}, {v['ci_high']:+.1f}] {v['answer']}"


def main() -> None:
    config = SessionConfig()
    quick = "--quick" in sys.argv
    figures = {"tournament": bench_tournament(config), "default_session": bench_default_session()}
    t, d = figures["tournament"], figures["default_session"]
    print(
        f"tournament of {len(t['rules'])} rules + baselines + verdicts on {t['bars']:,} bars "
        f"({t['trades']:,} trades): {t['report_seconds']:.2f} s "
        f"({t['bars'] / t['report_seconds'] / 1e3:,.0f} k bars/s; learning the session's own "
        f"weights: {t['learn_seconds']:.2f} s)"
    )
    print(
        f"default session in-process: {d['seconds']:.2f} s, of which its report (tournament "
        f"and verdicts) {d['report_seconds']:.2f} s ({d['report_seconds'] / d['seconds']:.0%})"
    )
    figures["campaigns"] = [bench_campaign(u, sessions=3 if quick else 12) for u in ("trade", "1d")]
    print()
    print(
        "| update_every | rule | campaign P&L | vs static: mean/day [95% CI] "
        "| vs equal: mean/day [95% CI] | vs binary: mean/day [95% CI] |"
    )
    print("|---|---|---:|---|---|---|")
    for c in figures["campaigns"]:
        for name, r in c["rules"].items():
            print(
                f"| {c['update_every']} | {name} | {r['total_pnl']:,.0f} "
                f"| {interval(r['vs_static'])} | {interval(r['vs_equal'])} "
                f"| {interval(r['vs_binary'])} |"
            )
    for c in figures["campaigns"]:
        print(
            f"campaign ({c['sessions']} x {c['test_period_days']} days, updates every "
            f"{c['update_every']}): {c['seconds']:.1f} s; static {c['static']:,.0f}, equal "
            f"{c['equal']:,.0f}, best model in hindsight {c['best_model_in_hindsight']} "
            f"{c['best_model_pnl']:,.0f}"
        )
    out = ROOT / "bench" / "results" / "bench_learning.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2))
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
