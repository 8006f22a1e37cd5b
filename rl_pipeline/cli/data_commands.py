"""``rl-pipeline data``: import, list and delete stored market bars (``import-bars`` is an
alias of ``data import``)."""

from __future__ import annotations

import json

import click

from rl_pipeline.market.validation import BarValidationError


def _import(inputs: tuple[str, ...], replace: bool, symbol: str | None, as_json: bool) -> None:
    from rl_pipeline.market_data.data import describe_import, import_market_data
    from rl_pipeline.store.bars import BarConflictError
    from rl_pipeline.store.connection import open_store

    conn = open_store()
    try:
        batch = import_market_data(conn, inputs, replace=replace, symbol=symbol)
    except (BarValidationError, BarConflictError) as exc:
        raise click.ClickException(f"rejected, nothing stored: {exc}") from exc
    finally:
        conn.close()
    if as_json:
        click.echo(json.dumps(describe_import(batch), indent=2))
        return
    for result in batch.files:
        click.echo(f"{result.file}: {result.rows} bars for {', '.join(result.symbols)}")
    stored = batch.stored
    click.echo(
        f"stored: {stored.inserted_rows} bars written, {stored.unchanged_rows} already stored "
        f"unchanged, {stored.replaced_rows} replaced"
    )


IMPORT_HELP = (
    "Import OHLCV bars from CSV or Parquet FILES (files, directories or glob patterns), "
    "all-or-nothing: a bad file, a bar in two files or a bar that differs from the stored one "
    "stores nothing. Bars identical to stored ones are skipped."
)


def import_options(fn):
    fn = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")(fn)
    fn = click.option(
        "--symbol",
        help="Symbol of files without a symbol column (default: the file name without extension).",
    )(fn)
    fn = click.option(
        "--replace",
        is_flag=True,
        help="Replace the stored bars of each symbol within the imported time range.",
    )(fn)
    return click.argument("files", nargs=-1, required=True)(fn)


@click.group()
def data() -> None:
    """Stored market data: import, list, delete."""


@data.command("import", help=IMPORT_HELP)
@import_options
def data_import(files: tuple[str, ...], replace: bool, symbol: str | None, as_json: bool) -> None:
    _import(files, replace, symbol, as_json)


@click.command("import-bars", help=IMPORT_HELP + " (Alias of `data import`.)")
@import_options
def import_bars(files: tuple[str, ...], replace: bool, symbol: str | None, as_json: bool) -> None:
    _import(files, replace, symbol, as_json)


@data.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def data_list(as_json: bool) -> None:
    """Stored symbols: interval, calendar, first and last bar, rows, source file."""
    from rl_pipeline.market_data.data import list_market_data
    from rl_pipeline.store.connection import open_store

    conn = open_store()
    try:
        rows = list_market_data(conn)
    finally:
        conn.close()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no market data stored")
        return
    click.echo(
        f"{'symbol':<12} {'interval':>8} {'calendar':>9} {'first bar':>26} {'last bar':>26} "
        f"{'rows':>9}  source"
    )
    for r in rows:
        click.echo(
            f"{r['symbol']:<12} {r['interval'] or '?':>8} {r['calendar'] or '?':>9} "
            f"{r['first_bar']:>26} {r['last_bar']:>26} {r['rows']:>9}  {r['source']}"
        )


@data.command("delete")
@click.argument("symbol")
@click.option("--from", "from_", help="First bar deleted (ISO date or date-time, UTC default).")
@click.option("--to", help="Last bar deleted (ISO date or date-time, inclusive).")
def data_delete(symbol: str, from_: str | None, to: str | None) -> None:
    """Delete the bars of SYMBOL (all of them, or those from --from to --to inclusive)."""
    from rl_pipeline.market_data.data import delete_market_data
    from rl_pipeline.store.connection import open_store

    conn = open_store()
    try:
        deleted = delete_market_data(conn, symbol, from_, to)
    except (LookupError, ValueError) as exc:
        raise click.ClickException(f"nothing deleted: {exc}") from exc
    finally:
        conn.close()
    click.echo(f"{symbol}: {deleted} bars deleted")
