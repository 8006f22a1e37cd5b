"""The session jobs through the real Dagster CLI and instance: one partition per session."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import dagster as dg
import pydantic
import pytest
import yaml

from rl_pipeline.config import SessionConfig
from rl_pipeline.dagster_defs.assets.session_assets import SESSION_ASSETS
from rl_pipeline.store import ai_models
from rl_pipeline_tests.conftest import PROJECT_ROOT
from rl_pipeline_tests.support.cli import cli
from rl_pipeline_tests.support.dagster_cli import execute_job, make_dagster_home
from rl_pipeline_tests.support.store_state import session_outcome

JOB = "reinforcement_session_job"
MODELS = ["trading_ai", "lava_ai", "lgbm_ai", "mistral_ai"]


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = make_dagster_home(tmp_path / "dagster_home")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def execute(*extra: str, job: str = JOB) -> tuple[subprocess.CompletedProcess, str]:
    return execute_job(job, *extra)


def count(conn: sqlite3.Connection, table: str, session_id: str) -> int:
    return conn.execute(
        f"SELECT COUNT(*) FROM {table} WHERE session_id = ?", (session_id,)
    ).fetchone()[0]


def test_job_runs_a_full_session_recorded_in_the_instance(
    small_store: sqlite3.Connection, dagster_home: Path
) -> None:
    done, sid = execute("-c", str(PROJECT_ROOT / "run_config" / "default_session.yaml"))
    assert done.returncode == 0, done.stderr[-3000:]
    session = small_store.execute(
        "SELECT s.status, r.dagster_run_id FROM reinforcement_sessions s "
        "JOIN session_runs r USING (session_id) WHERE session_id = ?",
        (sid,),
    ).fetchone()
    assert session["status"] == "completed"
    metrics = small_store.execute(
        "SELECT model_id, total_trades FROM performance_metrics WHERE session_id = ?", (sid,)
    ).fetchall()
    assert len(metrics) == 4
    assert all(n > 0 for m, n in map(tuple, metrics) if m != "mistral_ai")
    assert count(small_store, "model_weight_history", sid) >= 4
    live = ai_models.live_weights(small_store)
    assert sum(live.values()) == pytest.approx(1.0, abs=1e-9)

    instance = dg.DagsterInstance.get()
    run = instance.get_run_by_id(session["dagster_run_id"])
    assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
    assert run.tags["dagster/partition"] == sid
    for asset in SESSION_ASSETS:
        event = instance.get_latest_materialization_event(asset.key)
        assert event is not None and event.run_id == run.run_id, asset.key
        assert event.asset_materialization.partition == sid
    for asset in SESSION_ASSETS:
        event = instance.get_latest_materialization_event(asset.key)
        assert event.asset_materialization.metadata["dagster/row_count"].value > 0, asset.key
    summary = instance.get_latest_materialization_event(dg.AssetKey("performance_metrics"))
    metadata = summary.asset_materialization.metadata
    assert metadata["dagster/row_count"].value == 4
    assert [r.data["model"] for r in metadata["summary"].value.records] == MODELS
    assert metadata["summary"].value.schema.columns[0].name == "model"
    assert "data:image/png;base64," in metadata["ensemble_equity"].value
    for rule in ("binary", "pnl_scaled", "hedge", "fixed_share"):
        assert rule in metadata["tournament"].value
    verdict = metadata["verdict"].value["adaptive_minus_static"]
    assert metadata["learning_paid"].value == verdict["answer"]
    weights = instance.get_latest_materialization_event(dg.AssetKey("model_weights"))
    assert (
        "data:image/png;base64," in weights.asset_materialization.metadata["weight_evolution"].value
    )
    trades = instance.get_latest_materialization_event(dg.AssetKey("trade_results"))
    trade_metadata = trades.asset_materialization.metadata
    columns = [c.name for c in trade_metadata["dagster/column_schema"].value.columns]
    assert {"ai_model_id", "entry_time", "pnl"} <= set(columns)
    assert trade_metadata["dagster/row_count"].value == count(small_store, "trade_results", sid)
    assert len(trade_metadata["first_trades"].value.records) == min(
        20, trade_metadata["dagster/row_count"].value
    )
    checks = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(dg.AssetKey("trade_results"), "trades_consistent"), limit=1
    )
    assert checks and checks[0].status.value == "SUCCEEDED"
    # The project's own log lines reach the run's log (dagster.yaml's managed loggers): the
    # walk-forward fits' progress with an ETA.
    messages = [e.user_message for e in instance.all_logs(run.run_id)]
    fits = [m for m in messages if "walk-forward fits" in m]
    assert fits and "ETA" in fits[-1], messages[-20:]


def test_run_config_sets_the_session_parameters(
    small_store: sqlite3.Connection, dagster_home: Path, tmp_path: Path
) -> None:
    run_config = {
        "ops": {
            "market_bars": {
                "config": {
                    "test_period_days": 7,
                    "learning_rate": 0.05,
                    "reward_multiplier": 2.0,
                    "punishment_multiplier": 0.5,
                    "costs": {"fee_bps": 0.0},
                    "models": {"lgbm_ai": {"n_estimators": 30}},
                    "symbols": ["AAA"],
                }
            }
        }
    }
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(run_config))
    done, sid = execute("-c", str(path))
    assert done.returncode == 0, done.stderr[-3000:]
    row = small_store.execute(
        "SELECT test_period_days, learning_rate, reward_multiplier, punishment_multiplier, "
        "status, configuration FROM reinforcement_sessions WHERE session_id = ?",
        (sid,),
    ).fetchone()
    assert tuple(row)[:5] == (7, 0.05, 2.0, 0.5, "completed")
    effective = json.loads(row["configuration"])
    assert effective["costs"] == {"fee_bps": 0.0, "slippage_bps": 5.0}
    assert effective["models"]["lgbm_ai"]["n_estimators"] == 30
    assert effective["models"]["lgbm_ai"]["learning_rate"] == 0.05  # the model's, untouched
    symbols = small_store.execute(
        "SELECT DISTINCT symbol FROM trade_results WHERE session_id = ?", (sid,)
    ).fetchall()
    assert [s[0] for s in symbols] == ["AAA"]


def tuned_document() -> dict:
    """A configuration with a non-default learning rate, cost and model window."""
    session = SessionConfig().model_dump(mode="json")
    session["learning_rate"] = 0.03
    session["costs"]["fee_bps"] = 2.5
    session["models"]["trading_ai"]["fast_window"] = 12
    return {
        "schema_version": 1,
        "session": session,
        "weights": {"trading_ai": 0.25, "lava_ai": 0.25, "lgbm_ai": 0.25, "mistral_ai": 0.25},
    }


def test_the_default_run_config_runs_the_imported_configuration(
    small_store: sqlite3.Connection, dagster_home: Path, tmp_path: Path
) -> None:
    document = tmp_path / "tuned.json"
    document.write_text(json.dumps(tuned_document()))
    imported = cli("config", "import", str(document))
    assert imported.returncode == 0, imported.stderr
    done, sid = execute("-c", str(PROJECT_ROOT / "run_config" / "default_session.yaml"))
    assert done.returncode == 0, done.stderr[-3000:]
    shown = cli("session", "show", sid, "--config")
    assert shown.returncode == 0, shown.stderr
    effective = json.loads(shown.stdout.split("effective configuration:\n", 1)[1])
    assert effective["learning_rate"] == 0.03
    assert effective["costs"]["fee_bps"] == 2.5
    assert effective["models"]["trading_ai"]["fast_window"] == 12
    stored = small_store.execute(
        "SELECT learning_rate FROM reinforcement_sessions WHERE session_id = ?", (sid,)
    ).fetchone()
    assert stored[0] == 0.03

    # A run config naming only test_period_days changes only that.
    only = tmp_path / "only.yaml"
    only.write_text(yaml.safe_dump({"ops": {"market_bars": {"config": {"test_period_days": 5}}}}))
    done, second = execute("-c", str(only))
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {
        r["session_id"]: json.loads(r["configuration"])
        for r in small_store.execute(
            "SELECT session_id, configuration FROM reinforcement_sessions "
            "WHERE session_id IN (?, ?)",
            (sid, second),
        )
    }
    assert rows[second]["test_period_days"] == 5
    assert {**rows[second], "test_period_days": 0} == {**rows[sid], "test_period_days": 0}
    assert rows[sid]["test_period_days"] == 30


def test_the_whole_session_configuration_is_in_the_run_config_schema() -> None:
    """Nested like SessionConfig, with its descriptions, so the Launchpad shows every field."""
    from rl_pipeline.dagster_defs.session_config import SessionRunConfig

    fields = SessionRunConfig.to_fields_dict()

    def leaves(schema_fields: dict, model: type, prefix: str = "") -> list[str]:
        names = []
        for name, field in model.model_fields.items():
            assert name in schema_fields, prefix + name
            assert not schema_fields[name].is_required, prefix + name
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
                inner = schema_fields[name].config_type.fields
                names += leaves(inner, annotation, f"{prefix}{name}.")
            else:
                names.append(prefix + name)
        return names

    names = leaves(fields, SessionConfig)
    assert "models.lgbm_ai.num_leaves" in names and "backtest.periods_per_year" in names
    lgbm = fields["models"].config_type.fields["lgbm_ai"].config_type.fields
    assert "learning_rate" in lgbm
    fee = fields["costs"].config_type.fields["fee_bps"]
    assert "basis points" in fee.description


def test_failing_step_fails_the_run_and_the_session(
    small_store: sqlite3.Connection, dagster_home: Path
) -> None:
    small_store.execute(
        "CREATE TRIGGER refuse_history BEFORE INSERT ON model_weight_history "
        "BEGIN SELECT RAISE(ABORT, 'history table refuses writes'); END"
    )
    done, sid = execute()
    assert done.returncode != 0
    row = session_outcome(small_store, sid)
    assert row["status"] == "failed"
    assert "model_weights" in row["error"] and "refuses writes" in row["error"]
    assert count(small_store, "trade_results", sid) == 0


def test_corrupted_trades_fail_the_blocking_check_and_keep_the_weights(
    small_store: sqlite3.Connection, dagster_home: Path
) -> None:
    live_before = ai_models.live_weights(small_store)
    # Real corruption in the real store: one stored trade's pnl drifts by a cent.
    small_store.execute(
        "CREATE TRIGGER corrupt_pnl AFTER INSERT ON trade_results "
        "WHEN NEW.ai_model_id = 'lava_ai' "
        "BEGIN UPDATE trade_results SET pnl = pnl + 0.01 WHERE trade_id = NEW.trade_id; END"
    )
    done, sid = execute()
    assert done.returncode != 0
    row = session_outcome(small_store, sid)
    assert row["status"] == "failed"
    assert "trades_consistent" in row["error"] and "differs from the fills" in row["error"]
    assert ai_models.live_weights(small_store) == live_before
    instance = dg.DagsterInstance.get()
    assert instance.get_latest_materialization_event(dg.AssetKey("live_weights")) is None


def test_backtest_leaves_live_weights_and_weight_update_replays_it(
    small_store: sqlite3.Connection, dagster_home: Path, tmp_path: Path
) -> None:
    live_before = ai_models.live_weights(small_store)
    done, backtest = execute(job="backtest_job")
    assert done.returncode == 0, done.stderr[-3000:]
    status = small_store.execute(
        "SELECT status FROM reinforcement_sessions WHERE session_id = ?", (backtest,)
    ).fetchone()[0]
    assert status == "completed"
    assert count(small_store, "trade_results", backtest) > 0
    assert count(small_store, "performance_metrics", backtest) == 4
    assert ai_models.live_weights(small_store) == live_before

    path = tmp_path / "replay.yaml"
    path.write_text(
        yaml.safe_dump(
            {"ops": {"replay_session_trades": {"config": {"source_session_id": backtest}}}}
        )
    )
    done, _ = execute_job("weight_update_job", "-c", str(path), partitioned=False)
    assert done.returncode == 0, done.stderr[-3000:]
    live_after = ai_models.live_weights(small_store)
    assert live_after != live_before
    assert sum(live_after.values()) == pytest.approx(1.0, abs=1e-9)
    replay = small_store.execute(
        "SELECT s.session_id FROM reinforcement_sessions s JOIN session_reports r "
        "USING (session_id) WHERE json_extract(r.report, '$.source_session_id') = ?",
        (backtest,),
    ).fetchone()[0]
    history = small_store.execute(
        "SELECT COUNT(DISTINCT json_extract(trade_context, '$.trade_id')) "
        "FROM model_weight_history WHERE session_id = ? AND reason != 'session start'",
        (replay,),
    ).fetchone()[0]
    assert history > 0
    versions = small_store.execute(
        "SELECT model_id, weight FROM model_versions WHERE session_id = ? AND kind = 'session'",
        (replay,),
    ).fetchall()
    assert dict(map(tuple, versions)) == live_after
    # The replay's before/after weights per model, in the step's output metadata.
    instance = dg.DagsterInstance.get()
    (run,) = instance.get_runs(dg.RunsFilter(job_name="weight_update_job"), limit=1)
    (output,) = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_OUTPUT)
    shown = output.dagster_event.step_output_data.metadata
    assert shown["source_session_id"].value == backtest
    lines = shown["weights"].value.splitlines()
    assert lines[0].split("|")[1:4] == [" model      ", "   before ", "    after "]
    for model in MODELS:
        (line,) = [row for row in lines if f"| {model} " in row]
        cells = [c.strip() for c in line.split("|")[1:-1]]
        assert float(cells[1]) == pytest.approx(live_before[model], abs=1e-6)
        assert float(cells[2]) == pytest.approx(live_after[model], abs=1e-6)


def test_bad_run_config_is_rejected_before_a_session_opens(
    small_store: sqlite3.Connection, dagster_home: Path, tmp_path: Path
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"ops": {"market_bars": {"config": {"test_period_days": 0}}}}))
    done, _ = execute("-c", str(path))
    assert done.returncode != 0
    assert "test_period_days" in done.stderr + done.stdout
    assert small_store.execute("SELECT COUNT(*) FROM reinforcement_sessions").fetchone()[0] == 0


def test_a_dagster_session_gives_the_trades_of_the_service_with_one_features_step(
    small_store: sqlite3.Connection, dagster_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job runs the same stages as ``run_session`` (the same trades, float for float), and
    the features of every symbol are one step: a step per symbol cost Dagster ≈70 ms each
    (≈4.5 s for 64 symbols) for work that takes ≈0.1 s in one vectorised step."""
    from rl_pipeline.session.stages import run_session

    done, sid = execute()
    assert done.returncode == 0, done.stderr[-3000:]
    monkeypatch.setenv("RL_PIPELINE_SIGNAL_CACHE", "0")  # its own signals, not the run's
    direct = run_session(small_store, SessionConfig()).session_id
    columns = "symbol, entry_time, exit_time, direction, pnl, confidence, ai_model_id"
    query = f"SELECT {columns} FROM trade_results WHERE session_id = ? ORDER BY trade_id"
    trades = small_store.execute(query, (sid,)).fetchall()
    assert trades and trades == small_store.execute(query, (direct,)).fetchall()

    run_id = small_store.execute(
        "SELECT dagster_run_id FROM session_runs WHERE session_id = ?", (sid,)
    ).fetchone()[0]
    instance = dg.DagsterInstance.get()
    steps = [
        e.step_key for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_SUCCESS)
    ]
    assert [k for k in steps if k.startswith("features")] == ["features"]
    event = instance.get_latest_materialization_event(dg.AssetKey("features"))
    symbols = small_store.execute("SELECT COUNT(DISTINCT symbol) FROM market_bars").fetchone()[0]
    assert event.asset_materialization.metadata["symbols"].value == symbols > 1


