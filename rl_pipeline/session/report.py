"""Use case: the session report — did learning pay? The adaptive ensemble against the same
ensemble on static weights, on equal weights and each model alone; the same signals replayed
through every registered rule (the tournament); and the bootstrap verdict on the daily P&L
differences (docs/SEMANTICS.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rl_pipeline.backtest.metrics import PerformanceMetrics, compute_metrics
from rl_pipeline.backtest.trades import Costs, EquityCurve, equity_curve, simulate_trades
from rl_pipeline.config import SessionConfig
from rl_pipeline.ensemble.orchestrator import ensemble_signals, weights_before_each_bar
from rl_pipeline.evaluation.bootstrap import CONFIDENCE, paired_block_bootstrap
from rl_pipeline.evaluation.daily import daily_pnl
from rl_pipeline.rl.rules import rule_names
from rl_pipeline.rl.weight_update import WeightPath, WeightRule, session_start_weights
from rl_pipeline.weights.learning import LearningInputs, learn_weights, learning_inputs


@dataclass(frozen=True)
class EnsembleRun:
    """One ensemble over the test period: its metrics and its equity curve."""

    metrics: PerformanceMetrics
    curve: EquityCurve

    def daily(self) -> np.ndarray:
        return daily_pnl(self.curve)[1]


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


def ensemble_run(
    test_bars: pd.DataFrame,
    weights: np.ndarray,
    s: np.ndarray,
    c: np.ndarray,
    config: SessionConfig,
) -> EnsembleRun:
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
    return EnsembleRun(compute_metrics(trades.pnl, curve, config.backtest.periods_per_year), curve)


def verdict(
    adaptive: EnsembleRun,
    baseline: EnsembleRun,
    config: SessionConfig,
    confidence: float = CONFIDENCE,
) -> dict:
    """The bootstrap verdict on adaptive - baseline daily P&L (interval at ``confidence``)."""
    v = config.verdict
    return paired_block_bootstrap(
        adaptive.daily() - baseline.daily(), v.resamples, v.seed, v.block_days, confidence
    ).as_dict()


def ensemble_summary(run: EnsembleRun, path: WeightPath) -> dict[str, Any]:
    m = run.metrics
    return {
        "total_pnl": m.total_pnl,
        "sharpe": m.sharpe_ratio,
        "max_drawdown": m.max_drawdown,
        "total_trades": m.total_trades,
        "win_rate": m.win_rate,
        "final_weights": path.final,
    }


def baseline_runs(
    test_bars: pd.DataFrame,
    static_start: dict[str, float],
    models: list[str],
    s: np.ndarray,
    c: np.ndarray,
    config: SessionConfig,
) -> dict[str, EnsembleRun]:
    """The ensemble on ``static_start`` held fixed (``static_initial``) and on equal weights."""
    n = len(test_bars)
    static = np.tile([static_start.get(m, 0.0) for m in models], (n, 1))
    equal = np.full((n, len(models)), 1.0 / len(models))
    return {
        "static_initial": ensemble_run(test_bars, static, s, c, config),
        "equal": ensemble_run(test_bars, equal, s, c, config),
    }


def replay_rule(
    start: dict[str, float],
    inputs: LearningInputs,
    rule: WeightRule,
    config: SessionConfig,
    test_bars: pd.DataFrame,
    s: np.ndarray,
    c: np.ndarray,
) -> tuple[WeightPath, EnsembleRun]:
    """``rule`` learning from ``start`` on the session's trades, and the ensemble on the weights
    it had before each bar. Raises ``ValueError`` for parameters the rule cannot take."""
    path = learn_weights(start, inputs, rule, config)
    weights = weights_before_each_bar(path, test_bars["ts"].to_numpy())
    return path, ensemble_run(test_bars, weights, s, c, config)


def rule_result(
    run: EnsembleRun,
    path: WeightPath,
    baselines: dict[str, EnsembleRun],
    config: SessionConfig,
) -> dict[str, Any]:
    """A rule's line of the tournament: its summary and its verdicts against the baselines."""
    return {
        **ensemble_summary(run, path),
        "verdict": {
            "adaptive_minus_static": verdict(run, baselines["static_initial"], config),
            "adaptive_minus_equal": verdict(run, baselines["equal"], config),
        },
    }


def build_report(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """The report of one session (see ``build_report_and_curves``)."""
    return build_report_and_curves(*args, **kwargs)[0]


def build_report_and_curves(
    test_bars: pd.DataFrame,
    signals: pd.DataFrame,
    path: WeightPath,
    model_metrics: dict[str, PerformanceMetrics],
    config: SessionConfig,
    trades: pd.DataFrame,
    curves: dict[str, EquityCurve],
    not_acting: dict[str, str],
    static_weights: dict[str, float] | None = None,
) -> tuple[dict[str, Any], dict[str, EquityCurve]]:
    """The report of one session, and the equity curves of its adaptive, static and equal
    ensembles. ``static_weights`` (default: the session's start weights) are the baseline held
    fixed; a campaign passes its own start weights."""
    models = list(path.active)
    n = len(test_bars)
    bar_ts = test_bars["ts"].to_numpy()
    s, c = signal_matrices(signals, models, n)
    if static_weights is None:
        static_start = path.initial
    else:
        static_start = session_start_weights(static_weights, models, WeightRule.from_config(config))
    runs = {
        "adaptive": ensemble_run(test_bars, weights_before_each_bar(path, bar_ts), s, c, config),
        **baseline_runs(test_bars, static_start, models, s, c, config),
    }
    tournament = []
    inputs = learning_inputs(trades, curves)
    for name in rule_names():
        if name == path.rule:
            rule_path, run = path, runs["adaptive"]
        else:
            try:
                rule = WeightRule.from_config(config, rule=name)
                rule_path, run = replay_rule(path.initial, inputs, rule, config, test_bars, s, c)
            except ValueError as exc:  # parameters this rule cannot take (a loss would zero w)
                tournament.append({"rule": name, "error": str(exc)})
                continue
        tournament.append({"rule": name, **rule_result(run, rule_path, runs, config)})
    singles = {m: model_metrics[m].as_dict() for m in models}
    traded = [m for m in models if m in path.acted]
    best = max(traded, key=lambda m: singles[m]["total_pnl"]) if traded else None
    adaptive_pnl = runs["adaptive"].metrics.total_pnl
    session_verdict = {
        "adaptive_minus_static": verdict(runs["adaptive"], runs["static_initial"], config),
        "adaptive_minus_equal": verdict(runs["adaptive"], runs["equal"], config),
    }
    report = {
        "rule": path.rule,
        "update_every": config.weights.update_every,
        "ensembles": {name: run.metrics.as_dict() for name, run in runs.items()},
        "models_alone": singles,
        "best_single_model": best,
        "best_in_hindsight_pnl": singles[best]["total_pnl"] if best else None,
        "regret_vs_best_model": singles[best]["total_pnl"] - adaptive_pnl if best else None,
        "adaptive_minus_static": adaptive_pnl - runs["static_initial"].metrics.total_pnl,
        "learning_paid": session_verdict["adaptive_minus_static"]["answer"],
        "verdict": session_verdict,
        "tournament": tournament,
        "not_acting": not_acting,
        "start_weights": path.initial,
        "static_weights": static_start,
        "ensemble_threshold": config.ensemble.threshold,
    }
    return report, {name: run.curve for name, run in runs.items()}


def empty_curve(config: SessionConfig) -> EquityCurve:
    return EquityCurve(np.zeros(0, dtype=np.int64), np.zeros(0), config.backtest.starting_capital)
