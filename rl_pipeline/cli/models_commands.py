"""``rl-pipeline models versions|rollback``: a thin click adapter over ``weights.versions``."""

from __future__ import annotations

import json

import click


@click.group()
def models() -> None:
    """Model versions and rollback."""


@models.command("versions")
@click.argument("model_id")
@click.option("--json", "as_json", is_flag=True, help="Print the versions as JSON.")
def versions(model_id: str, as_json: bool) -> None:
    """Every version of MODEL_ID, oldest first, with its parent."""
    from rl_pipeline.store.connection import open_store
    from rl_pipeline.weights.versions import list_versions

    conn = open_store()
    try:
        found = list_versions(conn, model_id)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        conn.close()
    if as_json:
        click.echo(json.dumps([v.as_dict() for v in found], indent=2))
        return
    if not found:
        click.echo(f"{model_id} has no versions yet")
        return
    click.echo(
        f"{'version':<15} {'kind':<8} {'weight':>9} {'parent':<15} {'created at':<19} session"
    )
    for v in found:
        weight = "-" if v.weight is None else f"{v.weight:.6f}"
        click.echo(
            f"{v.version_id:<15} {v.kind:<8} {weight:>9} {v.parent_version_id or '-':<15} "
            f"{v.created_at:<19} {v.session_id or '-'}"
        )


@models.command("rollback")
@click.argument("model_id")
@click.argument("version_number", type=click.IntRange(min=1))
def rollback(model_id: str, version_number: int) -> None:
    """Restore MODEL_ID's weight of VERSION_NUMBER (the other active models share the rest in
    proportion to their weights)."""
    from rl_pipeline.store.connection import open_store
    from rl_pipeline.weights.versions import rollback as rollback_version

    conn = open_store()
    try:
        result = rollback_version(conn, model_id, version_number)
    except (LookupError, ValueError) as exc:
        raise click.ClickException(f"rollback rejected, nothing changed: {exc}") from exc
    finally:
        conn.close()
    change = result.change
    click.echo(f"{model_id} rolled back to {result.restored.version_id} ({change.session_id})")
    for model, after in change.after.items():
        click.echo(f"{model:<11} {change.before[model]:.6f} -> {after:.6f}")
