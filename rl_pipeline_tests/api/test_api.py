"""The HTTP API as a client sees it: a real ``rl-pipeline api`` (uvicorn) process on 127.0.0.1,
driven over HTTP through every route and every error case. A rejected request changes nothing
in the store (compared as an SQL dump)."""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from rl_pipeline.analytics.performance import model_performance
from rl_pipeline.analytics.trades import trade_analysis
from rl_pipeline.config import MistralConfig, SessionConfig
from rl_pipeline.mistral.manager import MistralServerManager
from rl_pipeline.session.requests import request_session
from rl_pipeline.store.connection import open_store
from rl_pipeline_tests.conftest import VENV_BIN, llama_server_or_skip
from rl_pipeline_tests.support.analytics_store import dump, make_session_store
from rl_pipeline_tests.support.api_server import ApiServer, Reply, api_server
from rl_pipeline_tests.support.processes import pick_free_port
from rl_pipeline_tests.support.tiny_gguf import write_tiny_llama_gguf

TOKEN = "s3cret-token"
ROUTES = {
    ("post", "/api/reinforcement/start"),
    ("get", "/api/reinforcement/status"),
    ("get", "/api/models/weights"),
    ("put", "/api/models/weights"),
    ("post", "/api/models/weights/replay"),
    ("get", "/api/models/performance"),
    ("post", "/api/server/mistral/start"),
    ("post", "/api/server/mistral/stop"),
    ("get", "/api/server/mistral/status"),
    ("get", "/api/analytics/trades"),
    ("get", "/api/config/export"),
    ("post", "/api/config/import"),
    ("get", "/api/reinforcement/report"),
    ("post", "/api/campaigns/run"),
    ("get", "/api/campaigns"),
    ("post", "/api/sweeps/run"),
    ("get", "/api/sweeps"),
    ("get", "/api/data"),
    ("post", "/api/data/import"),
    ("delete", "/api/data/{symbol}"),
}
VALID_WEIGHTS = {
    "trading_ai_weight": 0.3,
    "lava_ai_weight": 0.3,
    "lgbm_ai_weight": 0.4,
    "mistral_ai_weight": 0.0,
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """The API over a store with two completed sessions (no token)."""
    db, _ = make_session_store(tmp_path_factory.mktemp("api"))
    with api_server(db.parent) as running:
        yield running


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """The API with RL_PIPELINE_API_TOKEN set, over an empty store."""
    data = tmp_path_factory.mktemp("api-token") / "data"
    data.mkdir()
    open_store(data / "rl_pipeline.sqlite").close()
    with api_server(data, extra_env={"RL_PIPELINE_API_TOKEN": TOKEN}) as running:
        yield running


def rejected(server: ApiServer, method: str, path: str, *args: Any, **kwargs: Any) -> Reply:
    """A request that must be refused (4xx) and leave the store exactly as it was."""
    before = dump(server.db)
    reply = server.call(method, path, *args, **kwargs)
    assert 400 <= reply.status < 500, reply
    assert dump(server.db) == before, f"{method} {path} changed the store"
    return reply


def locs(reply: Reply) -> list[list]:
    assert reply.status == 422, reply
    return [e["loc"] for e in reply.body["detail"]]


def rows(db: Path, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
    conn = open_store(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


# -- the app ---------------------------------------------------------------------------------------


def test_docs_and_schema_list_every_route(server: ApiServer) -> None:
    docs = server.call("GET", "/docs")
    assert docs.status == 200 and "swagger" in docs.body.lower()
    # Offline: every script and stylesheet of /docs and /redoc is served by the API itself.
    for page in (docs.body, server.call("GET", "/redoc").body):
        assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page)
        assert assets and all(a.startswith("/") and not a.startswith("//") for a in assets), assets
        for asset in assets:
            assert server.call("GET", asset).status == 200, asset
    schema = server.call("GET", "/openapi.json").body
    served = {(m, p) for p, ops in schema["paths"].items() for m in ops}
    assert served == ROUTES
    assert "Uvicorn running on http://127.0.0.1:" in server.log.read_text()  # the default bind


def test_requests_are_logged_to_the_rotating_api_log(server: ApiServer) -> None:
    server.call("GET", "/api/models/weights")
    log = server.data / "logs" / "api.log"
    # The access line is written as the response goes out: it may land just after the reply.
    deadline = time.monotonic() + 10
    while "GET /api/models/weights -> 200" not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.05)


def test_serving_beyond_loopback_needs_a_token() -> None:
    env = {k: v for k, v in os.environ.items() if k != "RL_PIPELINE_API_TOKEN"}
    done = subprocess.run(
        [str(VENV_BIN / "rl-pipeline"), "api", "--host", "0.0.0.0", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "refusing to serve on 0.0.0.0 without RL_PIPELINE_API_TOKEN" in done.stderr


# -- weights ---------------------------------------------------------------------------------------


def test_get_and_put_weights(server: ApiServer) -> None:
    got = server.call("GET", "/api/models/weights")
    assert got.status == 200
    live = {r["model_id"]: r["current_weight"] for r in rows(server.db, "SELECT * FROM ai_models")}
    assert {k: v for k, v in got.body.items() if k != "last_updated"} == {
        f"{m}_weight": w for m, w in live.items()
    }
    assert got.body["last_updated"].endswith("Z")

    put = server.call("PUT", "/api/models/weights", VALID_WEIGHTS)
    assert put.status == 200, put.body
    assert {k: v for k, v in put.body.items() if k != "last_updated"} == VALID_WEIGHTS
    live = {r["model_id"]: r["current_weight"] for r in rows(server.db, "SELECT * FROM ai_models")}
    assert live == {"trading_ai": 0.3, "lava_ai": 0.3, "lgbm_ai": 0.4, "mistral_ai": 0.0}
    history = rows(server.db, "SELECT * FROM model_weight_history WHERE reason = 'manual'")
    assert history, "a weight change through the API is in the weight history"


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({k: v for k, v in VALID_WEIGHTS.items() if k != "lava_ai_weight"}, "lava_ai_weight"),
        ({**VALID_WEIGHTS, "trading_ai_weight": 1.5}, "trading_ai_weight"),
        ({**VALID_WEIGHTS, "lgbm_ai_weight": -0.1}, "lgbm_ai_weight"),
        ({**VALID_WEIGHTS, "lgbm_ai_weight": "0.4"}, "lgbm_ai_weight"),
        ({**VALID_WEIGHTS, "lgbm_ai_weight": None}, "lgbm_ai_weight"),
        ({**VALID_WEIGHTS, "lgbm_ai_weight": 0.5}, "trading_ai_weight+lava_ai_weight"),
        ({**VALID_WEIGHTS, "extra_weight": 0.1}, "extra_weight"),
    ],
)
def test_bad_weights_are_rejected_with_the_field(
    server: ApiServer, body: dict[str, Any], loc: str
) -> None:
    reply = rejected(server, "PUT", "/api/models/weights", body)
    found = locs(reply)
    assert any(
        len(path) == 2 and path[0] == "body" and str(path[1]).startswith(loc) for path in found
    ), found


def test_malformed_bodies_are_rejected(server: ApiServer) -> None:
    assert locs(rejected(server, "PUT", "/api/models/weights", raw=b"{not json")) == [["body", 1]]
    assert locs(rejected(server, "PUT", "/api/models/weights", [0.25, 0.25])) == [["body"]]
    assert rejected(server, "PUT", "/api/models/weights").status == 422


# -- sessions --------------------------------------------------------------------------------------


def test_a_session_started_through_the_api_completes_as_a_dagster_run(server: ApiServer) -> None:
    # The session starts from the active configuration, with the given fields overridden.
    document = server.call("GET", "/api/config/export").body
    document["session"]["costs"]["fee_bps"] = 12.5
    assert server.call("POST", "/api/config/import", document).status == 200

    started = server.call(
        "POST", "/api/reinforcement/start", {"test_period_days": 5, "learning_rate": 0.02}
    )
    assert started.status == 200, started.body
    assert started.body["status"] is True
    assert started.body["estimated_duration"] == 1  # the earlier sessions took seconds
    session_id = started.body["session_id"]
    first = server.call("GET", f"/api/reinforcement/status?session_id={session_id}").body
    assert first["status"] in {"queued", "running", "completed"}

    deadline = time.monotonic() + 180
    while (status := server.call("GET", "/api/reinforcement/status").body)["status"] != "completed":
        assert status["session_id"] == session_id  # the latest, even before it has started
        assert status["status"] in {"queued", "running"}, status
        assert time.monotonic() < deadline, status
        time.sleep(0.5)
    assert status["stage"] == "completed" and status["error"] is None
    assert status["requested_by"] == "api" and status["end_time"]
    by_model = {m["model_id"]: m for m in status["models"]}
    assert set(by_model) == {"trading_ai", "lava_ai", "lgbm_ai", "mistral_ai"}
    assert sum(m["trades"] for m in by_model.values()) > 0
    assert by_model["trading_ai"]["weight_before"] == 0.3  # set by the PUT test earlier

    session = rows(
        server.db,
        "SELECT s.configuration, r.dagster_run_id FROM reinforcement_sessions s "
        "JOIN session_runs r USING (session_id) WHERE session_id = ?",
        (session_id,),
    )[0]
    config = SessionConfig.model_validate_json(session["configuration"])
    assert (config.test_period_days, config.learning_rate) == (5, 0.02)
    assert config.costs.fee_bps == 12.5
    home = server.data / "dagster"
    with dg.DagsterInstance.from_config(str(home)) as instance:
        # The session completes in its last step; the run ends a moment after that step.
        deadline = time.monotonic() + 60
        while (run := instance.get_run_by_id(session["dagster_run_id"])).status in (
            dg.DagsterRunStatus.STARTING,
            dg.DagsterRunStatus.STARTED,
        ):
            assert time.monotonic() < deadline, run.status
            time.sleep(0.5)
        assert run.status == dg.DagsterRunStatus.SUCCESS
        assert run.tags["dagster/partition"] == session_id


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({}, ["body", "test_period_days"]),
        ({"test_period_days": 0}, ["body", "test_period_days"]),
        ({"test_period_days": 5000}, ["body", "test_period_days"]),
        ({"test_period_days": "30"}, ["body", "test_period_days"]),
        ({"test_period_days": 1.5}, ["body", "test_period_days"]),
        ({"test_period_days": 30, "learning_rate": 0}, ["body", "learning_rate"]),
        ({"test_period_days": 30, "reward_multiplier": -1}, ["body", "reward_multiplier"]),
        ({"test_period_days": 30, "punishment_multiplier": "x"}, ["body", "punishment_multiplier"]),
        ({"test_period_days": 30, "learning_rate": 0.9, "punishment_multiplier": 2}, ["body"]),
        ({"test_period_days": 30, "symbols": ["AAA"]}, ["body", "symbols"]),
        ({"test_period_days": 30, "rule": "best"}, ["body", "rule"]),
        ({"test_period_days": 30, "update_every": "2w"}, ["body", "update_every"]),
    ],
)
def test_bad_session_requests_start_nothing(
    server: ApiServer, body: dict[str, Any], loc: list
) -> None:
    assert loc in locs(rejected(server, "POST", "/api/reinforcement/start", body))