def test_campaign_job_records_its_learning_curve_in_the_instance(
    small_store: sqlite3.Connection, dagster_home: Path, tmp_path: Path
) -> None:
    path = tmp_path / "campaign.yaml"
    config = {"sessions": 2, "test_period_days": 4, "rule": "hedge"}
    path.write_text(yaml.safe_dump({"ops": {"campaign": {"config": config}}}))
    done, _ = execute_job("campaign_job", "-c", str(path), partitioned=False)
    assert done.returncode == 0, done.stderr[-3000:]
    campaign_id, status = small_store.execute(
        "SELECT campaign_id, status FROM campaigns"
    ).fetchone()
    assert status == "completed"
    event = dg.DagsterInstance.get().get_latest_materialization_event(dg.AssetKey("campaign"))
    metadata = event.asset_materialization.metadata
    assert metadata["campaign_id"].value == campaign_id
    assert metadata["dagster/row_count"].value == 2
    assert "data:image/png;base64," in metadata["learning_curve"].value
    assert "rule:hedge" in metadata["curve_table"].value
    assert metadata["learning_paid"].value in {"yes", "no", "inconclusive"}


def test_sweep_job_records_its_ranked_table_and_warning_in_the_instance(
    small_store: sqlite3.Connection, dagster_home: Path, tmp_path: Path
) -> None:
    from rl_pipeline.session.stages import run_session

    session = run_session(small_store, SessionConfig(test_period_days=4))
    path = tmp_path / "sweep.yaml"
    config = {"rule": ["binary", "hedge"], "learning_rate": [0.01, 0.02], "progress_every": 2}
    path.write_text(yaml.safe_dump({"ops": {"sweep": {"config": config}}}))
    done, _ = execute_job("sweep_job", "-c", str(path), partitioned=False)
    assert done.returncode == 0, done.stderr[-3000:]
    sweep_id, session_id, points = small_store.execute(
        "SELECT sweep_id, session_id, points FROM sweeps"
    ).fetchone()
    assert (session_id, points) == (session.session_id, 4)
    instance = dg.DagsterInstance.get()
    event = instance.get_latest_materialization_event(dg.AssetKey("sweep"))
    metadata = event.asset_materialization.metadata
    assert metadata["sweep_id"].value == sweep_id
    assert metadata["dagster/row_count"].value == 4
    ranked = metadata["ranked_table"].value
    header = [cell.strip() for cell in ranked.splitlines()[0].split("|")]
    assert header[1:4] == ["rank", "point", "rule"]
    assert "hedge" in ranked and "vs_static_bonferroni" in ranked
    assert "4 points were tried" in metadata["warning"].value
    # The progress lines (with their ETA) are in the run's log.
    (run,) = instance.get_runs(dg.RunsFilter(job_name="sweep_job"), limit=1)
    messages = [e.user_message for e in instance.all_logs(run.run_id)]
    assert any("2/4 points" in m and "ETA" in m for m in messages)
    assert any("4/4 points" in m for m in messages)
    # A refused grid fails the run with the field named, and stores nothing.
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        yaml.safe_dump({"ops": {"sweep": {"config": {"min_weight": [0.5], "max_weight": [0.3]}}}})
    )
    failed, _ = execute_job("sweep_job", "-c", str(bad), partitioned=False)
    assert failed.returncode != 0
    (run,) = instance.get_runs(dg.RunsFilter(job_name="sweep_job"), limit=1)
    (failure,) = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
    description = failure.dagster_event.step_failure_data.user_failure_data.description
    assert description.startswith("min_weight: min_weight must be <= max_weight")
    assert small_store.execute("SELECT COUNT(*) FROM sweeps").fetchone()[0] == 1


