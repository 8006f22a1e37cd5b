"""The registries are the single source of the models, the update rules and the metrics: one
plugin file (``fixtures/rl_pipeline_toy_plugin.py``) that registers a fifth model, a rule and a
metric makes each appear in the configuration schema, the CLI, the API's OpenAPI schema, the
store's ``ai_models`` and the session report, with no other file changed. Each check runs in a
fresh process (real console script, real API app, real SQLite store) whose registries hold the
plugin's entries; this process's registries stay the built-in ones."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rl_pipeline.backtest.metrics import METRICS
from rl_pipeline.config import MODEL_IDS
from rl_pipeline.registry import (
    AI_MODEL_TYPES,
    PLUGINS_ENV,
    ModelSpec,
    RegistryError,
    register_model,
)
from rl_pipeline.rl.rules import rule_names
from rl_pipeline_tests.support.cli import RL_PIPELINE

FIXTURES = Path(__file__).parents[1] / "fixtures"
PLUGIN = "rl_pipeline_toy_plugin"


def plugin_env(plugins: str = PLUGIN) -> dict[str, str]:
    env = os.environ.copy()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(FIXTURES), env.get("PYTHONPATH")]))
    env[PLUGINS_ENV] = plugins
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=600, check=False)


def rl_pipeline(*args: str, env: dict[str, str]) -> str:
    done = run([str(RL_PIPELINE), *args], env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def python_json(script: str, env: dict[str, str]) -> Any:
    """Run ``script`` in a new interpreter; it prints one JSON document last."""
    done = run([sys.executable, "-c", script], env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_this_process_has_only_the_builtin_entries() -> None:
    assert MODEL_IDS == ("trading_ai", "lava_ai", "lgbm_ai", "mistral_ai")
    assert "toy_rule" not in rule_names() and "toy_profit_factor" not in METRICS


def test_cli_help_lists_the_plugins_model_and_rule() -> None:
    env = plugin_env()
    weights_help = rl_pipeline("weights", "set", "--help", env=env)
    assert re.search(r"--toy-ai FLOAT\s+ToyAI weight in \[0, 1\]", weights_help)
    start_help = rl_pipeline("session", "start", "--help", env=env)
    assert "--rule [binary|pnl_scaled|hedge|fixed_share|toy_rule]" in start_help
    campaign_help = rl_pipeline("campaign", "run", "--help", env=env)
    assert "toy_rule" in campaign_help
    # Without the plugin, none of it.
    plain = {k: v for k, v in env.items() if k != PLUGINS_ENV}
    assert "--toy-ai" not in rl_pipeline("weights", "set", "--help", env=plain)
    assert "toy_rule" not in rl_pipeline("session", "start", "--help", env=plain)


def test_cli_sets_and_shows_the_plugins_weight() -> None:
    env = plugin_env()  # this test's own store (RL_PIPELINE_DB)
    rl_pipeline(
        "weights",
        "set",
        *("--trading-ai", "0.3", "--lava-ai", "0.3", "--lgbm-ai", "0.2"),
        *("--mistral-ai", "0", "--toy-ai", "0.2"),
        env=env,
    )
    shown = json.loads(rl_pipeline("weights", "show", "--json", env=env))
    assert shown["toy_ai_weight"] == 0.2 and shown["lgbm_ai_weight"] == 0.2
    # A set that leaves the plugin's model out is refused, naming its option.
    done = run(
        [str(RL_PIPELINE), "weights", "set", "--trading-ai", "0.5", "--lava-ai", "0.5"]
        + ["--lgbm-ai", "0", "--mistral-ai", "0"],
        env,
    )
    assert done.returncode != 0 and "--toy-ai" in done.stderr


def test_a_configuration_stored_before_the_plugin_still_loads(tmp_path: Path) -> None:
    plain = {k: v for k, v in os.environ.items() if k != PLUGINS_ENV}
    document = json.loads(rl_pipeline("config", "export", env=plain))
    document["session"]["learning_rate"] = 0.02
    path = tmp_path / "config.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    rl_pipeline("config", "import", str(path), env=plain)
    # With the plugin: the stored session configuration is read, the new model's section has
    # its defaults, and the export names the new model's weight (the live one, 0).
    exported = json.loads(rl_pipeline("config", "export", env=plugin_env()))
    assert exported["session"]["learning_rate"] == 0.02
    assert exported["session"]["models"]["toy_ai"] == {"lookback": 6, "confidence": 0.5}
    assert exported["weights"] == {**document["weights"], "toy_ai": 0.0}


SCHEMAS = """
import json
from rl_pipeline.api.app import create_app
from rl_pipeline.config import SessionConfig
from rl_pipeline.config_document import SystemConfig
print(json.dumps({
    "session": SessionConfig.model_json_schema(),
    "document": SystemConfig.model_json_schema(),
    "openapi": create_app().openapi(),
}))
"""


def test_configuration_and_openapi_schemas_have_the_plugins_entries() -> None:
    schemas = python_json(SCHEMAS, plugin_env())
    session = schemas["session"]["$defs"]
    toy_section = session["ToyAIConfig"]["properties"]
    assert toy_section["lookback"]["default"] == 6
    assert list(session["ModelsConfig"]["properties"]) == [*MODEL_IDS, "toy_ai"]
    assert session["WeightRuleConfig"]["properties"]["rule"]["enum"][-1] == "toy_rule"
    document = schemas["document"]["$defs"]
    assert document["WeightVector"]["required"] == [*MODEL_IDS, "toy_ai"]
    api = schemas["openapi"]["components"]["schemas"]
    body = api["WeightsBody"]
    assert list(body["properties"]) == [f"{m}_weight" for m in (*MODEL_IDS, "toy_ai")] + [
        "normalize"
    ]
    assert "toy_ai_weight" in body["required"]
    assert all("toy_ai_weight" in example for example in body["examples"])
    assert "toy_ai_weight" in api["WeightsResponse"]["required"]
    rule = api["StartSessionRequest"]["properties"]["rule"]["anyOf"][0]
    assert rule["enum"] == [*rule_names(), "toy_rule"]
    assert api["ModelsConfig"]["properties"]["toy_ai"]["$ref"].endswith("/ToyAIConfig")
    trades = schemas["openapi"]["paths"]["/api/analytics/trades"]["get"]["parameters"]
    model_id = next(p for p in trades if p["name"] == "model_id")["schema"]["anyOf"][0]
    assert model_id["enum"] == [*MODEL_IDS, "toy_ai"]


SESSION = """
import json, sqlite3, sys
from pathlib import Path
from rl_pipeline.config import SessionConfig
from rl_pipeline.market.synthetic import generate_default_bars
from rl_pipeline.session import stages
from rl_pipeline.session.queries import format_ensemble_report
from rl_pipeline.store.bars import write_bars
from rl_pipeline.store.connection import open_store