def test_status_of_unknown_or_empty_session_ids(server: ApiServer) -> None:
    missing = rejected(server, "GET", "/api/reinforcement/status?session_id=nope")
    assert missing.status == 404 and "does not exist" in missing.body["detail"]
    assert locs(rejected(server, "GET", "/api/reinforcement/status?session_id=")) == [
        ["query", "session_id"]
    ]


def test_a_requested_session_not_yet_started_is_queued(guarded: ApiServer) -> None:
    none_yet = guarded.call("GET", "/api/reinforcement/status")
    assert none_yet.status == 404 and "no session" in none_yet.body["detail"]
    conn = open_store(guarded.db)
    try:  # queued only (the sensor would launch it; no daemon runs here)
        session_id = request_session(conn, SessionConfig(test_period_days=3), "test")
    finally:
        conn.close()
    for path in ("/api/reinforcement/status", f"/api/reinforcement/status?session_id={session_id}"):
        reply = guarded.call("GET", path)
        assert reply.status == 200
        assert (reply.body["session_id"], reply.body["status"]) == (session_id, "queued")
        assert reply.body["stage"] == "request queued"


# -- performance and analytics ---------------------------------------------------------------------


def test_performance_is_the_analytics_result(server: ApiServer) -> None:
    latest = server.call("GET", "/api/models/performance")
    assert latest.status == 200
    expected = model_performance(server.db)
    assert latest.body == {"session_id": expected[0]["session_id"], "models": expected}
    first = rows(server.db, "SELECT session_id FROM reinforcement_sessions ORDER BY rowid")[0][0]
    chosen = server.call("GET", f"/api/models/performance?session_id={first}").body
    assert {m["session_id"] for m in chosen["models"]} == {first}
    assert rejected(server, "GET", "/api/models/performance?session_id=nope").status == 404


