"""The Mistral control service shared by the CLI and the API: a remote caller can neither pick
a model outside the models folder nor, through a configuration import, the program to run."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from rl_pipeline.configuration.store import export_config, import_config
from rl_pipeline.llm.control import (
    ModelPathRefusedError,
    start_mistral_server,
    stop_mistral_server,
)
from rl_pipeline_tests.conftest import llama_server_or_skip
from rl_pipeline_tests.support.processes import pick_free_port, servers_of
from rl_pipeline_tests.support.tiny_gguf import write_tiny_llama_gguf


def test_api_start_ignores_a_configured_binary_and_confines_models(
    conn: sqlite3.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RL_PIPELINE_LLAMA_SERVER", str(llama_server_or_skip()))
    marker = tmp_path / "pwned"
    script = tmp_path / "evil.sh"
    script.write_text(f"#!/bin/sh\ntouch {marker}\n")
    script.chmod(0o755)
    document = export_config(conn)
    document["session"]["mistral"]["server_binary"] = str(script)
    document["session"]["mistral"]["port"] = pick_free_port()
    import_config(conn, json.dumps(document))
    models = tmp_path / "models"
    models.mkdir()
    write_tiny_llama_gguf(models / "tiny.gguf", seed=1, prefer="H")
    with pytest.raises(ModelPathRefusedError, match="outside the models folder"):
        start_mistral_server(conn, "../evil.sh", None, 20, models_folder=models)
    try:
        started = start_mistral_server(conn, "tiny.gguf", None, 20, models_folder=models)
        assert started["status"] and not marker.exists()
        assert servers_of(models) == [started["pid"]]
    finally:
        stop_mistral_server(conn)
    assert servers_of(models) == []
