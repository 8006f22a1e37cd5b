"""A real ``rl-pipeline api`` (uvicorn) process on 127.0.0.1 and a small JSON client for it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rl_pipeline_tests.conftest import PROJECT_ROOT, VENV_BIN
from rl_pipeline_tests.support.processes import pick_free_port


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


@dataclass(frozen=True)
class ApiServer:
    base_url: str
    port: int
    db: Path
    data: Path
    log: Path

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """One request; ``body`` is sent as JSON, ``raw`` as is."""
        data = raw if raw is not None else None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return _reply(response.status, response.read(), response.headers)
        except urllib.error.HTTPError as error:
            return _reply(error.code, error.read(), error.headers)


def _reply(status: int, payload: bytes, headers: Any) -> Reply:
    text = payload.decode("utf-8", "replace")
    try:
        body = json.loads(text)
    except ValueError:
        body = text
    return Reply(status, body, dict(headers.items()))


@contextmanager
def api_server(data: Path, *, extra_env: dict[str, str] | None = None) -> Iterator[ApiServer]:
    """``rl-pipeline api --port <free>`` serving the store ``data/rl_pipeline.sqlite``, with its
    Dagster home and models folder under ``data``; stopped (SIGTERM) afterwards."""
    port = pick_free_port()
    db = data / "rl_pipeline.sqlite"
    (data / "dagster").mkdir(parents=True, exist_ok=True)
    (data / "models").mkdir(parents=True, exist_ok=True)
    inherited = {k: v for k, v in os.environ.items() if k != "RL_PIPELINE_API_TOKEN"}
    env = {
        **inherited,
        "RL_PIPELINE_DATA_DIR": str(data),
        "RL_PIPELINE_DB": str(db),
        "RL_PIPELINE_MODELS_DIR": str(data / "models"),
        "DAGSTER_HOME": str(data / "dagster"),
        **(extra_env or {}),
    }
    log = data / f"api-server-{port}.out"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(VENV_BIN / "rl-pipeline"), "api", "--port", str(port)],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = ApiServer(f"http://127.0.0.1:{port}", port, db, data, log)
    try:
        _wait_ready(server, process)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(server: ApiServer, process: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"API server exited: {server.log.read_text()}")
        try:
            if server.call("GET", "/openapi.json").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"API server not ready in {timeout_s} s: {server.log.read_text()}")