def test_trade_analysis_with_filters(server: ApiServer) -> None:
    first = rows(server.db, "SELECT session_id FROM reinforcement_sessions ORDER BY rowid")[0][0]
    query = (
        f"session_id={first}&model_id=lgbm_ai&symbol=AAA&start=2025-01-01T00:00:00Z"
        "&end=2025-12-31T00:00:00&top_n=3"
    )
    reply = server.call("GET", f"/api/analytics/trades?{query}")
    assert reply.status == 200, reply.body
    expected = trade_analysis(
        server.db,
        session_id=first,
        model_id="lgbm_ai",
        symbol="AAA",
        start="2025-01-01T00:00:00+00:00",
        end="2025-12-31T00:00:00",
        top_n=3,
    )
    assert reply.body == json.loads(json.dumps(expected))
    assert reply.body["summary"]["trades"] > 0 and len(reply.body["best_trades"]) == 3
    everything = server.call("GET", "/api/analytics/trades").body
    # The two sessions overlap: each distinct trade is counted once, every stored one covered.
    coverage = everything["coverage"]
    assert everything["summary"]["trades"] == coverage["distinct_trades"]
    assert coverage["stored_trades"] == rows(server.db, "SELECT COUNT(*) FROM trade_results")[0][0]


@pytest.mark.parametrize(
    ("query", "loc"),
    [
        ("model_id=gpt", ["query", "model_id"]),
        ("start=yesterday", ["query", "start"]),
        ("start=2025-02-01&end=2025-01-01", ["query", "end"]),
        ("top_n=101", ["query", "top_n"]),
        ("symbol=", ["query", "symbol"]),
    ],
)
def test_bad_trade_filters(server: ApiServer, query: str, loc: list) -> None:
    assert loc in locs(rejected(server, "GET", f"/api/analytics/trades?{query}"))


