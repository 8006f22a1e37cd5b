"""The reinforcement session as one asset lineage, one dynamic partition (key = session id) per
session:

market_bars -> features -> model_signals -> trade_results -> model_weights -> performance_metrics
-> live_weights

Each asset calls one service stage and reports what it wrote."""

import dagster as dg
import numpy as np
import pandas as pd

from rl_pipeline.dagster_defs import metadata as md
from rl_pipeline.dagster_defs.failures import stage_failure
from rl_pipeline.dagster_defs.partitions import SESSION_PARTITIONS
from rl_pipeline.dagster_defs.resources.mistral_server import MistralServerResource
from rl_pipeline.dagster_defs.resources.store import StoreResource
from rl_pipeline.dagster_defs.session_config import SessionRunConfig
from rl_pipeline.llm.endpoint import find_llm
from rl_pipeline.reporting import charts
from rl_pipeline.session import stages as stages
from rl_pipeline.session.launch import session_config_with
from rl_pipeline.session.requests import get_request

GROUP = "reinforcement_session"
BACKTEST_JOB = "backtest_job"


# Bump an asset's code version when what it computes changes (the UI then flags the partitions
# materialised by older code).
CODE_VERSION = "1"


def session_asset(description: str, kinds: set[str]):
    return dg.asset(
        group_name=GROUP,
        partitions_def=SESSION_PARTITIONS,
        description=description,
        kinds=kinds,
        owners=md.OWNERS,
        code_version=CODE_VERSION,
    )


def session_of(context: dg.OpExecutionContext | dg.AssetExecutionContext) -> str:
    """The session is the run's partition: the one place a session asset takes its id from."""
    return context.partition_key


def per_symbol(bars: pd.DataFrame) -> pd.DataFrame:
    """Bars, test bars and first/last bar time per symbol."""
    frame = bars.groupby("symbol").agg(
        bars=("ts", "size"), test_bars=("in_test", "sum"), first=("ts", "min"), last=("ts", "max")
    )
    for column in ("first", "last"):
        frame[column] = pd.to_datetime(frame[column], unit="s", utc=True).dt.strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
    return frame.astype({"test_bars": int})


@session_asset(
    "Bars of the test period plus indicator history; opens the session row.", {"python", "sqlite"}
)
def market_bars(
    context: dg.AssetExecutionContext, config: SessionRunConfig, store: StoreResource
) -> dg.Output[stages.MarketWindow]:
    session_id = session_of(context)
    with stage_failure("market_bars", session_id=session_id), store.connection() as conn:
        # A requested session (API, CLI, sensor, schedule) brings its full configuration; a run
        # started from run config alone starts from the active stored one.
        request = get_request(conn, session_id)
        session_config = (
            request.config if request else session_config_with(conn, config.overrides())
        )
        handle = stages.open_session(conn, session_config, session_id, context.run.run_id)
        window = stages.load_market_window(conn, session_id, handle)
    bars = window.bars
    return dg.Output(
        window,
        metadata={
            "session_id": session_id,
            md.ROW_COUNT: len(bars),
            "test_rows": int(bars["in_test"].sum()),
            "symbols": ", ".join(sorted(bars["symbol"].unique())),
            "per_symbol": md.table(per_symbol(bars)),
            "test_period": f"{pd.Timestamp(window.test_start_ts, unit='s')} .. "
            f"{pd.Timestamp(window.test_end_ts, unit='s')} UTC",
            # The effective configuration: every interval-dependent default filled.
            "configuration": dg.MetadataValue.json(window.session.config.model_dump(mode="json")),
            "bar_profile": dg.MetadataValue.json(window.session.notes.get("bar_profile", {})),
            "skipped_symbols": dg.MetadataValue.json(
                window.session.notes.get("skipped_symbols", {})
            ),
        },
    )


@session_asset(
    "Technical features, each from bars at or before its own and of its own symbol.",
    {"python", "pandas"},
)
def features(
    context: dg.AssetExecutionContext, market_bars: stages.MarketWindow, store: StoreResource
) -> dg.Output[pd.DataFrame]:
    # One step for every symbol: vectorised, the features of 64 symbols take ≈0.1 s, less than
    # Dagster spends on a single step (a step per symbol took ≈4.5 s for 64 symbols in process).
    session_id = session_of(context)
    with stage_failure("features", session_id=session_id), store.connection() as conn:
        frame = stages.compute_features(conn, session_id, market_bars)
    columns = [c for c in frame.columns if c.startswith("f_")]
    return dg.Output(
        frame,
        metadata={
            md.ROW_COUNT: len(frame),
            "symbols": int(frame["symbol"].nunique()),
            "feature_columns": ", ".join(columns),
            md.COLUMN_SCHEMA: md.schema(frame),
        },
    )


