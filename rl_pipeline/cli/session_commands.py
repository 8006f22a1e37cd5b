"""``rl-pipeline session start``: queue a session and launch it as a Dagster run (the same
service as ``POST /api/reinforcement/start``); ``--wait`` follows it to the end."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import click
import pydantic

from rl_pipeline.cli.cli_logging import start_logging
from rl_pipeline.rl.rules import rule_names

log = logging.getLogger("rl_pipeline.cli")
ENDED = frozenset({"completed", "failed", "stopped"})


@click.command("start")
@click.option("--test-period-days", type=click.IntRange(1), required=True, help="Days tested.")
@click.option("--learning-rate", type=float, help="Default: the active configuration's (0.01).")
@click.option("--reward-multiplier", type=float, help="Default: the active configuration's (1.5).")
@click.option(
    "--punishment-multiplier", type=float, help="Default: the active configuration's (0.8)."
)
@click.option(
    "--rule",
    type=click.Choice(rule_names()),
    help="Update rule (weights.rule). Default: the active configuration's.",
)
@click.option(
    "--update-every",
    help="weights.update_every: 'trade', a bar count or a duration (1h, 1d).",
)
@click.option(
    "--symbols",
    help="Comma-separated symbols (default: every symbol with bars in the test window).",
)
@click.option("--fee-bps", type=float, help="costs.fee_bps: fee per side, basis points.")
@click.option("--slippage-bps", type=float, help="costs.slippage_bps: slippage per fill, bps.")
@click.option(
    "-c",
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False),
    help="A JSON or YAML file of SessionConfig fields (nested sections name only what they "
    "change); the flags above win over it.",
)
@click.option("--wait", is_flag=True, help="Wait until the session ends and print its summary.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=3600,
    show_default=True,
    help="With --wait: give up after this many seconds.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def session_start(
    test_period_days: int,
    learning_rate: float | None,
    reward_multiplier: float | None,
    punishment_multiplier: float | None,
    rule: str | None,
    update_every: str | None,
    symbols: str | None,
    fee_bps: float | None,
    slippage_bps: float | None,
    config_file: str | None,
    wait: bool,
    timeout: float,
    as_json: bool,
) -> None:
    """Start a reinforcement session as a Dagster run and print its id (at once, or with
    --wait when it has ended; exit code 1 unless it completed)."""
    from rl_pipeline.session.launch import launch_session
    from rl_pipeline.session.requests import QueueFull
    from rl_pipeline.store.connection import open_store

    start_logging("cli")
    given = {
        "test_period_days": test_period_days,
        "learning_rate": learning_rate,
        "reward_multiplier": reward_multiplier,
        "punishment_multiplier": punishment_multiplier,
    }
    from rl_pipeline.session.launch import merged

    flags: dict = {k: v for k, v in given.items() if v is not None}
    sections = {
        "weights": {"rule": rule, "update_every": update_every},
        "costs": {"fee_bps": fee_bps, "slippage_bps": slippage_bps},
    }
    for name, fields in sections.items():
        named = {k: v for k, v in fields.items() if v is not None}
        if named:
            flags[name] = named
    if symbols is not None:
        flags["symbols"] = [s.strip() for s in symbols.split(",") if s.strip()]
    overrides = merged(_config_file(config_file), flags) if config_file else flags
    conn = open_store()
    try:
        try:
            launched = launch_session(conn, overrides, "cli")
        except pydantic.ValidationError as exc:
            raise click.ClickException(f"rejected, nothing started: {_problems(exc)}") from exc
        except QueueFull as exc:
            raise click.ClickException(f"not started: {exc}") from exc
        log.info("session %s started from the CLI", launched.session_id)
        if not wait:
            _emit_started(launched.session_id, launched.estimated_duration, as_json)
            return
        click.echo(
            f"session {launched.session_id} started (about {launched.estimated_duration} min)",
            err=True,
        )
        _follow(conn, launched.session_id, timeout, as_json)
    finally:
        conn.close()


def _config_file(path: str) -> dict:
    """SessionConfig fields from a JSON or YAML file (validated with the rest)."""
    import yaml

    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"rejected, nothing started: {path}: {exc}") from exc
    if not isinstance(document, dict):
        raise click.ClickException(
            f"rejected, nothing started: {path}: expected a mapping of configuration fields"
        )
    return document


def _emit_started(session_id: str, minutes: int, as_json: bool) -> None:
    if as_json:
        payload = {"status": True, "session_id": session_id, "estimated_duration": minutes}
        click.echo(json.dumps(payload))
    else:
        click.echo(session_id)


def _follow(conn, session_id: str, timeout: float, as_json: bool) -> None:
    from rl_pipeline.session.queries import format_session_view, get_session_view
    from rl_pipeline.session.status import session_status

    deadline = time.monotonic() + timeout
    last = None
    while (status := session_status(conn, session_id))["status"] not in ENDED:
        progress = status.get("progress") if status["status"] == "running" else None
        if (status["status"], status["stage"], progress) != last:
            last = (status["status"], status["stage"], progress)
            detail = f" ({progress})" if progress else ""
            click.echo(f"  {status['status']}: {status['stage'] or 'waiting'}{detail}", err=True)
        if time.monotonic() > deadline:
            raise click.ClickException(
                f"session {session_id} is still {status['status']} after {timeout:g} s "
                f"(stage {status['stage']}); follow it with `rl-pipeline session show {session_id}`"
            )
        time.sleep(1.0)
    if as_json:
        click.echo(json.dumps(status, indent=2))
    else:
        click.echo(format_session_view(get_session_view(conn, session_id)))
    if status["status"] != "completed":
        raise SystemExit(1)


def _problems(exc: pydantic.ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(map(str, e['loc'])) or 'configuration'}: {e['msg']}" for e in exc.errors()
    )
