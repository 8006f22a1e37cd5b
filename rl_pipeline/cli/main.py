"""The ``rl-pipeline`` command: a thin click adapter over the service functions."""

from __future__ import annotations

import logging
import sys

import click

from rl_pipeline.cli.analytics_commands import analytics, performance
from rl_pipeline.cli.api_commands import api
from rl_pipeline.cli.cli_logging import start_logging
from rl_pipeline.cli.config_commands import config
from rl_pipeline.cli.mistral_commands import mistral
from rl_pipeline.cli.models_commands import models
from rl_pipeline.cli.session_commands import session_start
from rl_pipeline.cli.weights_commands import weights
from rl_pipeline.market.validation import BarValidationError


class StoreAwareGroup(click.Group):
    """Turns a write to a read-only store, from any command, into one clear sentence."""

    def invoke(self, ctx: click.Context):
        from rl_pipeline.store.connection import ReadOnlyStoreError

        try:
            return super().invoke(ctx)
        except ReadOnlyStoreError as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=StoreAwareGroup)
@click.pass_context
def main(ctx: click.Context) -> None:
    """rl_pipeline: adaptive ensemble of trading models learned by reinforcement."""
    if ctx.invoked_subcommand != "api":  # the API server logs to its own file
        start_logging("cli")
        logging.getLogger("rl_pipeline.cli").info("rl-pipeline %s", " ".join(sys.argv[1:]))


@main.command()
@click.option("--no-default-data", is_flag=True, help="Do not load the embedded default bars.")
def init(no_default_data: bool) -> None:
    """Create or migrate the store; load the default data set when it has no bars."""
    from rl_pipeline.services.store_setup import init_store

    status = init_store(seed_default_data=not no_default_data)
    click.echo(f"store {status.db_path}: {status.bars} bars ({status.seeded_bars} loaded now)")
    for session_id in status.orphaned_sessions:
        click.echo(f"session {session_id} was left running by a dead process: marked failed")


@main.command("import-bars")
@click.argument("files", nargs=-1, required=True)
def import_bars(files: tuple[str, ...]) -> None:
    """Import OHLCV bars from CSV or Parquet files (all-or-nothing per file)."""
    from rl_pipeline.market.importer import import_bar_file
    from rl_pipeline.store.connection import open_store

    conn = open_store()
    try:
        for path in files:
            try:
                result = import_bar_file(conn, path)
            except BarValidationError as exc:
                raise click.ClickException(f"rejected, nothing stored: {exc}") from exc
            click.echo(f"{result.file}: {result.rows} bars for {', '.join(result.symbols)}")
    finally:
        conn.close()


@main.group()
def session() -> None:
    """Inspect reinforcement sessions."""


@session.command("new")
def session_new() -> None:
    """Register a new session partition in the Dagster instance and print its id (then run it
    with `dagster job execute ... --tags '{"dagster/partition": "<id>"}'`)."""
    import uuid

    from rl_pipeline.dagster_defs.launch import register_session_partition

    session_id = str(uuid.uuid4())
    register_session_partition(session_id)
    click.echo(session_id)


@session.command("show")
@click.argument("session_id", required=False)
def session_show(session_id: str | None) -> None:
    """Summary of SESSION_ID (default: the latest session)."""
    from rl_pipeline.services.session_queries import format_session_view, get_session_view
    from rl_pipeline.store.connection import open_store

    conn = open_store()
    try:
        view = get_session_view(conn, session_id)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        conn.close()
    click.echo(format_session_view(view))
    if view.status != "completed":
        raise SystemExit(1)


main.add_command(mistral)
main.add_command(weights)
main.add_command(models)
main.add_command(config)
session.add_command(session_start)
models.add_command(performance)
main.add_command(analytics)
main.add_command(api)