@session_asset(
    "Signal and confidence of every active model per bar (TradingAI rules, LavaAI "
    "scikit-learn, LGBMAI LightGBM, MistralAI through the Mistral server).",
    {"python", "scikit-learn", "lightgbm"},
)
def model_signals(
    context: dg.AssetExecutionContext,
    market_bars: stages.MarketWindow,
    features: pd.DataFrame,
    store: StoreResource,
    mistral: MistralServerResource,
) -> dg.Output[stages.ModelSignals]:
    session_id = session_of(context)
    with stage_failure("model_signals", session_id=session_id):
        llm = find_llm(mistral.model_path, mistral.ensure_server, mistral.status)
        if llm[0] is None:
            context.log.info(f"MistralAI inactive: {llm[1]}")
        with store.connection() as conn:
            signals = stages.compute_signals(conn, session_id, market_bars, features, llm)
    counts = (
        signals.signals.groupby("model_id")["signal"]
        .value_counts()
        .unstack(fill_value=0)
        .reindex(columns=[-1, 0, 1], fill_value=0)
        .rename(columns={-1: "short", 0: "flat", 1: "long"})
    )
    trained = {m: len(a) for m, a in signals.training.items() if a}
    for model_id, warning in signals.session.notes.get("training_warnings", {}).items():
        context.log.warning(f"{model_id}: {warning}")
    llm_stats = signals.parameters.get("mistral_ai", {}).get("llm_stats", {})
    return dg.Output(
        signals,
        metadata={
            md.ROW_COUNT: len(signals.signals),
            "active_models": ", ".join(signals.active),
            "inactive_models": dg.MetadataValue.json(signals.inactive),
            "signal_counts": md.table(counts),
            "models_trained": dg.MetadataValue.json(trained),
            "mistral_llm": dg.MetadataValue.json(llm_stats),
            "training_warnings": dg.MetadataValue.json(
                signals.session.notes.get("training_warnings", {})
            ),
        },
    )


@session_asset("Trades of every active model, written to trade_results.", {"python", "sqlite"})
def trade_results(
    context: dg.AssetExecutionContext, model_signals: stages.ModelSignals, store: StoreResource
) -> dg.Output[stages.TradeOutcome]:
    session_id = session_of(context)
    with stage_failure("trade_results", session_id=session_id), store.connection() as conn:
        outcome = stages.run_winrate_test(conn, session_id, model_signals)
    trades = outcome.trades
    per_model = trades.groupby("ai_model_id")["pnl"].agg(
        trades="count", wins=lambda pnl: int((pnl > 0).sum()), pnl="sum"
    )
    return dg.Output(
        outcome,
        metadata={
            md.ROW_COUNT: len(trades),
            md.COLUMN_SCHEMA: md.schema(trades),
            "per_model": md.table(per_model.rename_axis("model")),
            "first_trades": md.table(trades, limit=20),
            "equity_curves": md.image(
                charts.equity_chart(outcome.curves, "mark-to-market equity of each model"),
                "equity of each model",
            ),
        },
    )


@session_asset(
    "Weights after rewarding and punishing every closed trade; every change is written to "
    "model_weight_history.",
    {"python", "sqlite"},
)
def model_weights(
    context: dg.AssetExecutionContext, trade_results: stages.TradeOutcome, store: StoreResource
) -> dg.Output[stages.WeightOutcome]:
    session_id = session_of(context)
    with stage_failure("model_weights", session_id=session_id), store.connection() as conn:
        outcome = stages.apply_reinforcement(conn, session_id, trade_results)
    path = outcome.path
    test_ts = trade_results.signals.test_bars["ts"]
    table = pd.DataFrame(
        {"live before": outcome.live_before, "session start": path.initial, "after": path.final}
    )
    return dg.Output(
        outcome,
        metadata={
            md.ROW_COUNT: outcome.history_rows,
            "updates": path.updates,
            "weights": dg.MetadataValue.md(table.round(6).to_markdown()),
            "weight_evolution": md.image(
                charts.weights_chart(
                    int(test_ts.min()) if len(test_ts) else 0,
                    path.update_times,
                    np.asarray(path.vectors),
                    list(path.active),
                ),
                "model weights over time",
            ),
        },
    )


