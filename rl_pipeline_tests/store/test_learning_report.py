"""A session's learning report as a user reads it: models that did not act keep their weight and
say why, the tournament of every rule, and the verdict (``session show`` text and ``--json``)."""

from __future__ import annotations

import json
import logging
import sqlite3

import pytest

from rl_pipeline.config import SessionConfig
from rl_pipeline.configuration.store import (
    ConfigValidationError,
    active_session_config,
    export_config,
    import_config,
)
from rl_pipeline.rl.rules import rule_names
from rl_pipeline.session import stages as stages
from rl_pipeline.session.campaign import run_campaign
from rl_pipeline.session.replay import replay_session_weights
from rl_pipeline.store import ai_models, results
from rl_pipeline_tests.support.cli import cli

CONFIG = SessionConfig(test_period_days=10)


def test_a_model_that_cannot_train_keeps_its_weight_and_says_why(
    small_store: sqlite3.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    config = CONFIG.model_copy(
        update={
            "models": CONFIG.models.model_copy(
                update={
                    "lava_ai": CONFIG.models.lava_ai.model_copy(update={"min_train_rows": 10**7})
                }
            )
        }
    )
    live_before = ai_models.live_weights(small_store)
    with caplog.at_level(logging.WARNING):
        summary = stages.run_session(small_store, config, publish=True)
    assert "lava_ai" in summary.active
    trades = results.read_trades(small_store, summary.session_id)
    assert (trades["ai_model_id"] == "lava_ai").sum() == 0
    start = summary.report["start_weights"]
    assert summary.weights_after["lava_ai"] == start["lava_ai"] == live_before["lava_ai"]
    reason = summary.not_acting["lava_ai"]
    assert "could not train" in reason and "min_train_rows is 10000000" in reason
    assert summary.report["not_acting"] == {"lava_ai": reason}
    assert summary.report["best_single_model"] != "lava_ai"
    for entry in summary.report["tournament"]:
        assert entry["final_weights"]["lava_ai"] == start["lava_ai"]
    assert any(
        "lava_ai did not act" in r.message and "could not train" in r.message
        for r in caplog.records
    )
    # Its weight history has only its session-start row.
    history = results.read_weight_history(small_store, summary.session_id)
    assert (history.loc[history["model_id"] == "lava_ai", "seq"] == 0).all()


def test_session_show_prints_the_tournament_and_the_verdict(
    small_store: sqlite3.Connection,
) -> None:
    config = CONFIG.model_copy(
        update={
            "weights": CONFIG.weights.model_copy(update={"rule": "hedge", "update_every": "1d"})
        }
    )
    summary = stages.run_session(small_store, config, publish=True)
    shown = cli("session", "show", summary.session_id, "--json")
    assert shown.returncode == 0, shown.stderr
    view = json.loads(shown.stdout)
    report = view["report"]
    assert [e["rule"] for e in report["tournament"]] == list(rule_names())
    for entry in report["tournament"]:
        assert {"rule", "total_pnl", "sharpe", "max_drawdown", "final_weights"} <= set(entry)
    for name in ("adaptive_minus_static", "adaptive_minus_equal"):
        v = report["verdict"][name]
        assert {"mean", "ci_low", "ci_high", "p_value", "answer"} <= set(v)
        assert v["answer"] in {"yes", "no", "inconclusive"}
    assert report["rule"] == "hedge" and report["update_every"] == "1d"
    hedge = next(e for e in report["tournament"] if e["rule"] == "hedge")
    assert hedge["final_weights"] == view["summary"]["weights_after"]
    # Period updates: one per UTC day of the test period at most, each logged with its period.
    history = results.read_weight_history(small_store, summary.session_id)
    context = [json.loads(c) for c in history["trade_context"] if json.loads(c)["seq"] > 0]
    assert context and all("period_end" in c and c["rule"] == "hedge" for c in context)
    assert max(c["seq"] for c in context) <= 11

    text = cli("session", "show", summary.session_id)
    assert text.returncode == 0
    assert "rule tournament" in text.stdout
    rows = [line.split()[0] for line in text.stdout.splitlines() if line.strip()]
    for name in rule_names():
        assert (f"*{name}" if name == "hedge" else name) in rows
    v = report["verdict"]["adaptive_minus_static"]
    assert f"adaptive - static weights: {v['answer']}" in text.stdout
    assert f"p = {v['p_value']:.3f}" in text.stdout


def test_the_rule_travels_with_the_configuration_document(small_store: sqlite3.Connection) -> None:
    document = export_config(small_store)
    assert document["session"]["weights"]["rule"] == "binary"
    document["session"]["weights"].update({"rule": "hedge", "update_every": "1d"})
    import_config(small_store, document, source="test")
    assert active_session_config(small_store).weights.rule == "hedge"
    view = run_campaign(small_store, active_session_config(small_store), 2, 4)
    assert view["rule"] == "hedge"
    session = json.loads(
        small_store.execute(
            "SELECT configuration FROM reinforcement_sessions WHERE session_id = ?",
            (view["sessions"][0],),
        ).fetchone()[0]
    )
    assert (session["weights"]["rule"], session["weights"]["update_every"]) == ("hedge", "1d")
    # A document written before rules were plugins names the rule `mode`: still read.
    legacy = export_config(small_store)
    del legacy["session"]["weights"]["rule"]
    legacy["session"]["weights"]["mode"] = "pnl_scaled"
    import_config(small_store, legacy, source="test")
    assert active_session_config(small_store).weights.rule == "pnl_scaled"
    document["session"]["weights"]["rule"] = "martingale"
    with pytest.raises(ConfigValidationError, match="unknown rule 'martingale'"):
        import_config(small_store, document, source="test")


def test_a_period_session_cannot_be_replayed_from_its_trades(
    small_store: sqlite3.Connection,
) -> None:
    config = CONFIG.model_copy(
        update={
            "weights": CONFIG.weights.model_copy(update={"rule": "hedge", "update_every": "1d"})
        }
    )
    source = stages.run_session(small_store, config, publish=False)
    before = list(small_store.iterdump())
    with pytest.raises(stages.SessionError, match="updates every 1d.*not stored"):
        replay_session_weights(small_store, source.session_id)
    assert list(small_store.iterdump()) == before, "a refused replay writes nothing"
