"""Walk-forward campaigns: consecutive sessions carrying weights forward, a learning curve per
session, the verdict over the whole campaign, no look-ahead, and live weights only on request."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rl_pipeline.analytics.campaigns import campaign_learning_curve
from rl_pipeline.config import SessionConfig
from rl_pipeline.configuration.store import export_config, import_config
from rl_pipeline.rl.rules import rule_names
from rl_pipeline.session.campaign import CampaignError, campaign_view, run_campaign
from rl_pipeline.store import ai_models, results
from rl_pipeline.store.bars import write_bars
from rl_pipeline.store.connection import open_store
from rl_pipeline_tests.support.cli import cli

CONFIG = SessionConfig(backtest={"history_days": 20})
SECONDS_PER_DAY = 86_400


def small_store_path(conn: sqlite3.Connection) -> Path:
    return Path(conn.execute("PRAGMA database_list").fetchone()["file"])


def session_rows(conn: sqlite3.Connection, session_id: str) -> dict[str, pd.DataFrame]:
    """What a session stored, without its ids."""
    trades = results.read_trades(conn, session_id).drop(columns=["trade_id", "session_id"])
    history = results.read_weight_history(conn, session_id)
    history = history.drop(columns=["weight_id", "session_id"]).reset_index(drop=True)
    history["trade_context"] = history["trade_context"].str.replace(session_id, "<session>")
    metrics = results.read_metrics(conn, session_id).drop(columns=["metric_id", "session_id"])
    metrics = metrics.drop(columns=[c for c in metrics.columns if c == "calculated_at"])
    return {"trades": trades, "history": history, "metrics": metrics}


def test_a_campaign_carries_weights_forward_and_leaves_live_weights_alone(
    small_store: sqlite3.Connection,
) -> None:
    live = ai_models.live_weights(small_store)
    view = run_campaign(small_store, CONFIG, sessions=3, test_period_days=4, rule="hedge")
    assert view["status"] == "completed" and len(view["sessions"]) == 3
    assert ai_models.live_weights(small_store) == live
    # Each session starts from the previous one's final weights (its seq-0 history rows).
    previous = None
    for session_id in view["sessions"]:
        history = results.read_weight_history(small_store, session_id)
        start = history[history["seq"] == 0].set_index("model_id")["old_weight"].to_dict()
        report = json.loads(
            small_store.execute(
                "SELECT report FROM session_reports WHERE session_id = ?", (session_id,)
            ).fetchone()[0]
        )
        if previous is not None:
            assert start == pytest.approx(previous, abs=0)
        previous = report["weights_learned"]
        # The static baseline of every session is the campaign's start, held fixed.
        assert report["ensemble_report"]["static_weights"]["lgbm_ai"] == pytest.approx(
            view["start_weights"]["lgbm_ai"]
            / sum(view["start_weights"][m] for m in report["active_models"])
        )
    assert view["final_weights"]["hedge"] == pytest.approx(previous)
    # Windows: consecutive, non-overlapping, the last ending at the last stored bar.
    ends = [pd.Timestamp(r["test_end"]) for r in view["curve"]]
    starts = [pd.Timestamp(r["test_start"]) for r in view["curve"]]
    last_bar = small_store.execute("SELECT MAX(ts) FROM market_bars").fetchone()[0]
    assert ends[-1] == pd.Timestamp(last_bar, unit="s", tz="UTC")
    for k in range(1, 3):
        assert starts[k] > ends[k - 1]
        assert ends[k] - ends[k - 1] == pd.Timedelta(days=4)
    # The curve is cumulative, per rule, baseline and model, and agrees with the sessions.
    rows = view["curve"]
    for name in rule_names():
        assert f"rule:{name}" in rows[-1]
    lava = [
        results.read_metrics(small_store, s).set_index("model_id").loc["lava_ai", "total_pnl"]
        for s in view["sessions"]
    ]
    assert [r["model:lava_ai"] for r in rows] == pytest.approx(np.cumsum(lava).tolist())
    best = view["best_model_in_hindsight"]
    # Only models that traded compete: the inactive MistralAI's flat 0 would otherwise "win"
    # whenever every model lost money.
    traded = [k for k in rows[-1] if k.startswith("model:") and any(r[k] != 0 for r in rows)]
    assert "model:mistral_ai" not in traded and best != "mistral_ai"
    assert rows[-1]["best_in_hindsight"] == max(rows[-1][k] for k in traded)
    assert rows[-1]["regret_vs_best_model"] == pytest.approx(
        rows[-1][f"model:{best}"] - rows[-1]["rule:hedge"]
    )
    # The DuckDB view the notebook plots holds the same curve.
    long = campaign_learning_curve(small_store_path(small_store))
    wide = long.pivot(index="seq", columns="strategy", values="cumulative_pnl")
    for row in rows:
        for strategy in ("rule:hedge", "static", "equal", "best_in_hindsight"):
            assert wide.loc[row["seq"], strategy] == pytest.approx(row[strategy])
    # The campaign verdict is on all its days: the daily differences add up to the curve's.
    v = view["verdict"]["adaptive_minus_static"]
    assert v["days"] == 12
    assert v["mean"] * v["days"] == pytest.approx(
        rows[-1]["rule:hedge"] - rows[-1]["static"], abs=1e-6
    )


@pytest.mark.slow
def test_bars_after_session_k_change_nothing_up_to_k(
    small_bars: pd.DataFrame, tmp_path: Path
) -> None:
    sessions, days = 3, 4
    last = int(small_bars["ts"].max())
    end_of_second = last - days * SECONDS_PER_DAY
    perturbed = small_bars.copy()
    later = perturbed["ts"] > end_of_second
    for column in ("open", "high", "low", "close"):
        perturbed.loc[later, column] *= np.where(perturbed.loc[later, "symbol"] == "AAA", 1.3, 0.7)
    views, stores = [], []
    for name, bars in (("original", small_bars), ("perturbed", perturbed)):
        conn = open_store(tmp_path / f"{name}.sqlite")
        write_bars(conn, bars, source="test")
        views.append(run_campaign(conn, CONFIG, sessions, days, rule="fixed_share"))
        stores.append(conn)
    (a, b), (ca, cb) = views, stores
    for k in range(2):
        rows_a, rows_b = session_rows(ca, a["sessions"][k]), session_rows(cb, b["sessions"][k])
        for table in rows_a:
            pd.testing.assert_frame_equal(rows_a[table], rows_b[table])
        assert {key: v for key, v in a["curve"][k].items() if key != "session_id"} == {
            key: v for key, v in b["curve"][k].items() if key != "session_id"
        }
    # ... while the third session, which tests the changed bars, does change.
    assert not session_rows(ca, a["sessions"][2])["trades"].equals(
        session_rows(cb, b["sessions"][2])["trades"]
    )


def test_a_campaign_longer_than_the_data_is_refused_naming_the_range(
    small_store: sqlite3.Connection,
) -> None:
    # small_bars: 40 days of hourly bars from 2025-01-01.
    expected = (
        r"need 100 days of bars, the store has 40\.0 \(2025-01-01 00:00:00 to 2025-02-09 23:00"
    )
    with pytest.raises(CampaignError, match=expected):
        run_campaign(small_store, CONFIG, sessions=10, test_period_days=10)
    assert small_store.execute("SELECT COUNT(*) FROM campaigns").fetchone()[0] == 0
    assert small_store.execute("SELECT COUNT(*) FROM reinforcement_sessions").fetchone()[0] == 0
    with pytest.raises(LookupError, match="no campaign has run yet"):
        campaign_view(small_store)


@pytest.mark.slow
def test_campaign_run_from_the_cli_on_the_shipped_data(db_path: Path) -> None:
    assert cli("init").returncode == 0
    conn = open_store(db_path)
    live = ai_models.live_weights(conn)
    args = ("campaign", "run", "--sessions", "3", "--test-period-days", "7", "--rule", "hedge")
    done = cli(*args, "--json")
    assert done.returncode == 0, done.stderr
    view = json.loads(done.stdout)
    assert len(view["sessions"]) == 3 and len(view["curve"]) == 3
    assert view["campaign_id"] and view["verdict"]["adaptive_minus_static"]["answer"] in {
        "yes",
        "no",
        "inconclusive",
    }
    assert "session 3/3" in done.stderr  # progress, one line per session
    assert ai_models.live_weights(conn) == live
    published = cli(*args, "--publish", "--json")
    assert published.returncode == 0, published.stderr
    final = json.loads(published.stdout)["final_weights"]["hedge"]
    assert ai_models.live_weights(conn) == pytest.approx(final, abs=1e-15)
    shown = cli("campaign", "show")
    assert shown.returncode == 0 and "cumulative P&L after each session" in shown.stdout
    refused = cli("campaign", "run", "--sessions", "40", "--test-period-days", "30")
    assert refused.returncode == 1
    assert "rejected, nothing run: sessions x test_period_days: 40 x 30 days" in refused.stderr
    # A rule the active configuration's parameters cannot take: one sentence, nothing run.
    campaigns = conn.execute("SELECT COUNT(*) FROM campaigns").fetchone()[0]
    import_config(
        conn,
        {
            **export_config(conn),
            "session": {**export_config(conn)["session"], "learning_rate": 0.5},
        },
        source="test",
    )
    unsafe = cli(
        "campaign", "run", "--sessions", "1", "--test-period-days", "5", "--rule", "pnl_scaled"
    )
    assert unsafe.returncode == 1 and "Traceback" not in unsafe.stderr
    assert "learning_rate * punishment_multiplier * g_max must be < 1" in unsafe.stderr
    assert conn.execute("SELECT COUNT(*) FROM campaigns").fetchone()[0] == campaigns


@pytest.mark.slow
def test_a_campaign_with_its_fits_side_by_side_equals_one_run_session_by_session(
    tmp_path: Path, small_bars: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Signals first, all windows' fits in one batch on a 2-worker pool, then the weights in
    order: the same sessions, trades and learning curve as computing each session's signals in
    its turn without any cache."""
    from rl_pipeline.parallel.session_executor import close_executors
    from rl_pipeline.store.bars import write_bars

    def campaign_in(name: str, **env: str) -> tuple[dict, list[str], pd.DataFrame]:
        data = tmp_path / name
        data.mkdir()
        with monkeypatch.context() as m:
            m.setenv("RL_PIPELINE_DATA_DIR", str(data))
            m.setenv("RL_PIPELINE_DB", str(data / "db.sqlite"))
            for key, value in env.items():
                m.setenv(key, value)
            conn = open_store(data / "db.sqlite")
            try:
                write_bars(conn, small_bars, source="test")
                said: list[str] = []
                view = run_campaign(
                    conn, SessionConfig(), sessions=3, test_period_days=4, progress=said.append
                )
                trades = pd.read_sql(
                    "SELECT t.ai_model_id, t.symbol, t.entry_time, t.exit_time, t.pnl, "
                    "c.seq FROM trade_results t JOIN campaign_sessions c USING (session_id) "
                    "ORDER BY c.seq, t.ai_model_id, t.symbol, t.entry_time",
                    conn,
                )
            finally:
                conn.close()
                close_executors()
        return view, said, trades

    sequential, _, seq_trades = campaign_in("sequential", RL_PIPELINE_SIGNAL_CACHE="0")
    parallel, said, par_trades = campaign_in(
        "parallel",
        RL_PIPELINE_EXECUTOR="process_pool",
        RL_PIPELINE_WORKERS="2",
        RL_PIPELINE_PARALLEL_MIN_ROWS="0",
    )
    assert any("walk-forward fits for 3 windows" in line for line in said)
    assert any("on process_pool (2 workers)" in line for line in said)
    pd.testing.assert_frame_equal(par_trades, seq_trades, check_exact=True)
    assert len(par_trades) > 0

    def without_ids(curve: list[dict]) -> list[dict]:
        return [{k: v for k, v in row.items() if k != "session_id"} for row in curve]

    assert without_ids(parallel["curve"]) == without_ids(sequential["curve"])
    assert parallel["verdict"] == sequential["verdict"]
