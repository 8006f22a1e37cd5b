"""Property-based fuzzing of the running API from its own OpenAPI schema (schemathesis
strategies driven by hypothesis): no request gets a 5xx, and a rejected request (4xx) leaves the
store exactly as it was.

Every route is fuzzed with valid and invalid data, except that ``POST /api/reinforcement/start``
only gets invalid bodies: a valid one would launch a real Dagster run per example. The Mistral
start route cannot start anything here (the models folder is empty and no model is configured).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pydantic
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from rl_pipeline.api.app import create_app
from rl_pipeline.api.schemas import StartSessionRequest
from rl_pipeline.api.settings import ApiSettings
from rl_pipeline.config import SessionConfig
from rl_pipeline.session.launch import merged
from rl_pipeline_tests.support.analytics_store import dump, make_session_store
from rl_pipeline_tests.support.api_server import ApiServer, api_server

START = "/api/reinforcement/start"
OPENAPI = create_app(ApiSettings(Path("unused.sqlite"), Path("unused"), None)).openapi()
SCHEMA = schemathesis.openapi.from_dict(OPENAPI)
REST = SCHEMA.exclude(path=START)
CASES = st.one_of(
    REST.as_strategy(GenerationMode.POSITIVE),
    REST.as_strategy(GenerationMode.NEGATIVE),
    SCHEMA[START]["POST"].as_strategy(GenerationMode.NEGATIVE),
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    db, _ = make_session_store(tmp_path_factory.mktemp("fuzz"), periods=(5,))
    with api_server(db.parent) as running:
        yield running


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def fingerprint(db: Path) -> str:
    return hashlib.sha256("\n".join(dump(db)).encode()).hexdigest()


def would_start_a_session(body: object) -> bool:
    """A body the start route would accept (negative generation may still produce one): the
    route's own two checks, the request model and then the configuration with the request's
    overrides (the fuzzed store holds the default configuration). An accepted body would launch
    a Dagster run that writes the store while later examples are checked."""
    try:
        request = StartSessionRequest.model_validate(body)
        SessionConfig.model_validate(merged(SessionConfig().model_dump(), request.overrides()))
    except (pydantic.ValidationError, TypeError, ValueError):
        return False
    return True


def test_the_fuzzed_schema_is_the_served_one(server: ApiServer) -> None:
    assert server.call("GET", "/openapi.json").body == OPENAPI


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
@given(case=CASES)
def test_no_server_error_and_no_change_from_a_rejected_request(
    server: ApiServer, http: requests.Session, case: schemathesis.Case
) -> None:
    if case.operation.path == START:
        assume(not would_start_a_session(case.body))
    before = fingerprint(server.db)
    response = case.call(base_url=server.base_url, session=http, timeout=60)
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} {case.query} {case.body!r} -> "
        f"{response.status_code} {response.text[:500]}"
    )
    if response.status_code >= 400:
        assert fingerprint(server.db) == before, (
            f"rejected {case.method} {case.formatted_path} changed the store: {case.body!r}"
        )


# -- hostile bodies: non-finite numbers and oversized bodies --------------------------------------

MUTATING = [
    ("PUT", "/api/models/weights"),
    ("POST", START),
    ("POST", "/api/config/import"),
    ("POST", "/api/server/mistral/start"),
]
NON_FINITE = st.sampled_from([float("nan"), float("inf"), float("-inf")])
LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-10, 10), st.floats(), st.text(max_size=8))
FIELDS = st.sampled_from(
    [
        "trading_ai_weight",
        "lava_ai_weight",
        "lgbm_ai_weight",
        "mistral_ai_weight",
        "test_period_days",
        "learning_rate",
        "reward_multiplier",
        "punishment_multiplier",
        "schema_version",
        "session",
        "weights",
        "port",
        "timeout",
    ]
)


@st.composite
def non_finite_bodies(draw: st.DrawFn) -> dict:
    """A JSON object with at least one NaN or infinity, at the top or one level down."""
    body = draw(st.dictionaries(FIELDS, LEAVES, max_size=6))
    where = draw(FIELDS)
    if draw(st.booleans()):
        body[where] = draw(NON_FINITE)
    else:
        body[where] = {draw(FIELDS): draw(NON_FINITE)}
    return body


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(route=st.sampled_from(MUTATING), body=non_finite_bodies())
def test_non_finite_numbers_are_refused_with_a_client_error(
    server: ApiServer, http: requests.Session, route: tuple[str, str], body: dict
) -> None:
    """Python's json writes NaN and Infinity as the bare words a hostile client would send."""
    method, path = route
    before = fingerprint(server.db)
    raw = json.dumps(body)  # allow_nan: NaN, Infinity, -Infinity
    response = http.request(
        method,
        server.base_url + path,
        data=raw,
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
    assert 400 <= response.status_code < 500, (method, path, raw, response.text[:300])
    response.json()  # the error itself is valid JSON
    assert fingerprint(server.db) == before, (method, path, raw)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(route=st.sampled_from(MUTATING), size=st.integers(1_048_577, 4_000_000))
def test_oversized_bodies_get_413(
    server: ApiServer, http: requests.Session, route: tuple[str, str], size: int
) -> None:
    method, path = route
    before = fingerprint(server.db)
    body = b'{"x": "' + b"a" * (size - 9) + b'"}'
    assert len(body) == size
    try:
        response = http.request(
            method,
            server.base_url + path,
            data=body,
            headers={"Content-Type": "application/json"},
            timeout=60,
        )
    except requests.ConnectionError:
        # The server may answer 413 and close before the client has sent everything.
        pass
    else:
        assert response.status_code == 413, response.text[:300]
    assert fingerprint(server.db) == before