@session_asset(
    "Per-model metrics and the session report (adaptive vs static ensembles).",
    {"python", "sqlite"},
)
def performance_metrics(
    context: dg.AssetExecutionContext,
    trade_results: stages.TradeOutcome,
    model_weights: stages.WeightOutcome,
    store: StoreResource,
) -> dg.Output[stages.MetricsOutcome]:
    session_id = session_of(context)
    with stage_failure("performance_metrics", session_id=session_id), store.connection() as conn:
        measured = stages.record_metrics(conn, session_id, trade_results, model_weights)
    table = summary_table(measured, model_weights)
    return dg.Output(
        measured,
        metadata={
            "session_id": session_id,
            md.ROW_COUNT: len(measured.metrics),
            "summary": md.table(table),
            "ensemble_equity": md.image(
                charts.ensemble_chart(measured.ensemble_curves, trade_results.curves),
                "ensemble equity on adaptive, static and equal weights, and each model",
            ),
            "session_report": dg.MetadataValue.md(report_table(measured.report).to_markdown()),
            "tournament": dg.MetadataValue.md(tournament_table(measured.report)),
            "verdict": dg.MetadataValue.json(measured.report["verdict"]),
            "not_acting": dg.MetadataValue.json(measured.report["not_acting"]),
            "regret_vs_best_model": dg.MetadataValue.float(
                measured.report["regret_vs_best_model"] or 0.0
            ),
            "learning_paid": measured.report["learning_paid"],
        },
    )


@session_asset(
    "The checked new weights made live in ai_models, the model versions, and the session "
    "completed — only when every blocking check upstream passed. A backtest completes the "
    "session and leaves the live weights untouched.",
    {"python", "sqlite"},
)
def live_weights(
    context: dg.AssetExecutionContext,
    trade_results: stages.TradeOutcome,
    model_weights: stages.WeightOutcome,
    performance_metrics: stages.MetricsOutcome,
    store: StoreResource,
) -> dg.Output[stages.SessionSummary]:
    session_id = session_of(context)
    with stage_failure("live_weights", session_id=session_id), store.connection() as conn:
        summary = stages.finish_session(
            conn,
            session_id,
            trade_results,
            model_weights,
            performance_metrics,
            publish=context.job_name != BACKTEST_JOB,
        )
    return dg.Output(
        summary,
        metadata={
            "session_id": summary.session_id,
            md.ROW_COUNT: len(summary.weights_after),
            "report": dg.MetadataValue.path(str(stages.session_report_path(summary.session_id))),
            "weights": md.weights_markdown(summary.weights_before, summary.weights_after),
        },
    )


def summary_table(measured: stages.MetricsOutcome, weights: stages.WeightOutcome) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "model": m,
                "trades": x.total_trades,
                "win_rate": round(x.win_rate, 4),
                "pnl": round(x.total_pnl, 2),
                "sharpe": None if x.sharpe_ratio is None else round(x.sharpe_ratio, 3),
                "max_drawdown": round(x.max_drawdown, 4),
                "weight_before": round(weights.live_before.get(m, 0.0), 6),
                "weight_after": round(weights.path.final.get(m, 0.0), 6),
            }
            for m, x in measured.metrics.items()
        ]
    )


def tournament_table(report: dict) -> str:
    """The rule tournament as Markdown: every rule on the session's signals, with its verdict."""
    rows = [
        {
            "rule": e["rule"] + (" (this session)" if e["rule"] == report["rule"] else ""),
            "trades": e.get("total_trades"),
            "pnl": round(e["total_pnl"], 2) if "total_pnl" in e else None,
            "sharpe": None if e.get("sharpe") is None else round(e["sharpe"], 3),
            "max_drawdown": round(e["max_drawdown"], 4) if "max_drawdown" in e else None,
            "vs static": e["verdict"]["adaptive_minus_static"]["answer"] if "verdict" in e else "",
            "vs equal": e["verdict"]["adaptive_minus_equal"]["answer"] if "verdict" in e else "",
            "not run": e.get("error", ""),
        }
        for e in report["tournament"]
    ]
    return pd.DataFrame(rows).to_markdown(index=False)


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
    live_weights,
]
