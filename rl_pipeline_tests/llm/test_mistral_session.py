"""A full session with MistralAI on a real llama-server process (a tiny random-weight GGUF whose
grammar-constrained answers come out LONG), through the service stages and through Dagster."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from rl_pipeline.config import MistralConfig, SessionConfig
from rl_pipeline.ensemble.orchestrator import ensemble_signals, weights_before_each_bar
from rl_pipeline.llm.endpoint import find_llm_with_manager
from rl_pipeline.mistral.manager import DEFAULT_EXTRA_ARGS, MistralServerManager
from rl_pipeline.models.base import LLMEndpoint
from rl_pipeline.session import stages as stages
from rl_pipeline.session.report import signal_matrices
from rl_pipeline.store import results
from rl_pipeline.store.bars import write_bars
from rl_pipeline.store.connection import open_store
from rl_pipeline_tests.conftest import llama_server_or_skip
from rl_pipeline_tests.support.dagster_cli import execute_job, make_dagster_home
from rl_pipeline_tests.support.processes import pick_free_port, servers_of
from rl_pipeline_tests.support.tiny_gguf import write_tiny_llama_gguf

CONFIG = SessionConfig(
    test_period_days=10,
    models={"mistral_ai": {"decision_every_bars": 12, "max_reason_chars": 24}},
)


@pytest.fixture
def long_model(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "models"
    folder.mkdir()
    path = write_tiny_llama_gguf(folder / "says-long.gguf", seed=1, prefer="L")
    yield path
    leftovers = servers_of(folder)
    for pid in leftovers:
        os.kill(pid, signal.SIGKILL)
    assert not leftovers, f"servers left running: {leftovers}"


@pytest.fixture
def manager(long_model: Path, isolated_data_dir: Path) -> Iterator[MistralServerManager]:
    config = MistralConfig(
        model_path=str(long_model),
        server_binary=str(llama_server_or_skip()),
        port=pick_free_port(),
        start_timeout_s=20,
        stop_grace_s=2,
        ctx_size=1024,
    )
    mgr = MistralServerManager(
        config, isolated_data_dir / "run", extra_args=(*DEFAULT_EXTRA_ARGS, "--threads", "1")
    )
    yield mgr
    mgr.stop()


def llm_stats(conn: sqlite3.Connection, session_id: str) -> dict:
    report = conn.execute(
        "SELECT report FROM session_reports WHERE session_id = ?", (session_id,)
    ).fetchone()[0]
    return json.loads(report)["parameters"]["mistral_ai"]["llm_stats"]


def test_mistral_trades_caches_and_reruns_without_calls(small_store, manager) -> None:
    llm = find_llm_with_manager(manager)
    assert llm[0] is not None, llm[1]
    first = stages.run_session(small_store, CONFIG, llm=llm, publish=True)
    assert "mistral_ai" in first.active
    assert first.metrics["mistral_ai"].total_trades > 0
    stats = llm_stats(small_store, first.session_id)
    assert stats["decisions"] > 0 and stats["llm_calls"] == stats["decisions"]
    assert stats["invalid_answers"] == 0
    cached = small_store.execute("SELECT COUNT(*), MIN(answer) FROM llm_answers").fetchone()
    assert cached[0] == stats["decisions"]
    assert json.loads(json.loads(cached[1])["content"])["signal"] == "LONG"

    # Kill the server: a rerun that asked it anything would get errors (HOLD) and other trades.
    manager.stop()
    dead = LLMEndpoint("http://127.0.0.1:9", llm[0].model_path, llm[0].model_sha256)
    second = stages.run_session(small_store, CONFIG, llm=(dead, ""), publish=True)
    again = llm_stats(small_store, second.session_id)
    assert again["llm_calls"] == 0 and again["cache_hits"] == stats["decisions"]
    ta = results.read_trades(small_store, first.session_id)
    tb = results.read_trades(small_store, second.session_id)
    columns = ["symbol", "entry_time", "exit_time", "direction", "pnl", "confidence"]
    pd.testing.assert_frame_equal(
        ta[ta["ai_model_id"] == "mistral_ai"][columns].reset_index(drop=True),
        tb[tb["ai_model_id"] == "mistral_ai"][columns].reset_index(drop=True),
    )


def test_without_a_server_mistral_sits_out_and_the_others_trade(small_store, manager) -> None:
    llm = find_llm_with_manager(
        MistralServerManager(
            manager.config.model_copy(update={"model_path": None}), manager.state_dir
        )
    )
    assert llm[0] is None and "no healthy Mistral server" in llm[1]
    summary = stages.run_session(small_store, CONFIG, llm=llm, publish=True)
    assert summary.active == ("trading_ai", "lava_ai", "lgbm_ai")
    assert summary.inactive["mistral_ai"] == llm[1]
    assert summary.weights_after["mistral_ai"] == 0.0


def perturbed(bars: pd.DataFrame, cutoff: int) -> pd.DataFrame:
    out = bars.copy()
    later = out["ts"] > cutoff
    factor = np.random.default_rng(5).uniform(0.7, 1.3, int(later.sum()))
    for col in ("open", "high", "low", "close"):
        out.loc[later, col] = out.loc[later, col] * factor
    return out


def session_parts(conn: sqlite3.Connection, llm):
    handle = stages.open_session(conn, CONFIG)
    sid = handle.session_id
    window = stages.load_market_window(conn, sid, handle)
    signals = stages.compute_signals(
        conn, sid, window, stages.compute_features(conn, sid, window), llm
    )
    outcome = stages.run_winrate_test(conn, sid, signals)
    weights = stages.apply_reinforcement(conn, sid, outcome)
    ts = signals.test_bars["ts"].to_numpy()
    s, c = signal_matrices(signals.signals, list(weights.path.active), len(ts))
    ensemble = ensemble_signals(
        weights_before_each_bar(weights.path, ts), s, c, CONFIG.ensemble.threshold
    )
    return window, signals, outcome.trades, ensemble, ts


def test_no_look_ahead_for_all_four_models_and_the_ensemble(
    tmp_path: Path, small_bars: pd.DataFrame, manager
) -> None:
    llm = find_llm_with_manager(manager)
    base = open_store(tmp_path / "a.sqlite")
    write_bars(base, small_bars, "test")
    window, sig_a, trades_a, ens_a, ts = session_parts(base, llm)
    cutoff = int(window.test_start_ts + 4 * 86_400)
    other = open_store(tmp_path / "b.sqlite")
    write_bars(other, perturbed(small_bars, cutoff), "test")
    _, sig_b, trades_b, ens_b, _ = session_parts(other, llm)

    assert sig_a.active == ("trading_ai", "lava_ai", "lgbm_ai", "mistral_ai")
    a, b = sig_a.signals, sig_b.signals
    for model_id in sig_a.active:
        early_a = a[(a["model_id"] == model_id) & (a["ts"] <= cutoff)].reset_index(drop=True)
        early_b = b[(b["model_id"] == model_id) & (b["ts"] <= cutoff)].reset_index(drop=True)
        pd.testing.assert_frame_equal(early_a, early_b)
    early = ts <= cutoff
    np.testing.assert_array_equal(ens_a.signal[early], ens_b.signal[early])
    np.testing.assert_array_equal(ens_a.confidence[early], ens_b.confidence[early])
    assert not np.array_equal(ens_a.confidence[~early], ens_b.confidence[~early])
    cut = pd.Timestamp(cutoff, unit="s").strftime("%Y-%m-%d %H:%M:%S")
    keep = ["ai_model_id", "symbol", "entry_time", "exit_time", "direction", "pnl", "confidence"]
    pd.testing.assert_frame_equal(
        trades_a[trades_a["exit_time"] <= cut][keep].reset_index(drop=True),
        trades_b[trades_b["exit_time"] <= cut][keep].reset_index(drop=True),
    )


def test_dagster_session_with_a_mistral_server_leaves_none_running(
    small_store: sqlite3.Connection,
    long_model: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(make_dagster_home(tmp_path / "dagster_home")))
    run_config = {
        "ops": {"market_bars": {"config": {"test_period_days": 5}}},
        "resources": {
            "mistral": {
                "config": {
                    "model_path": str(long_model),
                    "server_binary": str(llama_server_or_skip()),
                    "port": pick_free_port(),
                    "ctx_size": 1024,
                }
            }
        },
    }
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(run_config))
    done, session_id = execute_job("reinforcement_session_job", "-c", str(path))
    assert done.returncode == 0, done.stderr[-3000:]
    assert servers_of(long_model) == []
    row = small_store.execute(
        "SELECT total_trades FROM performance_metrics WHERE model_id = 'mistral_ai' "
        "AND session_id = ?",
        (session_id,),
    ).fetchone()
    assert row[0] > 0
