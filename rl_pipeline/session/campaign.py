"""Use case: a walk-forward campaign — N consecutive, non-overlapping sessions ending at the
last stored bar, each starting from the previous session's final weights, with a learning
curve per session for every rule, static and equal weights, each model and the best model in
hindsight, and the bootstrap verdict over the whole campaign (docs/SEMANTICS.md).

No look-ahead: session k loads no bar after the end of its own test period, so changing a bar
after it changes nothing in sessions 1..k. Live weights change only with ``publish``.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rl_pipeline.config import SessionConfig
from rl_pipeline.ensemble.orchestrator import weights_before_each_bar
from rl_pipeline.evaluation.bootstrap import paired_block_bootstrap
from rl_pipeline.operations_config import OperationsConfig
from rl_pipeline.rl.rules import rule_names
from rl_pipeline.rl.weight_update import WeightRule, session_start_weights
from rl_pipeline.session import stages
from rl_pipeline.session.report import EnsembleRun, ensemble_run, signal_matrices
from rl_pipeline.session.signal_warmup import warm_signal_cache
from rl_pipeline.store import ai_models, campaigns
from rl_pipeline.store.bars import bar_ranges
from rl_pipeline.timestamps import format_time, iso_z, readable_id
from rl_pipeline.weights.learning import learn_weights, learning_inputs

SECONDS_PER_DAY = 86_400
SPECIFICATION_RULE = "binary"
log = logging.getLogger("rl_pipeline.campaign")


class CampaignError(ValueError):
    """A campaign that cannot run as asked; the message says why."""


@dataclass
class _Chain:
    """One strategy through the campaign: its weights carried from session to session (rules)
    and its daily P&L, session P&L and cumulative P&L."""

    weights: dict[str, float] | None = None
    daily: list[np.ndarray] = field(default_factory=list)
    session_pnl: list[float] = field(default_factory=list)

    def add(self, run: EnsembleRun) -> None:
        self.daily.append(run.daily())
        self.session_pnl.append(run.metrics.total_pnl)

    def all_days(self) -> np.ndarray:
        return np.concatenate(self.daily) if self.daily else np.zeros(0)


def campaign_windows(
    ranges: dict[str, tuple[int, int, int]],
    symbols: list[str],
    sessions: int,
    test_period_days: int,
) -> list[int]:
    """The end (epoch seconds) of each session's test period, oldest first; refused when the
    stored bars of ``symbols`` (``ranges``: symbol -> first, last, rows) do not cover
    sessions x test_period_days."""
    end = max(ranges[s][1] for s in symbols)
    first = min(ranges[s][0] for s in symbols)
    span = sessions * test_period_days * SECONDS_PER_DAY
    if end - span + 1 < first:
        have = (end - first) / SECONDS_PER_DAY
        raise CampaignError(
            f"sessions x test_period_days: {sessions} x {test_period_days} days need "
            f"{sessions * test_period_days} days of bars, the store has {have:.1f} "
            f"({format_time(np.array([first]))[0]} to {format_time(np.array([end]))[0]} UTC)"
        )
    step = test_period_days * SECONDS_PER_DAY
    return [end - (sessions - 1 - k) * step for k in range(sessions)]


def run_campaign(
    conn: sqlite3.Connection,
    config: SessionConfig,
    sessions: int,
    test_period_days: int,
    rule: str | None = None,
    publish: bool = False,
    campaign_id: str | None = None,
    progress: Callable[[str], None] | None = None,
    parallel_signals: bool = True,
) -> dict[str, Any]:
    """Run the campaign in this process and return its stored view (see ``campaign_view``).
    With ``parallel_signals`` (and the signal cache on), the walk-forward fits of every
    session's window run side by side first; the sessions then run in order and reuse them."""
    if sessions < 1 or test_period_days < 1:
        raise CampaignError("sessions and test_period_days must be >= 1")
    if rule is not None and rule not in rule_names():
        raise CampaignError(f"rule: unknown rule {rule!r}; registered: {', '.join(rule_names())}")
    document = config.model_dump()
    document["test_period_days"] = test_period_days
    document["weights"]["rule"] = rule or config.weights.rule
    config = SessionConfig.model_validate(document)
    ranges = bar_ranges(conn)
    symbols = list(config.symbols) or sorted(ranges)
    unknown = sorted(set(symbols) - set(ranges))
    if not symbols or unknown:
        raise CampaignError(f"symbols: no bars stored for {', '.join(unknown) or 'any symbol'}")
    ends = campaign_windows(ranges, symbols, sessions, test_period_days)
    start_weights = ai_models.live_weights(conn)
    campaign_id = campaign_id or readable_id("campaign-")
    campaigns.insert_campaign(
        conn,
        campaign_id,
        sessions,
        test_period_days,
        config.weights.rule,
        publish,
        config.model_dump_json(),
        start_weights,
    )
    say = progress or (lambda message: log.info(message))
    try:
        if parallel_signals and OperationsConfig.from_env().signal_cache:
            # The fits of every window side by side first; the sessions then reuse them.
            warm_signal_cache(conn, config, ends, campaign_id, say)
        result, curve = _run_sessions(conn, config, campaign_id, ends, start_weights, publish, say)
    except BaseException as exc:
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        campaigns.finish_campaign(conn, campaign_id, None, detail)
        raise
    campaigns.finish_campaign(conn, campaign_id, result, None, curve)
    return campaign_view(conn, campaign_id)


