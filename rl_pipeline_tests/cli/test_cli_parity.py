"""The CLI commands added with the API call the same service functions and print the same
numbers: ``session start``, ``analytics trades`` and ``models performance``."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from rl_pipeline.analytics.performance import model_performance
from rl_pipeline.analytics.trades import trade_analysis
from rl_pipeline_tests.support.analytics_store import dump, make_session_store
from rl_pipeline_tests.support.cli import cli


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db, _ = make_session_store(tmp_path, periods=(5,))
    monkeypatch.setenv("RL_PIPELINE_DATA_DIR", str(db.parent))
    monkeypatch.setenv("RL_PIPELINE_DB", str(db))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    return db


def test_analytics_trades_and_models_performance(store: Path) -> None:
    done = cli("analytics", "trades", "--model-id", "lgbm_ai", "--start", "2025-01-01", "--json")
    assert done.returncode == 0, done.stderr
    expected = trade_analysis(store, model_id="lgbm_ai", start="2025-01-01")
    assert json.loads(done.stdout) == json.loads(json.dumps(expected))
    table = cli("analytics", "trades", "--symbol", "AAA")
    assert table.returncode == 0, table.stderr
    summary = trade_analysis(store, symbol="AAA")["summary"]
    assert table.stdout.startswith(f"{summary['trades']} trades in 1 session(s) (symbol=AAA)")
    assert "best trades:" in table.stdout and "hour (UTC)" in table.stdout

    perf = cli("models", "performance", "--json")
    assert perf.returncode == 0, perf.stderr
    assert json.loads(perf.stdout) == json.loads(json.dumps(model_performance(store)))
    text = cli("models", "performance")
    assert text.returncode == 0 and "trading_ai" in text.stdout and "lgbm_ai" in text.stdout

    unknown = cli("analytics", "trades", "--session-id", "nope")
    assert unknown.returncode == 1 and "session 'nope' does not exist" in unknown.stderr
    backwards = cli("analytics", "trades", "--start", "2025-02-01", "--end", "2025-01-01")
    assert backwards.returncode == 1 and "end must be after start" in backwards.stderr


def test_session_start_waits_for_the_dagster_run(store: Path) -> None:
    before = dump(store)
    bad = cli("session", "start", "--test-period-days", "5", "--learning-rate", "0")
    assert bad.returncode == 1 and "rejected, nothing started: learning_rate" in bad.stderr
    assert dump(store) == before

    unknown = cli("session", "start", "--test-period-days", "5", "--update-every", "2w")
    assert unknown.returncode == 1
    assert "rejected, nothing started: weights.update_every" in unknown.stderr
    assert dump(store) == before

    done = cli(
        "session",
        "start",
        "--test-period-days",
        "5",
        "--reward-multiplier",
        "2",
        "--rule",
        "fixed_share",
        "--update-every",
        "1d",
        "--wait",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith("session ") and ": completed" in first
    assert "weight history rows" in done.stdout
    session_id = first.split()[1].rstrip(":")
    shown = cli("session", "show", session_id)
    assert shown.returncode == 0 and shown.stdout.splitlines()[0] == first
    report = json.loads(cli("session", "show", session_id, "--json").stdout)["report"]
    assert (report["rule"], report["update_every"]) == ("fixed_share", "1d")
    log = (store.parent / "logs" / "cli.log").read_text().splitlines()
    assert any(line.endswith(f"rl-pipeline session show {session_id}") for line in log)
    assert len([line for line in log if session_id in line and "session show" not in line]) == 1


def test_session_start_takes_symbols_rule_costs_and_a_file_and_session_list_shows_it(
    store: Path, tmp_path: Path
) -> None:
    config = tmp_path / "session.yaml"
    config.write_text(
        "costs: {fee_bps: 3.0, slippage_bps: 9.0}\nmodels:\n  trading_ai: {fast_window: 12}\n"
    )
    done = cli(
        "session",
        "start",
        "--test-period-days",
        "4",
        "--symbols",
        "AAA",
        "--rule",
        "hedge",
        "--slippage-bps",
        "1.5",
        "-c",
        str(config),
        "--wait",
        "--json",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "  running: " in done.stderr  # a progress line per stage
    session_id = json.loads(done.stdout)["session_id"]
    shown = json.loads(cli("session", "show", session_id, "--json").stdout)
    configuration = cli("session", "show", session_id, "--config").stdout
    effective = json.loads(configuration[configuration.index("{") :])
    assert effective["symbols"] == ["AAA"] and effective["weights"]["rule"] == "hedge"
    assert effective["costs"] == {"fee_bps": 3.0, "slippage_bps": 1.5}  # the flag wins
    assert effective["models"]["trading_ai"]["fast_window"] == 12
    assert shown["report"]["rule"] == "hedge"
    listed = json.loads(cli("session", "list", "--json").stdout)
    assert listed[0]["session_id"] == session_id and listed[0]["rule"] == "hedge"
    assert [
        r["session_id"]
        for r in json.loads(cli("session", "list", "--status", "failed", "--json").stdout)
    ] == []
    text = cli("session", "list", "--limit", "1")
    assert text.returncode == 0 and session_id in text.stdout and len(text.stdout.splitlines()) == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("- not a mapping\n")
    refused = cli("session", "start", "--test-period-days", "4", "-c", str(bad))
    assert (
        refused.returncode == 1 and "expected a mapping of configuration fields" in refused.stderr
    )


def test_version() -> None:
    from importlib.metadata import version

    done = cli("--version")
    assert (
        done.returncode == 0
        and done.stdout.strip() == f"rl-pipeline, version {version('rl_pipeline')}"
    )


def test_analytics_trades_counts_no_trade_twice_over_two_sessions_of_the_same_bars(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, ids = make_session_store(tmp_path, periods=(5, 5))  # the same window twice
    monkeypatch.setenv("RL_PIPELINE_DATA_DIR", str(db.parent))
    monkeypatch.setenv("RL_PIPELINE_DB", str(db))
    conn = sqlite3.connect(db)
    try:
        stored, per_session = conn.execute(
            "SELECT COUNT(*), COUNT(*) / COUNT(DISTINCT session_id) FROM trade_results"
        ).fetchone()
        distinct = conn.execute(
            "SELECT COUNT(*) FROM (SELECT DISTINCT ai_model_id, symbol, direction, entry_time, "
            "exit_time FROM trade_results)"
        ).fetchone()[0]
    finally:
        conn.close()
    assert stored == 2 * per_session and distinct == per_session > 0

    done = cli("analytics", "trades", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["summary"]["trades"] == distinct
    assert sum(row["trades"] for row in result["by_model"]) == distinct
    assert result["coverage"]["sessions"] == sorted(ids)
    assert result["coverage"]["duplicates_counted_once"] == stored - distinct
    best = [(t["model_id"], t["symbol"], t["entry_time"]) for t in result["best_trades"]]
    assert len(best) == len(set(best))

    text = cli("analytics", "trades")
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith(f"{distinct} trades in 2 session(s)")
    assert f"sessions covered: {', '.join(sorted(ids))}" in text.stdout
    assert f"{stored - distinct} stored copies of the same trades" in text.stdout