def step_failures(instance: dg.DagsterInstance, session_id: str) -> list:
    (run,) = instance.get_runs(dg.RunsFilter(tags={"dagster/partition": session_id}))
    assert run.status == dg.DagsterRunStatus.FAILURE
    return [
        e.dagster_event.step_failure_data
        for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
    ]


def test_a_rejected_session_fails_with_the_project_one_line_message(
    small_store: sqlite3.Connection, dagster_home: Path, tmp_path: Path
) -> None:
    """Real cause: a symbol the store has no bars for, refused by the session's first stage."""
    path = tmp_path / "unknown_symbol.yaml"
    path.write_text(yaml.safe_dump({"ops": {"market_bars": {"config": {"symbols": ["ZZZ"]}}}}))
    done, sid = execute("-c", str(path))
    assert done.returncode != 0
    (failure,) = step_failures(dg.DagsterInstance.get(), sid)
    user = failure.user_failure_data
    assert user.description == "symbols: no bars stored for ZZZ"
    assert {k: v.value for k, v in user.metadata.items()} == {
        "session_id": sid,
        "stage": "market_bars",
        "error_type": "SessionError",
    }
    # The original error and its trace stay below it, as the cause.
    assert failure.error.cause is not None
    assert "SessionError: symbols: no bars stored for ZZZ" in failure.error.cause.to_string()
    row = session_outcome(small_store, sid)
    assert row["status"] == "failed" and "symbols: no bars stored for ZZZ" in row["error"]


