"""``rl-pipeline mistral start|stop|status``: a thin click adapter over ``MistralServerManager``.

Servers started here are *shared*: they outlive this command (no PR_SET_PDEATHSIG) and are tracked
by the state file under ``data/run/``, so any later process can see and stop them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import click

from rl_pipeline.llm.control import (
    mistral_server_status,
    start_mistral_server,
    stop_mistral_server,
)
from rl_pipeline.mistral.errors import MistralServerError
from rl_pipeline.mistral.manager import ServerStatus
from rl_pipeline.store.connection import open_store


@contextmanager
def _store() -> Iterator[sqlite3.Connection]:
    conn = open_store()
    try:
        yield conn
    finally:
        conn.close()


def _emit(as_json: bool, payload: dict, text: str) -> None:
    click.echo(json.dumps(payload, indent=2) if as_json else text)


@click.group()
def mistral() -> None:
    """Start, stop and inspect the local Mistral (llama.cpp) server."""


@mistral.command()
@click.option("--model-path", type=click.Path(dir_okay=False), help="GGUF model file.")
@click.option("--port", type=click.IntRange(1, 65535), help="Port to listen on (default 8080).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), help="Start timeout, s.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def start(model_path: str | None, port: int | None, timeout: float | None, as_json: bool) -> None:
    """Start the server (or report the one already running) and wait until it is healthy."""
    try:
        with _store() as conn:
            result = start_mistral_server(conn, model_path, port, timeout, models_folder=None)
    except MistralServerError as exc:
        raise click.ClickException(str(exc)) from exc
    verb = "already running" if result["already_running"] else "started"
    _emit(
        as_json,
        dict(result),
        f"Mistral server {verb}: pid {result['pid']}, {result['base_url']}, "
        f"model {result['model_path']}",
    )


@mistral.command()
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def stop(as_json: bool) -> None:
    """Stop the server (SIGTERM, then SIGKILL after a grace period); not running is no error."""
    try:
        with _store() as conn:
            result = stop_mistral_server(conn)
    except MistralServerError as exc:
        raise click.ClickException(str(exc)) from exc
    _emit(as_json, dict(result), result["message"])


@mistral.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(as_json: bool) -> None:
    """Show whether the server is running, stopped or crashed, checked against the live process."""
    with _store() as conn:
        current = mistral_server_status(conn)
    _emit(as_json, dict(current), _describe(current))


def _describe(current: ServerStatus) -> str:
    state = current["state"]
    if state == "running":
        health = "healthy" if current["healthy"] else "NOT healthy"
        owner = current["owner"]
        lines = [
            f"Mistral server: running ({health})",
            f"  pid:        {current['pid']}",
            f"  url:        {current['base_url']}",
            f"  model:      {current['model_path']}",
            f"  started at: {current['started_at']}",
            f"  owner:      {'shared' if owner == 'shared' else f'process {owner}'}",
            f"  log:        {current['log_path']}",
        ]
        if not current["healthy"]:
            lines.append(f"  detail:     {current['detail']}")
        return "\n".join(lines)
    if state == "crashed":
        return (
            f"Mistral server: CRASHED - {current['detail']}.\n"
            "Run `rl-pipeline mistral stop` to clear the record or `start` to start a new one."
        )
    return f"Mistral server: stopped ({current['detail']})"
