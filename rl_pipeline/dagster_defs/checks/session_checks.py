"""Blocking asset checks: a failed check fails the session and stops the weights going live."""

import warnings

import dagster as dg

from rl_pipeline.dagster_defs.assets.session_assets import (
    model_signals,
    model_weights,
    performance_metrics,
    trade_results,
)
from rl_pipeline.dagster_defs.partitions import SESSION_PARTITIONS
from rl_pipeline.dagster_defs.resources.store import StoreResource
from rl_pipeline.rl.weight_update import WeightRule
from rl_pipeline.session import checks as checks
from rl_pipeline.session import stages as stages
from rl_pipeline.session.lifecycle import fail_session
from rl_pipeline.store import results

# Partitioned asset checks work in Dagster 1.13 but are flagged as a preview on every load.
warnings.filterwarnings(
    "ignore", message="Specifying a partitions_def on an AssetCheckSpec", category=dg.PreviewWarning
)


def blocking_check(asset: dg.AssetsDefinition, description: str):
    """A check per session partition that stops everything downstream when it fails."""
    return dg.asset_check(
        asset=asset, blocking=True, partitions_def=SESSION_PARTITIONS, description=description
    )


def verdict(store: StoreResource, session_id: str, name: str, problems: list[str]):
    """Passed, or failed: the session is failed with the problems (nothing half-written)."""
    if problems:
        with store.connection() as conn:
            fail_session(conn, session_id, f"check {name} failed: {'; '.join(problems)}")
    return dg.AssetCheckResult(
        passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR,
        description="; ".join(problems) or "ok",
        metadata={"problems": len(problems)},
    )


@blocking_check(
    model_signals, "Signals in {-1, 0, +1}, confidence in [0, 1], one per model and bar."
)
def signals_in_range(
    context: dg.AssetCheckExecutionContext,
    model_signals: stages.ModelSignals,
    store: StoreResource,
) -> dg.AssetCheckResult:
    problems = checks.signal_problems(
        model_signals.signals, model_signals.active, len(model_signals.test_bars)
    )
    return verdict(store, context.partition_key, "signals_in_range", problems)


@blocking_check(
    trade_results, "Stored trades: exit after entry, pnl recomputed from fills and costs."
)
def trades_consistent(
    context: dg.AssetCheckExecutionContext,
    trade_results: stages.TradeOutcome,
    store: StoreResource,
) -> dg.AssetCheckResult:
    with store.connection() as conn:
        stored = results.read_trades(conn, context.partition_key)
    problems = checks.trade_problems(stored, trade_results.session.config)
    if len(stored) != len(trade_results.trades):
        problems.append(f"{len(stored)} trades stored, {len(trade_results.trades)} simulated")
    return verdict(store, context.partition_key, "trades_consistent", problems)


@blocking_check(
    model_weights,
    "Weights finite, within bounds, active ones summing to 1, and "
    "rebuilt exactly from model_weight_history.",
)
def weights_valid(
    context: dg.AssetCheckExecutionContext,
    model_weights: stages.WeightOutcome,
    store: StoreResource,
) -> dg.AssetCheckResult:
    with store.connection() as conn:
        history = results.read_weight_history(conn, context.partition_key)
    rule = WeightRule.from_config(model_weights.session.config)
    problems = checks.weight_problems(
        model_weights.path.final, tuple(model_weights.path.active), rule, history
    )
    return verdict(store, context.partition_key, "weights_valid", problems)


@blocking_check(performance_metrics, "Stored metrics agree with the stored trades.")
def metrics_consistent(
    context: dg.AssetCheckExecutionContext, store: StoreResource
) -> dg.AssetCheckResult:
    with store.connection() as conn:
        metrics = results.read_metrics(conn, context.partition_key)
        trades = results.read_trades(conn, context.partition_key)
    problems = checks.metric_problems(metrics, trades)
    if metrics.empty:
        problems.append("no performance_metrics rows")
    return verdict(store, context.partition_key, "metrics_consistent", problems)


SESSION_CHECKS = [signals_in_range, trades_consistent, weights_valid, metrics_consistent]