def _run_sessions(
    conn: sqlite3.Connection,
    config: SessionConfig,
    campaign_id: str,
    ends: list[int],
    start_weights: dict[str, float],
    publish: bool,
    say: Callable[[str], None],
) -> tuple[dict[str, Any], list[tuple[int, str, float | None, float]]]:
    rules = {name: _Chain(weights=dict(start_weights)) for name in rule_names()}
    static, equal = _Chain(), _Chain()
    models: dict[str, list[float]] = {}
    session_ids = []
    own = config.weights.rule
    for k, end in enumerate(ends, start=1):
        handle = stages.open_session(conn, config)
        sid = handle.session_id
        session_ids.append(sid)
        window, outcome, weights = stages.learn_session_weights(
            conn, handle, test_end_ts=end, start_weights=rules[own].weights
        )
        signals = outcome.signals
        measured = stages.record_metrics(conn, sid, outcome, weights, start_weights)
        summary = stages.finish_session(conn, sid, outcome, weights, measured, publish)
        test_bars = signals.test_bars
        # The session's effective configuration (defaults filled for its bars) from here on.
        effective = outcome.session.config
        campaigns.add_campaign_session(
            conn,
            campaign_id,
            k,
            sid,
            str(format_time(np.array([window.test_start_ts]))[0]),
            str(format_time(np.array([window.test_end_ts]))[0]),
        )
        active = list(signals.active)
        s, c = signal_matrices(signals.signals, active, len(test_bars))
        n = len(test_bars)
        fixed = session_start_weights(start_weights, active, WeightRule.from_config(effective))
        static_weights = np.tile([fixed[m] for m in active], (n, 1))
        static.add(ensemble_run(test_bars, static_weights, s, c, effective))
        equal_weights = np.full((n, len(active)), 1.0 / len(active))
        equal.add(ensemble_run(test_bars, equal_weights, s, c, effective))
        inputs = learning_inputs(outcome.trades, outcome.curves)
        for name, chain in rules.items():
            params = WeightRule.from_config(effective, rule=name)
            begin = session_start_weights(chain.weights, active, params)
            try:
                path = learn_weights(begin, inputs, params, effective)
            except ValueError:  # parameters this rule cannot take: it keeps its weights
                path = None
            if path is None:
                w = np.tile([begin[m] for m in active], (n, 1))
            else:
                w = weights_before_each_bar(path, test_bars["ts"].to_numpy())
            chain.add(ensemble_run(test_bars, w, s, c, effective))
            chain.weights = {**chain.weights, **(path.final if path else begin)}
        for model_id, metrics in summary.metrics.items():
            models.setdefault(model_id, [0.0] * (k - 1)).append(metrics.total_pnl)
        for series in models.values():
            series.extend([0.0] * (k - len(series)))
        say(
            f"campaign {campaign_id}: session {k}/{len(ends)} {sid} "
            f"({own} {rules[own].session_pnl[-1]:+,.2f}, static {static.session_pnl[-1]:+,.2f})"
        )
    return _result(own, rules, static, equal, models, session_ids, start_weights, publish, config)


