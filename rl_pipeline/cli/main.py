"""The ``rl-pipeline`` command: a thin click adapter over the service functions."""

from __future__ import annotations

import json
import logging
import sys

import click

from rl_pipeline.cli.analytics_commands import analytics, performance
from rl_pipeline.cli.api_commands import api
from rl_pipeline.cli.campaign_commands import campaign
from rl_pipeline.cli.cli_logging import start_logging
from rl_pipeline.cli.config_commands import config
from rl_pipeline.cli.data_commands import data, import_bars
from rl_pipeline.cli.mistral_commands import mistral
from rl_pipeline.cli.models_commands import models
from rl_pipeline.cli.session_commands import session_start
from rl_pipeline.cli.sweep_commands import sweep
from rl_pipeline.cli.weights_commands import weights


class StoreAwareGroup(click.Group):
    """Turns a write to a read-only store, from any command, into one clear sentence."""

    def invoke(self, ctx: click.Context):
        from rl_pipeline.store.connection import ReadOnlyStoreError

        try:
            return super().invoke(ctx)
        except ReadOnlyStoreError as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=StoreAwareGroup)
@click.version_option(package_name="rl_pipeline", prog_name="rl-pipeline")
@click.pass_context
def main(ctx: click.Context) -> None:
    """rl_pipeline: adaptive ensemble of trading models learned by reinforcement."""
    if ctx.invoked_subcommand != "api":  # the API server logs to its own file
        start_logging("cli")
        logging.getLogger("rl_pipeline.cli").info("rl-pipeline %s", " ".join(sys.argv[1:]))


@main.command()
@click.option(
    "--no-default-data",
    is_flag=True,
    help="Do not load the embedded synthetic demo bars (for a store of your own data only).",
)
def init(no_default_data: bool) -> None:
    """Create or migrate the store; load the default data set when it has no bars."""
    from rl_pipeline.market_data.setup import init_store

    status = init_store(seed_default_data=not no_default_data)
    click.echo(f"store {status.db_path}: {status.bars} bars ({status.seeded_bars} loaded now)")
    for session_id in status.orphaned_sessions:
        click.echo(f"session {session_id} was left running by a dead process: marked failed")


@main.group()
def session() -> None:
    """Inspect reinforcement sessions."""


@session.command("new")
def session_new() -> None:
    """Register a new session partition in the Dagster instance and print its id (then run it
    with `dagster job execute ... --tags '{"dagster/partition": "<id>"}'`)."""
    from rl_pipeline.dagster_defs.launch import register_session_partition
    from rl_pipeline.timestamps import readable_id

    session_id = readable_id()
    register_session_partition(session_id)
    click.echo(session_id)


@session.command("show")
@click.argument("session_id", required=False)
@click.option(
    "--json", "as_json", is_flag=True, help="The whole view as JSON (report, tournament, verdict)."
)
@click.option(
    "--config",
    "show_config",
    is_flag=True,
    help="Also print the effective configuration the session ran with (JSON).",
)
def session_show(session_id: str | None, as_json: bool, show_config: bool) -> None:
    """Summary of SESSION_ID (default: the latest session): per-model results, the ensemble
    report, the rule tournament and the verdict on learning."""
    from rl_pipeline.session.queries import (
        format_session_view,
        get_session_view,
        session_view_json,
    )
    from rl_pipeline.store.connection import open_store

    conn = open_store()
    try:
        view = get_session_view(conn, session_id)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        conn.close()
    if as_json:
        click.echo(json.dumps(session_view_json(view), indent=2))
    else:
        click.echo(format_session_view(view))
        if show_config:
            click.echo("effective configuration:")
            click.echo(json.dumps(view.configuration, indent=2))
    if view.status != "completed":
        raise SystemExit(1)


@session.command("list")
@click.option(
    "--status",
    type=click.Choice(["running", "completed", "failed", "stopped"]),
    help="Only sessions in this state.",
)
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the sessions as JSON.")
def session_list(status: str | None, limit: int, as_json: bool) -> None:
    """Reinforcement sessions, newest first (times in UTC, ISO 8601 with Z)."""
    from rl_pipeline.session.queries import list_session_views
    from rl_pipeline.store.connection import open_store

    conn = open_store()
    try:
        rows = list_session_views(conn, status, limit)
    finally:
        conn.close()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no session yet")
        return
    click.echo(
        f"{'session':<38} {'status':<10} {'started (UTC)':<20} {'days':>5} {'rule':<12} trades"
    )
    for r in rows:
        click.echo(
            f"{r['session_id']:<38} {r['status']:<10} {r['start_time'] or '':<20} "
            f"{r['test_period_days']:>5} {r['rule'] or '':<12} {r['trades']}"
        )


@session.command("report")
@click.argument("session_id", required=False)
@click.option("--open", "open_it", is_flag=True, help="Open it in the default web browser.")
def session_report(session_id: str | None, open_it: bool) -> None:
    """Print the path of SESSION_ID's self-contained HTML report (default: the latest)."""
    import webbrowser

    from rl_pipeline.session.queries import session_report_file
    from rl_pipeline.store.connection import open_store

    conn = open_store()
    try:
        path = session_report_file(conn, session_id)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        conn.close()
    click.echo(str(path))
    if open_it:
        webbrowser.open(path.as_uri())


main.add_command(data)
main.add_command(import_bars)
main.add_command(mistral)
main.add_command(weights)
main.add_command(models)
main.add_command(config)
session.add_command(session_start)
models.add_command(performance)
main.add_command(analytics)
main.add_command(api)
main.add_command(campaign)
main.add_command(sweep)
