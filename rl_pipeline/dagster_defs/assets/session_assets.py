"""The reinforcement session as one asset lineage:
market bars -> features -> model signals -> trade results -> model weights -> performance metrics.
Each asset calls one service stage and reports what it wrote."""

import dagster as dg
import pandas as pd

from rl_pipeline.dagster_defs.resources.mistral_server import MistralServerResource
from rl_pipeline.dagster_defs.resources.store import StoreResource
from rl_pipeline.dagster_defs.session_config import SessionRunConfig
from rl_pipeline.services import session_stages as stages
from rl_pipeline.services.llm_endpoint import find_llm
from rl_pipeline.services.session_requests import get_request

GROUP = "reinforcement_session"


@dg.asset(
    group_name=GROUP,
    description="Bars of the test period plus indicator history; opens the session row.",
)
def market_bars(
    context: dg.AssetExecutionContext, config: SessionRunConfig, store: StoreResource
) -> dg.Output[stages.MarketWindow]:
    conn = store.connect()
    try:
        # A requested session (API, CLI, sensor) brings its full configuration with it.
        request = get_request(conn, config.session_id) if config.session_id else None
        session_config = request.config if request else config.to_session_config()
        handle = stages.open_session(
            conn, session_config, config.session_id or context.run_id, context.run_id
        )
        window = stages.load_market_window(conn, handle.session_id, handle)
    finally:
        conn.close()
    bars = window.bars
    return dg.Output(
        window,
        metadata={
            "session_id": handle.session_id,
            "rows": len(bars),
            "test_rows": int(bars["in_test"].sum()),
            "symbols": ", ".join(sorted(bars["symbol"].unique())),
            "test_period": f"{pd.Timestamp(window.test_start_ts, unit='s')} .. "
            f"{pd.Timestamp(window.test_end_ts, unit='s')} UTC",
        },
    )


@dg.asset(group_name=GROUP, description="Technical features, each from bars at or before its own.")
def features(market_bars: stages.MarketWindow, store: StoreResource) -> dg.Output[pd.DataFrame]:
    conn = store.connect()
    try:
        frame = stages.compute_features(conn, market_bars.session.session_id, market_bars)
    finally:
        conn.close()
    columns = [c for c in frame.columns if c.startswith("f_")]
    return dg.Output(frame, metadata={"rows": len(frame), "feature_columns": ", ".join(columns)})


@dg.asset(group_name=GROUP, description="Signal and confidence of every active model per bar.")
def model_signals(
    context: dg.AssetExecutionContext,
    market_bars: stages.MarketWindow,
    features: pd.DataFrame,
    store: StoreResource,
    mistral: MistralServerResource,
) -> dg.Output[stages.ModelSignals]:
    llm = find_llm(mistral.model_path, mistral.ensure_server, mistral.status)
    if llm[0] is None:
        context.log.info(f"MistralAI inactive: {llm[1]}")
    conn = store.connect()
    try:
        signals = stages.compute_signals(
            conn, market_bars.session.session_id, market_bars, features, llm
        )
    finally:
        conn.close()
    counts = signals.signals.groupby("model_id")["signal"].value_counts().unstack(fill_value=0)
    trained = {m: len(a) for m, a in signals.training.items() if a}
    llm_stats = signals.parameters.get("mistral_ai", {}).get("llm_stats", {})
    return dg.Output(
        signals,
        metadata={
            "rows": len(signals.signals),
            "active_models": ", ".join(signals.active),
            "inactive_models": dg.MetadataValue.json(signals.inactive),
            "signal_counts": dg.MetadataValue.md(counts.to_markdown()),
            "models_trained": dg.MetadataValue.json(trained),
            "mistral_llm": dg.MetadataValue.json(llm_stats),
        },
    )


@dg.asset(group_name=GROUP, description="Trades of every active model, written to trade_results.")
def trade_results(
    model_signals: stages.ModelSignals, store: StoreResource
) -> dg.Output[stages.TradeOutcome]:
    conn = store.connect()
    try:
        outcome = stages.run_winrate_test(conn, model_signals.session.session_id, model_signals)
    finally:
        conn.close()
    per_model = outcome.trades.groupby("ai_model_id")["pnl"].agg(["count", "sum"])
    return dg.Output(
        outcome,
        metadata={
            "rows": len(outcome.trades),
            "per_model": dg.MetadataValue.md(per_model.round(2).to_markdown()),
        },
    )


@dg.asset(
    group_name=GROUP,
    description="Weights after rewarding and punishing every closed trade; "
    "every change written to model_weight_history.",
)
def model_weights(
    trade_results: stages.TradeOutcome, store: StoreResource
) -> dg.Output[stages.WeightOutcome]:
    conn = store.connect()
    try:
        outcome = stages.apply_reinforcement(conn, trade_results.session.session_id, trade_results)
    finally:
        conn.close()
    table = pd.DataFrame(
        {
            "before": outcome.live_before,
            "session start": outcome.path.initial,
            "after": outcome.path.final,
        }
    )
    return dg.Output(
        outcome,
        metadata={
            "history_rows": outcome.history_rows,
            "updates": outcome.path.updates,
            "weights": dg.MetadataValue.md(table.round(6).to_markdown()),
        },
    )


@dg.asset(
    group_name=GROUP,
    description="Per-model metrics; completes the session and publishes "
    "the new weights once the checks pass.",
)
def performance_metrics(
    trade_results: stages.TradeOutcome, model_weights: stages.WeightOutcome, store: StoreResource
) -> dg.Output[stages.SessionSummary]:
    conn = store.connect()
    try:
        summary = stages.complete_session(
            conn, trade_results.session.session_id, trade_results, model_weights
        )
    finally:
        conn.close()
    table = summary_table(summary)
    report = summary.report
    return dg.Output(
        summary,
        metadata={
            "session_id": summary.session_id,
            "rows": len(summary.metrics),
            "summary": dg.MetadataValue.md(table.to_markdown(index=False)),
            "ensemble_report": dg.MetadataValue.md(report_table(report).to_markdown()),
            "regret_vs_best_model": report["regret_vs_best_model"],
            "learning_paid": report["learning_paid"],
        },
    )


def summary_table(summary: stages.SessionSummary) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "model": m,
                "trades": x.total_trades,
                "win_rate": round(x.win_rate, 4),
                "pnl": round(x.total_pnl, 2),
                "sharpe": None if x.sharpe_ratio is None else round(x.sharpe_ratio, 3),
                "max_drawdown": round(x.max_drawdown, 4),
                "weight_before": round(summary.weights_before.get(m, 0.0), 6),
                "weight_after": round(summary.weights_after.get(m, 0.0), 6),
            }
            for m, x in summary.metrics.items()
        ]
    )


def report_table(report: dict) -> pd.DataFrame:
    rows = {f"ensemble: {k}": v for k, v in report["ensembles"].items()}
    rows.update({f"alone: {k}": v for k, v in report["models_alone"].items()})
    return pd.DataFrame(rows).T.round(4)


SESSION_ASSETS = [
    market_bars,
    features,
    model_signals,
    trade_results,
    model_weights,
    performance_metrics,
]
