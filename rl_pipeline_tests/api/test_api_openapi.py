"""The API's contract as a client reads it from a real server's /openapi.json (and /docs): every
route's answer and every error it can give are typed, every request body has an example; every
time the API or the CLI's ``--json`` shows is ISO 8601 with Z; ``PUT /api/models/weights`` can
normalise."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rl_pipeline.api.schemas import ErrorMessage, ValidationErrorBody
from rl_pipeline.config import SessionConfig
from rl_pipeline.mistral.state import STATE_FILE, ServerState, write_state
from rl_pipeline.session.campaign import run_campaign
from rl_pipeline.session.requests import request_session
from rl_pipeline.session.sweep import SweepGrid, run_sweep
from rl_pipeline.store.connection import open_store
from rl_pipeline.timestamps import ISO_Z_PATTERN
from rl_pipeline_tests.support.analytics_store import dump, make_session_store
from rl_pipeline_tests.support.api_server import ApiServer, Reply, api_server
from rl_pipeline_tests.support.cli import cli

TOKEN = "openapi-token"
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
# A string that starts like a date and a time, in any format: it must be ISO 8601 with Z.
LOOKS_LIKE_A_TIME = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d")
TIME_FIELD = re.compile(r"(_at|_time|^first_bar|^last_bar|^test_start|^test_end|^start|^end)$")
MUTATING = {"post", "put", "patch", "delete"}
ERROR_BODIES = {"#/components/schemas/ErrorMessage", "#/components/schemas/ValidationErrorBody"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """A token-guarded API over a store holding a completed session, a campaign, a sweep, a queued
    session request and the record of a crashed Mistral server."""
    folder = tmp_path_factory.mktemp("openapi")
    db, _ = make_session_store(folder, periods=(5,))
    data = db.parent
    with pytest.MonkeyPatch.context() as env:  # campaign artifacts go to this data folder
        env.setenv("RL_PIPELINE_DATA_DIR", str(data))
        env.setenv("RL_PIPELINE_DB", str(db))
        conn = open_store(db)
        try:
            run_campaign(conn, SessionConfig(test_period_days=2), sessions=2, test_period_days=2)
            run_sweep(conn, SweepGrid(learning_rate=(0.01, 0.02)))
            request_session(conn, SessionConfig(test_period_days=3), "test")
        finally:
            conn.close()
    gone = subprocess.Popen(["true"])
    gone.wait()  # a pid nobody has: the recorded server has crashed
    (data / "run").mkdir(exist_ok=True)
    record = ServerState(
        pid=gone.pid,
        pgid=gone.pid,
        port=8080,
        host="127.0.0.1",
        model_path=str(data / "models" / "m.gguf"),
        binary="llama-server",
        started_at="2026-12-02T03:14:01+00:00",
        proc_start_ticks=1,
        owner="shared",
        owner_start_ticks=None,
        log_path=str(data / "run" / "mistral_server.log"),
    )
    write_state(data / "run" / STATE_FILE, record)
    with api_server(data, extra_env={"RL_PIPELINE_API_TOKEN": TOKEN}) as running:
        yield running


@pytest.fixture(scope="module")
def schema(server: ApiServer) -> dict[str, Any]:
    reply = server.call("GET", "/openapi.json")
    assert reply.status == 200
    return reply.body


def operations(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            yield method, path, op


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in node:
        return schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


# -- the schema ------------------------------------------------------------------------------------


def test_every_operation_answers_a_typed_body(schema: dict[str, Any]) -> None:
    for method, path, op in operations(schema):
        ok = {code: r for code, r in op["responses"].items() if code.startswith("2")}
        assert ok, f"{method} {path}: no 2xx response"
        for response in ok.values():
            assert response.get("content"), f"{method} {path}: an untyped answer"
            for media, content in response["content"].items():
                body = content.get("schema", {})
                if media == "application/json":
                    named = body.get("items", {}) if body.get("type") == "array" else body
                    assert "$ref" in named, f"{method} {path}: {body} is no named model"
                    model = resolve(schema, named)
                    assert model.get("properties"), f"{method} {path}: {named} has no fields"
                else:  # the HTML report
                    assert body.get("type") == "string", f"{method} {path}: {media} {body}"


def test_every_request_body_has_an_example_that_fits_it(schema: dict[str, Any]) -> None:
    bodies = 0
    for method, path, op in operations(schema):
        if "requestBody" not in op:
            continue
        bodies += 1
        content = op["requestBody"]["content"]["application/json"]
        body = content["schema"]
        candidates = [body, *body.get("anyOf", [])]  # an optional body: the model or null
        models = [resolve(schema, c) for c in candidates if "$ref" in c] or [body]
        examples = [*content.get("examples", {}).values()]
        examples += [content["example"]] if "example" in content else []
        for model in models:
            examples += model.get("examples", [])
        assert examples, f"{method} {path}: no example"
        for model in models:
            for example in model.get("examples", []):
                fields = model.get("properties")
                if fields is not None:
                    assert set(example) <= set(fields), f"{method} {path}: {example}"
                    assert set(model.get("required", [])) <= set(example), f"{method} {path}"
    # start, weights, weights replay, mistral start, config import, campaign, sweep, data import
    assert bodies == 8


def test_each_route_declares_the_errors_it_can_give_typed(schema: dict[str, Any]) -> None:
    for method, path, op in operations(schema):
        codes = {int(c) for c in op["responses"] if not c.startswith("2")}
        where = f"{method} {path}"
        if method in MUTATING:
            assert 401 in codes, f"{where}: a token-protected route without 401"
        else:
            assert 401 not in codes, f"{where}: reading needs no token"
        takes_input = bool(op.get("parameters") or op.get("requestBody"))
        assert (422 in codes) == takes_input, f"{where}: 422 exactly when it takes input"
        names_an_id = any(
            p["in"] == "path" or p["name"].endswith("_id") for p in op.get("parameters", [])
        )
        if names_an_id:
            assert 404 in codes, f"{where}: an id that may not exist without 404"
        if 502 in codes:
            assert path.startswith("/api/server/mistral/"), f"{where}: only the Mistral server"
        for code in codes:
            content = op["responses"][str(code)]["content"]["application/json"]
            assert content["schema"].get("$ref") in ERROR_BODIES, f"{where} {code}"
    paths = {(m, p): {int(c) for c in op["responses"]} for m, p, op in operations(schema)}
    assert {401, 409, 422} <= paths[("post", "/api/data/import")]
    assert {409, 422, 502} <= paths[("post", "/api/server/mistral/start")]
    assert 429 in paths[("post", "/api/reinforcement/start")]
    assert paths[("get", "/api/models/weights")] == {200}


def test_time_fields_in_the_schema_say_their_format(schema: dict[str, Any]) -> None:
    seen = []
    for name, model in schema["components"]["schemas"].items():
        for field, spec in model.get("properties", {}).items():
            if not TIME_FIELD.search(field):
                continue
            patterns = {s.get("pattern") for s in [spec, *spec.get("anyOf", [])]} - {None}
            assert patterns == {ISO_Z_PATTERN}, f"{name}.{field}: {spec}"
            seen.append(f"{name}.{field}")
    assert {"SessionStatus.start_time", "Trade.entry_time", "MarketSeries.first_bar"} <= set(seen)


def test_declared_error_bodies_are_what_the_api_answers(server: ApiServer) -> None:
    refused = server.call("PUT", "/api/models/weights", {})
    assert refused.status == 401
    ErrorMessage.model_validate(refused.body)
    missing = server.call("GET", "/api/reinforcement/status?session_id=nope")
    assert missing.status == 404
    ErrorMessage.model_validate(missing.body)
    for reply in (
        server.call("GET", "/api/analytics/trades?top_n=500"),
        server.call("PUT", "/api/models/weights", {"trading_ai_weight": 2}, token=TOKEN),
        server.call("POST", "/api/config/import", {"schema_version": 1}, token=TOKEN),
    ):
        assert reply.status == 422, reply
        ValidationErrorBody.model_validate(reply.body)


# -- one time format -------------------------------------------------------------------------------


def times_in(body: Any, path: str = "$") -> Iterator[tuple[str, str, str]]:
    """(path, key, value) of every string that looks like a time, anywhere in ``body``."""
    if isinstance(body, dict):
        for key, value in body.items():
            if isinstance(value, str) and LOOKS_LIKE_A_TIME.match(value):
                yield f"{path}.{key}", key, value
            else:
                yield from times_in(value, f"{path}.{key}")
    elif isinstance(body, list):
        for i, value in enumerate(body):
            yield from times_in(value, f"{path}[{i}]")


def assert_iso_z(answers: dict[str, Any], expected_keys: set[str]) -> None:
    found = [t for name, body in answers.items() for t in times_in(body, name)]
    wrong = [(path, value) for path, _, value in found if not ISO_Z.match(value)]
    assert not wrong, wrong
    assert expected_keys <= {key for _, key, _ in found}, {key for _, key, _ in found}


def test_every_time_the_api_answers_is_iso_8601_with_z(server: ApiServer) -> None:
    queued = server.call("GET", "/api/reinforcement/status").body
    assert queued["status"] == "queued"
    completed_id = server.call("GET", "/api/models/performance").body["session_id"]
    trades = "/api/analytics/trades?start=2025-01-01&end=2030-01-01T00:00:00%2B02:00&top_n=3"
    answers = {}
    for path in (
        "/api/models/weights",
        "/api/reinforcement/status",
        f"/api/reinforcement/status?session_id={completed_id}",
        "/api/models/performance",
        trades,
        "/api/data",
        "/api/campaigns",
        "/api/sweeps",
        "/api/server/mistral/status",
        "/api/config/export",
    ):
        reply = server.call("GET", path)
        assert reply.status == 200, (path, reply)
        answers[path] = reply.body
    weights = {k: v for k, v in answers["/api/models/weights"].items() if k != "last_updated"}
    put = server.call("PUT", "/api/models/weights", weights, token=TOKEN)
    assert put.status == 200, put
    answers["PUT /api/models/weights"] = put.body
    assert answers["/api/server/mistral/status"]["state"] == "crashed"
    assert answers["/api/server/mistral/status"]["started_at"] == "2026-12-02T03:14:01Z"
    assert answers[trades]["filters"]["end"] == "2029-12-31T22:00:00Z"
    assert_iso_z(
        answers,
        {
            "last_updated",
            "requested_at",
            "start_time",
            "end_time",
            "calculated_at",
            "start",
            "end",
            "entry_time",
            "exit_time",
            "first_bar",
            "last_bar",
            "created_at",
            "ended_at",
            "test_start",
            "test_end",
            "started_at",
        },
    )


def test_every_time_the_cli_prints_as_json_is_iso_8601_with_z(
    server: ApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RL_PIPELINE_DATA_DIR", str(server.data))
    monkeypatch.setenv("RL_PIPELINE_DB", str(server.db))
    monkeypatch.setenv("DAGSTER_HOME", str(server.data / "dagster"))
    answers = {}
    for command in (
        ("session", "show", "--json"),
        ("session", "list", "--json"),
        ("weights", "show", "--json"),
        ("data", "list", "--json"),
        ("campaign", "show", "--json"),
        ("sweep", "show", "--json"),
        ("models", "versions", "lava_ai", "--json"),
        ("models", "performance", "--json"),
        ("analytics", "trades", "--start", "2025-01-01", "--top", "2", "--json"),
        ("mistral", "status", "--json"),
    ):
        done = cli(*command)
        assert done.returncode == 0, (command, done.stderr)
        answers[" ".join(command)] = json.loads(done.stdout)
    listed = answers["session list --json"]
    assert listed and all(ISO_Z.match(r["start_time"]) for r in listed)
    assert ISO_Z.match(answers["session show --json"]["start_time"])
    assert_iso_z(
        answers,
        {
            "start_time",
            "end_time",
            "last_updated",
            "first_bar",
            "last_bar",
            "created_at",
            "ended_at",
            "test_start",
            "test_end",
            "calculated_at",
            "start",
            "entry_time",
            "exit_time",
            "started_at",
        },
    )


# -- normalising weights ---------------------------------------------------------------------------


def active_fields(db: Path) -> list[str]:
    conn = open_store(db)
    try:
        rows = conn.execute("SELECT model_id FROM ai_models WHERE is_active ORDER BY rowid")
        return [f"{r[0]}_weight" for r in rows]
    finally:
        conn.close()


def put_weights(server: ApiServer, body: dict[str, Any]) -> Reply:
    return server.call("PUT", "/api/models/weights", body, token=TOKEN)


def test_unnormalised_weights_need_normalize(server: ApiServer) -> None:
    unscaled = {
        "trading_ai_weight": 0.5,
        "lava_ai_weight": 0.5,
        "lgbm_ai_weight": 1,
        "mistral_ai_weight": 0,
    }
    before = dump(server.db)
    refused = put_weights(server, unscaled)
    assert refused.status == 422, refused
    [error] = refused.body["detail"]
    assert error["loc"] == ["body", "+".join(active_fields(server.db))]
    assert "must sum to 1" in error["msg"] and '"normalize": true' in error["msg"]
    not_a_flag = put_weights(server, {**unscaled, "normalize": "yes"})
    assert not_a_flag.status == 422
    assert [e["loc"] for e in not_a_flag.body["detail"]] == [["body", "normalize"]]
    assert dump(server.db) == before

    scaled = put_weights(server, {**unscaled, "normalize": True})
    assert scaled.status == 200, scaled
    expected = {
        "trading_ai_weight": 0.25,
        "lava_ai_weight": 0.25,
        "lgbm_ai_weight": 0.5,
        "mistral_ai_weight": 0.0,
    }
    assert {k: v for k, v in scaled.body.items() if k != "last_updated"} == expected
    conn = open_store(server.db)
    try:
        live = dict(conn.execute("SELECT model_id, current_weight FROM ai_models").fetchall())
        change = conn.execute(
            "SELECT configuration FROM reinforcement_sessions WHERE session_id LIKE 'manual-%' "
            "ORDER BY rowid DESC LIMIT 1"
        ).fetchone()[0]
    finally:
        conn.close()
    assert live == {"trading_ai": 0.25, "lava_ai": 0.25, "lgbm_ai": 0.5, "mistral_ai": 0.0}
    recorded = json.loads(change)
    assert (recorded["normalised"], recorded["source"]) == (True, "api")
    assert server.call("GET", "/api/models/weights").body == scaled.body
