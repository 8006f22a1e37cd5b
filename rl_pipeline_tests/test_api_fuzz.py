"""Property-based fuzzing of the running API from its own OpenAPI schema (schemathesis
strategies driven by hypothesis): no request gets a 5xx, and a rejected request (4xx) leaves the
store exactly as it was.

Every route is fuzzed with valid and invalid data, except that ``POST /api/reinforcement/start``
only gets invalid bodies: a valid one would launch a real Dagster run per example. The Mistral
start route cannot start anything here (the models folder is empty and no model is configured).
"""

from __future__ import annotations

import hashlib
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
    """A body the start route would accept (negative generation may still produce one)."""
    try:
        request = StartSessionRequest.model_validate(body)
        SessionConfig(**request.model_dump(exclude_none=True))
    except (pydantic.ValidationError, TypeError):
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
