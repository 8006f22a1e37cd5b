"""``rl-pipeline weights show|set``: a thin click adapter over ``services.weights``."""

from __future__ import annotations

import json

import click

from rl_pipeline.config import MODEL_IDS


@click.group()
def weights() -> None:
    """Show or set the live model weights."""


@weights.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print the API view as JSON.")
def show(as_json: bool) -> None:
    """The live weight of each model and when they last changed."""
    from rl_pipeline.services.weights import get_weights
    from rl_pipeline.store.connection import open_store

    conn = open_store()
    try:
        view = get_weights(conn)
    finally:
        conn.close()
    click.echo(json.dumps(view.as_api(), indent=2) if as_json else format_weights(view.weights))
    if not as_json:
        click.echo(f"last updated: {view.last_updated or 'never'}")


@weights.command("set")
@click.option("--trading-ai", type=float, help="TradingAI weight in [0, 1].")
@click.option("--lava-ai", type=float, help="LavaAI weight in [0, 1].")
@click.option("--lgbm-ai", type=float, help="LGBMAI weight in [0, 1].")
@click.option("--mistral-ai", type=float, help="MistralAI weight in [0, 1].")
@click.option(
    "--normalise",
    "--normalize",
    "normalise",
    is_flag=True,
    help="Scale the active models' weights to sum to 1.",
)
def set_(normalise: bool, **given: float | None) -> None:
    """Set all four weights at once (the active ones must sum to 1 unless --normalise)."""
    from rl_pipeline.services.weights import WeightValidationError, set_weights
    from rl_pipeline.store.connection import open_store

    # Options left out are not passed, so the service names every missing model at once.
    requested = {m: given[m] for m in MODEL_IDS if given.get(m) is not None}
    conn = open_store()
    try:
        view = set_weights(
            conn, requested, normalise=normalise, source="cli", normalise_option="--normalise"
        )
    except WeightValidationError as exc:
        listed = "; ".join(f"{_flags(e['field'])}: {e['rule']}" for e in exc.errors)
        raise click.ClickException(f"rejected weights, nothing changed: {listed}") from exc
    finally:
        conn.close()
    click.echo(format_weights(view.weights))


def format_weights(values: dict[str, float]) -> str:
    return "\n".join(f"{model_id:<11} {weight:.6f}" for model_id, weight in values.items())


def _flags(field: str) -> str:
    """``lava_ai`` -> ``--lava-ai`` (also inside ``a+b`` sums): errors name the options typed."""
    return "+".join(
        f"--{part.replace('_', '-')}" if part in MODEL_IDS else part for part in field.split("+")
    )
