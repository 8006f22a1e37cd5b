"""Hostile input at the HTTP door of a real ``rl-pipeline api`` process: non-finite numbers,
foreign Host and Origin headers, oversized bodies. Each is refused with a 4xx (never a 500) and
leaves the store as it was."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from rl_pipeline.api.security import host_name, origin_host
from rl_pipeline.store.connection import open_store
from rl_pipeline_tests.support.analytics_store import dump
from rl_pipeline_tests.support.api_server import ApiServer, Reply, api_server

WEIGHTS = '{"trading_ai_weight": %s, "lava_ai_weight": 0.3, "lgbm_ai_weight": 0.4, '
WEIGHTS += '"mistral_ai_weight": 0.0}'


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    data = tmp_path_factory.mktemp("hardening") / "data"
    data.mkdir()
    open_store(data / "rl_pipeline.sqlite").close()
    with api_server(data) as running:
        yield running


def refused(server: ApiServer, method: str, path: str, **kwargs) -> Reply:
    before = dump(server.db)
    reply = server.call(method, path, **kwargs)
    assert 400 <= reply.status < 500, reply
    assert dump(server.db) == before
    return reply


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_weights_get_422_naming_the_field(server: ApiServer, number: str) -> None:
    reply = refused(server, "PUT", "/api/models/weights", raw=(WEIGHTS % number).encode())
    assert reply.status == 422
    assert [e["loc"] for e in reply.body["detail"]] == [["body", "trading_ai_weight"]]
    assert "finite" in reply.body["detail"][0]["msg"]


def test_non_finite_session_parameters_get_422(server: ApiServer) -> None:
    body = b'{"test_period_days": 5, "learning_rate": NaN, "reward_multiplier": Infinity}'
    reply = refused(server, "POST", "/api/reinforcement/start", raw=body)
    assert reply.status == 422
    assert sorted(e["loc"][-1] for e in reply.body["detail"]) == [
        "learning_rate",
        "reward_multiplier",
    ]


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.2", ""])
def test_a_foreign_host_header_gets_400(server: ApiServer, host: str) -> None:
    reply = refused(server, "GET", "/api/models/weights", headers={"Host": host})
    assert reply.status == 400
    assert "is not served here" in reply.body["detail"]
    reply = refused(server, "PUT", "/api/models/weights", raw=b"{}", headers={"Host": host})
    assert reply.status == 400


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]"])
def test_loopback_names_are_served(server: ApiServer, host: str) -> None:
    reply = server.call("GET", "/api/models/weights", headers={"Host": f"{host}:{server.port}"})
    assert reply.status == 200, reply


def test_mutations_from_a_foreign_origin_get_403(server: ApiServer) -> None:
    body = (WEIGHTS % "0.3").encode()
    for origin in ("http://evil.example", "null", "http://127.0.0.1.evil.example:80"):
        reply = refused(server, "PUT", "/api/models/weights", raw=body, headers={"Origin": origin})
        assert reply.status == 403, origin
    # Reading from a page elsewhere is not a change; the same page on this machine may change.
    assert server.call("GET", "/api/models/weights", headers={"Origin": "http://x"}).status == 200
    ok = server.call(
        "PUT",
        "/api/models/weights",
        raw=body,
        headers={"Origin": f"http://localhost:{server.port}"},
    )
    assert ok.status == 200, ok
    assert ok.body["trading_ai_weight"] == 0.3


def test_an_oversized_body_gets_413_unread(server: ApiServer) -> None:
    """The answer comes from the Content-Length alone: the client has not sent a byte of the
    20 MB it announced."""
    before = dump(server.db)
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(
            b"POST /api/config/import HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 20000000\r\n\r\n"
        )
        answer = b""
        while not answer.endswith(b"}"):
            chunk = sock.recv(65_536)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413"), answer
    assert b"larger than 1048576 bytes" in answer
    assert dump(server.db) == before


def test_an_oversized_chunked_body_gets_413(server: ApiServer) -> None:
    """Without a Content-Length the limit applies while the body streams in."""
    before = dump(server.db)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    chunks = (b"x" * 65_536 for _ in range(40))  # 2.6 MB
    connection.request(
        "POST",
        "/api/config/import",
        body=chunks,
        headers={"Content-Type": "application/json"},
        encode_chunked=True,
    )
    response = connection.getresponse()
    assert response.status == 413, response.read()
    assert b"larger than" in response.read()
    connection.close()
    assert dump(server.db) == before


def test_allowed_hosts_are_configurable(isolated_data_dir: Path) -> None:
    data = isolated_data_dir
    open_store(data / "rl_pipeline.sqlite").close()
    env = {"RL_PIPELINE_API_ALLOWED_HOSTS": "rl.internal, 127.0.0.1"}
    with api_server(data, extra_env=env) as running:
        reply = running.call("GET", "/api/models/weights", headers={"Host": "rl.internal"})
        assert reply.status == 200
        assert (
            running.call("GET", "/api/models/weights", headers={"Host": "rl.internal:1"}).status
            == 200
        )
        assert (
            running.call("GET", "/api/models/weights", headers={"Host": "localhost"}).status == 400
        )


@pytest.mark.parametrize(
    ("header", "name"),
    [("127.0.0.1:80", "127.0.0.1"), ("[::1]:8000", "::1"), ("LocalHost", "localhost"), ("", "")],
)
def test_host_names_without_port(header: str, name: str) -> None:
    assert host_name(header) == name


def test_origin_hosts() -> None:
    assert origin_host("http://localhost:8000") == "localhost"
    assert origin_host("null") is None