def test_trades_of_an_unknown_session(server: ApiServer) -> None:
    assert rejected(server, "GET", "/api/analytics/trades?session_id=nope").status == 404


# -- configuration ---------------------------------------------------------------------------------


def test_config_export_and_import(server: ApiServer) -> None:
    exported = server.call("GET", "/api/config/export")
    assert exported.status == 200
    assert set(exported.body) == {"schema_version", "session", "weights"}
    versions = rows(server.db, "SELECT COUNT(*) FROM stored_configurations")[0][0]
    imported = server.call("POST", "/api/config/import", exported.body)
    assert imported.status == 200, imported.body
    assert imported.body["version"] == versions + 1
    assert server.call("GET", "/api/config/export").body == exported.body


def test_bad_config_documents_change_nothing(server: ApiServer) -> None:
    good = server.call("GET", "/api/config/export").body
    bad_rate = json.loads(json.dumps(good))
    bad_rate["session"]["learning_rate"] = -1
    assert ["body", "session", "learning_rate"] in locs(
        rejected(server, "POST", "/api/config/import", bad_rate)
    )
    bad_sum = json.loads(json.dumps(good))
    bad_sum["weights"] = {"trading_ai": 0.5, "lava_ai": 0.5, "lgbm_ai": 0.5, "mistral_ai": 0.0}
    assert ["body", "weights"] in locs(rejected(server, "POST", "/api/config/import", bad_sum))
    unknown = {**good, "surprise": 1}
    assert ["body", "surprise"] in locs(rejected(server, "POST", "/api/config/import", unknown))
    assert locs(rejected(server, "POST", "/api/config/import", [1, 2])) == [["body"]]
    assert locs(rejected(server, "POST", "/api/config/import", raw=b"nope")) == [["body", 0]]


# -- the Mistral server ----------------------------------------------------------------------------


@pytest.fixture
def llama_binary() -> str:
    return str(llama_server_or_skip())


@pytest.fixture
def mistral_cleanup(server: ApiServer) -> Iterator[None]:
    yield
    MistralServerManager(MistralConfig(stop_grace_s=2), server.data / "run").stop()


def test_mistral_start_status_conflict_and_stop(
    server: ApiServer, llama_binary: str, mistral_cleanup: None
) -> None:
    model = write_tiny_llama_gguf(server.data / "models" / "tiny.gguf")
    port = pick_free_port()
    assert server.call("GET", "/api/server/mistral/status").body["state"] == "stopped"
    idle = server.call("POST", "/api/server/mistral/stop")
    assert idle.status == 200 and idle.body["status"] is False

    started = server.call(
        "POST",
        "/api/server/mistral/start",
        {"model_path": "tiny.gguf", "port": port, "timeout": 60},
    )
    assert started.status == 200, started.body
    assert started.body["status"] is True and started.body["port"] == port
    assert started.body["pid"] > 0 and started.body["model_path"] == str(model)
    status = server.call("GET", "/api/server/mistral/status").body
    assert (status["state"], status["healthy"], status["pid"]) == (
        "running",
        True,
        started.body["pid"],
    )
    again = server.call(
        "POST", "/api/server/mistral/start", {"model_path": str(model), "port": port}
    )
    assert again.status == 200 and again.body["already_running"] is True
    clash = rejected(
        server, "POST", "/api/server/mistral/start", {"model_path": "tiny.gguf", "port": port + 1}
    )
    assert clash.status == 409 and "already running" in clash.body["detail"]

    stopped = server.call("POST", "/api/server/mistral/stop")
    assert stopped.status == 200 and stopped.body["status"] is True
    assert stopped.body["pid"] == started.body["pid"]
    assert server.call("GET", "/api/server/mistral/status").body["state"] == "stopped"