def replay_failure(path: Path) -> tuple[subprocess.CompletedProcess, object]:
    done, _ = execute_job("weight_update_job", "-c", str(path), partitioned=False)
    assert done.returncode != 0
    instance = dg.DagsterInstance.get()
    (run,) = instance.get_runs(dg.RunsFilter(job_name="weight_update_job"), limit=1)
    (event,) = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
    return done, event.dagster_event.step_failure_data.user_failure_data


def test_weight_update_yaml_as_written_fails_naming_source_session_id(
    small_store: sqlite3.Connection, dagster_home: Path, tmp_path: Path
) -> None:
    example = PROJECT_ROOT / "run_config" / "weight_update.yaml"
    placeholder = yaml.safe_load(example.read_text())["ops"]["replay_session_trades"]["config"]
    done, failure = replay_failure(example)
    assert failure.description == (
        "source_session_id: set it to the id of a completed session "
        f"(got {placeholder['source_session_id']!r}, the example's placeholder)"
    )
    unknown = tmp_path / "unknown.yaml"
    config = {"source_session_id": "2026-01-01T000000Z-00000000"}
    unknown.write_text(yaml.safe_dump({"ops": {"replay_session_trades": {"config": config}}}))
    _, failure = replay_failure(unknown)
    assert failure.description == (
        "source_session_id: session '2026-01-01T000000Z-00000000' does not exist"
    )
    assert failure.metadata["stage"].value == "weight_replay"
    assert small_store.execute("SELECT COUNT(*) FROM reinforcement_sessions").fetchone()[0] == 0


def test_the_replay_source_is_a_described_launchpad_field() -> None:
    from rl_pipeline.dagster_defs.jobs import WeightReplayConfig

    field = WeightReplayConfig.to_fields_dict()["source_session_id"]
    assert field.is_required
    assert "completed session" in field.description


def test_assets_name_their_kinds_owners_and_code_versions() -> None:
    from rl_pipeline.dagster_defs.definitions import defs

    specs = {spec.key.path[0]: spec for spec in defs.resolve_all_asset_specs()}
    assert set(specs) == {a.key.path[0] for a in SESSION_ASSETS} | {"campaign", "sweep"}
    for name, spec in specs.items():
        assert spec.owners == ["team:quant"], name
        assert spec.code_version, name
        assert spec.kinds, name
    assert {"lightgbm", "scikit-learn"} <= specs["model_signals"].kinds
    assert "sqlite" in specs["trade_results"].kinds