conn = open_store()
write_bars(conn, generate_default_bars(symbols=("AAA", "BBB"), days=40, seed=7), source="test")
config = SessionConfig(
    test_period_days=10,
    backtest={"history_days": 10},
    weights={"rule": "toy_rule"},
    models={"toy_ai": {"lookback": 4}},
)
summary = stages.run_session(conn, config, publish=True)
sid = summary.session_id
print(json.dumps({
    "active": list(summary.active),
    "metrics": {m: x.as_dict() for m, x in summary.metrics.items()},
    "report": summary.report,
    "text": "\\n".join(format_ensemble_report(summary.report)),
    "html": stages.session_report_path(sid).read_text(encoding="utf-8"),
    "ai_models": [dict(r) for r in conn.execute(
        "SELECT model_id, model_name, model_type, current_weight, is_active FROM ai_models"
    )],
    "metric_rows": [dict(r) for r in conn.execute(
        "SELECT * FROM performance_metrics WHERE session_id = ? AND model_id = 'toy_ai'", (sid,)
    )],
    "metric_columns": [r[1] for r in conn.execute("PRAGMA table_info(performance_metrics)")],
    "parameters": json.loads(conn.execute(
        "SELECT configuration FROM reinforcement_sessions WHERE session_id = ?", (sid,)
    ).fetchone()[0]),
}, default=str))
"""


@pytest.mark.slow
def test_a_session_runs_the_plugins_model_rule_and_metric() -> None:
    out = python_json(SESSION, plugin_env())  # in this test's own data folder and store
    # The store gave the model its ai_models row (a specification type, weight 0, active).
    toy_row = next(r for r in out["ai_models"] if r["model_id"] == "toy_ai")
    assert (toy_row["model_name"], toy_row["model_type"], toy_row["is_active"]) == (
        "ToyAI",
        "trading",
        1,
    )
    assert out["active"] == ["trading_ai", "lava_ai", "lgbm_ai", "toy_ai"]
    assert out["parameters"]["weights"]["rule"] == "toy_rule"
    assert out["parameters"]["models"]["toy_ai"] == {"lookback": 4, "confidence": 0.5}
    # Per-model metrics: the model is measured like the others, with the plugin's metric.
    toy = out["metrics"]["toy_ai"]
    assert toy["total_trades"] > 0
    assert all("toy_profit_factor" in m for m in out["metrics"].values())
    report = out["report"]
    assert report["rule"] == "toy_rule"
    assert report["models_alone"]["toy_ai"] == toy
    assert all("toy_profit_factor" in e for e in report["ensembles"].values())
    assert [e["rule"] for e in report["tournament"]][-1] == "toy_rule"
    assert "toy_ai alone" in out["text"] and "profit factor" in out["text"]
    assert "toy_ai alone" in out["html"] and "profit factor" in out["html"]
    # The specification's performance_metrics table keeps exactly its columns.
    assert out["metric_columns"] == [
        "metric_id",
        "model_id",
        "session_id",
        "win_rate",
        "total_pnl",
        "avg_trade_pnl",
        "sharpe_ratio",
        "max_drawdown",
        "total_trades",
        "calculated_at",
    ]
    [row] = out["metric_rows"]
    assert row["total_trades"] == toy["total_trades"] and row["total_pnl"] == toy["total_pnl"]


def test_ai_model_types_are_the_specifications_check_constraint() -> None:
    ddl = (FIXTURES / "spec_tables.sql").read_text(encoding="utf-8")
    listed = re.search(r"model_type TEXT NOT NULL CHECK \(model_type IN \(([^)]*)\)\)", ddl)
    assert listed is not None
    assert tuple(v.strip().strip("'") for v in listed.group(1).split(",")) == AI_MODEL_TYPES


def test_a_model_of_another_type_is_refused_naming_the_field() -> None:
    with pytest.raises(RegistryError, match=r"model 'toy_ai': model_type 'toy' is not one of"):
        ModelSpec("toy_ai", "ToyAI", "toy", "somewhere:ToyAI")


def test_a_model_registered_after_the_schemas_are_built_is_refused() -> None:
    spec = ModelSpec("late_ai", "LateAI", "trading", "somewhere:LateAI")
    with pytest.raises(RegistryError, match=rf"model 'late_ai' registered after .*{PLUGINS_ENV}"):
        register_model(spec)
    assert "late_ai" not in MODEL_IDS


def test_a_plugin_that_cannot_be_imported_stops_the_program_naming_it() -> None:
    done = run([str(RL_PIPELINE), "weights", "show"], plugin_env("no_such_plugin_module"))
    assert done.returncode != 0
    assert f"{PLUGINS_ENV}: cannot import plugin 'no_such_plugin_module'" in done.stderr
