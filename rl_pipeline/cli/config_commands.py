"""``rl-pipeline config export|import``: a thin click adapter over ``configuration.store``."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.group()
def config() -> None:
    """Export or import the whole system configuration as one JSON document."""


@config.command("export")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="Write to this file instead of stdout.",
)
def export(output: str | None) -> None:
    """The active configuration with the live weights."""
    from rl_pipeline.configuration.store import export_config, render
    from rl_pipeline.store.connection import open_store

    conn = open_store()
    try:
        text = render(export_config(conn))
    finally:
        conn.close()
    if output is None:
        click.echo(text, nl=False)
        return
    Path(output).write_text(text, encoding="utf-8")
    click.echo(f"configuration written to {output}")


@config.command("import")
@click.argument("file")
def import_(file: str) -> None:
    """Validate FILE (`-` for stdin) as a whole, then make it the active configuration."""
    from rl_pipeline.configuration.store import ConfigValidationError, import_config
    from rl_pipeline.store.connection import open_store

    if file == "-":
        data, source = sys.stdin.buffer.read(), "stdin"
    else:
        path = Path(file)
        if not path.exists():
            raise click.ClickException(f"{file}: no such file")
        if not path.is_file():
            raise click.ClickException(f"{file}: not a regular file")
        data, source = path.read_bytes(), str(path.resolve())
    conn = open_store()
    try:
        result = import_config(conn, data, source=source)
    except ConfigValidationError as exc:
        lines = "\n".join(f"  {e['path']}: {e['rule']}" for e in exc.errors)
        raise click.ClickException(f"rejected configuration, nothing changed:\n{lines}") from exc
    finally:
        conn.close()
    changed = ", ".join(result.weights_changed) or "none"
    click.echo(
        f"configuration version {result.version} active (sha256 {result.sha256[:12]}); "
        f"weights changed: {changed}; mirrored to {result.mirror_path}"
    )