def test_mistral_start_on_a_taken_port_is_a_conflict(server: ApiServer, llama_binary: str) -> None:
    write_tiny_llama_gguf(server.data / "models" / "tiny.gguf")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        reply = rejected(
            server, "POST", "/api/server/mistral/start", {"model_path": "tiny.gguf", "port": port}
        )
    assert reply.status == 409 and f"port {port}" in reply.body["detail"]


def test_mistral_model_paths_outside_the_models_folder_are_refused(
    server: ApiServer, tmp_path: Path
) -> None:
    models = server.data / "models"
    outside = write_tiny_llama_gguf(tmp_path / "elsewhere.gguf")
    link = models / "link.gguf"
    link.unlink(missing_ok=True)
    link.symlink_to(outside)  # inside by name, outside once resolved
    (models / "notes.txt").write_text("not a model")
    loop = models / "loop.gguf"
    loop.unlink(missing_ok=True)
    loop.symlink_to(loop)
    for model_path, why in (
        (str(outside), "outside the models folder"),
        ("../elsewhere.gguf", "outside the models folder"),
        ("link.gguf", "outside the models folder"),
        ("/etc/passwd", "outside the models folder"),
        ("a\x00b", "NUL byte"),
        ("loop.gguf", "cannot be resolved"),
        ("x" * 300, "unusable"),
    ):
        reply = rejected(server, "POST", "/api/server/mistral/start", {"model_path": model_path})
        assert locs(reply) == [["body", "model_path"]], model_path
        assert why in reply.body["detail"][0]["msg"], reply.body
    for model_path, why in (("missing.gguf", "not found"), ("notes.txt", "not a GGUF file")):
        reply = rejected(server, "POST", "/api/server/mistral/start", {"model_path": model_path})
        assert locs(reply) == [["body", "model_path"]] and why in reply.body["detail"][0]["msg"]
    unconfigured = rejected(server, "POST", "/api/server/mistral/start")
    assert "none configured" in unconfigured.body["detail"][0]["msg"]
    for body, loc in (
        ({"port": 0}, ["body", "port"]),
        ({"port": 70000}, ["body", "port"]),
        ({"timeout": 0}, ["body", "timeout"]),
        ({"model_path": ""}, ["body", "model_path"]),
        ({"other": 1}, ["body", "other"]),
    ):
        assert loc in locs(rejected(server, "POST", "/api/server/mistral/start", body))
    assert server.call("GET", "/api/server/mistral/status").body["state"] == "stopped"


# -- the token -------------------------------------------------------------------------------------


def test_mutating_routes_need_the_bearer_token(guarded: ApiServer) -> None:
    weights = {**VALID_WEIGHTS}
    for method, path, body in (
        ("PUT", "/api/models/weights", weights),
        ("POST", "/api/reinforcement/start", {"test_period_days": 5}),
        ("POST", "/api/config/import", {}),
        ("POST", "/api/server/mistral/start", {}),
        ("POST", "/api/server/mistral/stop", None),
        ("POST", "/api/data/import", {"paths": ["x.csv"]}),
        ("DELETE", "/api/data/ANY", None),
    ):
        for token in (None, "wrong", TOKEN + "x", ""):
            reply = rejected(guarded, method, path, body, token=token)
            assert reply.status == 401 and reply.headers.get("www-authenticate") == "Bearer"
        assert rejected(guarded, method, path, raw=b"{bad json").status == 401
        basic = rejected(guarded, method, path, body, headers={"Authorization": f"Basic {TOKEN}"})
        assert basic.status == 401
    assert guarded.call("PUT", "/api/models/weights", weights, token=TOKEN).status == 200
    assert guarded.call("POST", "/api/server/mistral/stop", token=TOKEN).status == 200
    for path in ("/api/models/weights", "/api/server/mistral/status", "/api/config/export"):
        assert guarded.call("GET", path).status == 200  # reading needs no token
    assert guarded.call("GET", "/api/models/performance").body == {"session_id": None, "models": []}