def _result(
    own: str,
    rules: dict[str, _Chain],
    static: _Chain,
    equal: _Chain,
    models: dict[str, list[float]],
    session_ids: list[str],
    start_weights: dict[str, float],
    publish: bool,
    config: SessionConfig,
) -> tuple[dict[str, Any], list[tuple[int, str, float | None, float]]]:
    v = config.verdict

    def judge(a: _Chain, b: _Chain) -> dict[str, Any]:
        return paired_block_bootstrap(
            a.all_days() - b.all_days(), v.resamples, v.seed, v.block_days
        ).as_dict()

    series: dict[str, list[float]] = {f"rule:{n}": c.session_pnl for n, c in rules.items()}
    series["static"] = static.session_pnl
    series["equal"] = equal.session_pnl
    series.update({f"model:{m}": pnl for m, pnl in models.items()})
    # A model that never traded (an inactive MistralAI) has P&L 0, not a strategy to compare
    # against: only models that traded count for the best in hindsight.
    traded = {m for m, pnl in models.items() if any(x != 0.0 for x in pnl)}
    totals = {m: sum(p) for m, p in models.items() if m in traded}
    best = max(totals, key=totals.__getitem__) if totals else None
    if best is not None:
        series["best_in_hindsight"] = models[best]
    rows: list[tuple[int, str, float | None, float]] = []
    for name, pnl in series.items():
        for seq, cumulative in enumerate(np.cumsum(pnl), start=1):
            rows.append((seq, name, float(pnl[seq - 1]), float(cumulative)))
    if best is not None:
        regret = np.cumsum(models[best]) - np.cumsum(rules[own].session_pnl)
        rows += [(seq, "regret_vs_best_model", None, float(r)) for seq, r in enumerate(regret, 1)]
    result = {
        "rule": own,
        "publish": publish,
        "start_weights": start_weights,
        "final_weights": {name: chain.weights for name, chain in rules.items()},
        "best_model_in_hindsight": best,
        "verdict": {
            "adaptive_minus_static": judge(rules[own], static),
            "adaptive_minus_equal": judge(rules[own], equal),
        },
        "tournament": [
            {
                "rule": name,
                "total_pnl": float(sum(chain.session_pnl)),
                "final_weights": chain.weights,
                "verdict": {
                    "adaptive_minus_static": judge(chain, static),
                    "adaptive_minus_equal": judge(chain, equal),
                    # Against the specification's rule: does an alternative do better?
                    "adaptive_minus_binary": judge(chain, rules[SPECIFICATION_RULE]),
                },
            }
            for name, chain in rules.items()
        ],
        "session_ids": session_ids,
    }
    return result, rows


def campaign_view(conn: sqlite3.Connection, campaign_id: str | None = None) -> dict[str, Any]:
    """A campaign (default: the latest): its sessions, learning curve (one row per session,
    one column per strategy) and verdict, times as ISO 8601 with Z. Raises ``LookupError``
    when there is none."""
    campaigns.fail_orphaned_campaigns(conn)
    campaign_id = campaign_id or campaigns.latest_campaign_id(conn)
    row = campaigns.get_campaign(conn, campaign_id) if campaign_id else None
    if row is None:
        raise LookupError(
            f"campaign {campaign_id!r} does not exist" if campaign_id else "no campaign has run yet"
        )
    sessions = campaigns.campaign_sessions(conn, campaign_id)
    curve: dict[int, dict[str, Any]] = {
        s["seq"]: {
            "seq": s["seq"],
            "session_id": s["session_id"],
            "test_start": iso_z(s["test_start"]),
            "test_end": iso_z(s["test_end"]),
        }
        for s in sessions
    }
    for point in campaigns.campaign_curve(conn, campaign_id):
        curve[point["seq"]][point["strategy"]] = point["cumulative_pnl"]
    result = json.loads(row["result"]) if row["result"] else {}
    return {
        "campaign_id": campaign_id,
        "status": row["status"],
        "created_at": iso_z(row["created_at"]),
        "ended_at": iso_z(row["ended_at"]),
        "error": row["error"],
        "rule": row["rule"],
        "publish": bool(row["publish"]),
        "test_period_days": row["test_period_days"],
        "sessions": [s["session_id"] for s in sessions],
        "curve": [curve[seq] for seq in sorted(curve)],
        "verdict": result.get("verdict"),
        "tournament": result.get("tournament", []),
        "best_model_in_hindsight": result.get("best_model_in_hindsight"),
        "start_weights": json.loads(row["start_weights"]),
        "final_weights": result.get("final_weights", {}),
    }
