"""Use case: the session report — did learning pay? The adaptive ensemble against the same
ensemble on static initial weights, on equal weights, and each model alone."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rl_pipeline.backtest.metrics import PerformanceMetrics, compute_metrics
from rl_pipeline.backtest.trades import Costs, EquityCurve, equity_curve, simulate_trades
from rl_pipeline.config import SessionConfig
from rl_pipeline.ensemble.orchestrator import ensemble_signals, weights_before_each_bar
from rl_pipeline.rl.weight_update import WeightPath


def signal_matrices(
    signals: pd.DataFrame, models: list[str], n_bars: int
) -> tuple[np.ndarray, np.ndarray]:
    """(bars x models) signal and confidence, in the test bars' order."""
    s = np.zeros((n_bars, len(models)))
    c = np.zeros((n_bars, len(models)))
    for j, model_id in enumerate(models):
        rows = signals[signals["model_id"] == model_id]
        s[:, j] = rows["signal"].to_numpy()
        c[:, j] = rows["confidence"].to_numpy()
    return s, c


def ensemble_metrics(
    test_bars: pd.DataFrame,
    weights: np.ndarray,
    s: np.ndarray,
    c: np.ndarray,
    config: SessionConfig,
) -> PerformanceMetrics:
    codes = pd.factorize(test_bars["symbol"])[0]
    costs = Costs(config.costs.fee_bps, config.costs.slippage_bps)
    size = config.backtest.trade_size
    ens = ensemble_signals(weights, s, c, config.ensemble.threshold)
    close = test_bars["close"].to_numpy()
    trades = simulate_trades(
        codes, test_bars["open"].to_numpy(), close, ens.signal, ens.confidence, costs, size
    )
    curve = equity_curve(
        codes,
        test_bars["ts"].to_numpy(),
        close,
        trades,
        costs,
        size,
        config.backtest.starting_capital,
    )
    return compute_metrics(trades.pnl, curve, config.backtest.periods_per_year)


def build_report(
    test_bars: pd.DataFrame,
    signals: pd.DataFrame,
    path: WeightPath,
    model_metrics: dict[str, PerformanceMetrics],
    config: SessionConfig,
) -> dict[str, Any]:
    models = list(path.active)
    n = len(test_bars)
    s, c = signal_matrices(signals, models, n)
    adaptive = weights_before_each_bar(path, test_bars["ts"].to_numpy())
    static = np.tile(np.asarray(path.vectors[0]), (n, 1))
    equal = np.full((n, len(models)), 1.0 / len(models))
    ensembles = {
        name: ensemble_metrics(test_bars, w, s, c, config).as_dict()
        for name, w in (("adaptive", adaptive), ("static_initial", static), ("equal", equal))
    }
    singles = {m: model_metrics[m].as_dict() for m in models}
    best = max(models, key=lambda m: singles[m]["total_pnl"])
    adaptive_pnl = ensembles["adaptive"]["total_pnl"]
    return {
        "ensembles": ensembles,
        "models_alone": singles,
        "best_single_model": best,
        "regret_vs_best_model": singles[best]["total_pnl"] - adaptive_pnl,
        "adaptive_minus_static": adaptive_pnl - ensembles["static_initial"]["total_pnl"],
        "learning_paid": adaptive_pnl > ensembles["static_initial"]["total_pnl"],
        "ensemble_threshold": config.ensemble.threshold,
    }


def empty_curve(config: SessionConfig) -> EquityCurve:
    return EquityCurve(np.zeros(0, dtype=np.int64), np.zeros(0), config.backtest.starting_capital)
