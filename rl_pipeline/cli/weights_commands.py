"""``rl-pipeline weights show|set|replay``: a thin click adapter over ``weights.live`` and
``weights.replay``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from rl_pipeline.config import MODEL_IDS
from rl_pipeline.registry import model_specs


def model_weight_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """One ``--<model-id>`` option per registered model, in registry order."""
    for spec in reversed(model_specs()):
        command = click.option(
            spec.option, spec.model_id, type=float, help=f"{spec.model_name} weight in [0, 1]."
        )(command)
    return command


@click.group()
def weights() -> None:
    """Show or set the live model weights."""


@weights.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print the API view as JSON.")
def show(as_json: bool) -> None:
    """The live weight of each model and when they last changed."""
    from rl_pipeline.store.connection import open_store
    from rl_pipeline.weights.live import get_weights

    conn = open_store()
    try:
        view = get_weights(conn)
    finally:
        conn.close()
    click.echo(json.dumps(view.as_api(), indent=2) if as_json else format_weights(view.weights))
    if not as_json:
        click.echo(f"last updated: {view.last_updated or 'never'}")


@weights.command("set")
@model_weight_options
@click.option(
    "--normalise",
    "--normalize",
    "normalise",
    is_flag=True,
    help="Scale the active models' weights to sum to 1.",
)
def set_(normalise: bool, **given: float | None) -> None:
    """Set every model's weight at once (the active ones must sum to 1 unless --normalise)."""
    from rl_pipeline.store.connection import open_store
    from rl_pipeline.weights.live import WeightValidationError, set_weights

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


@weights.command("replay")
@click.argument("source_session_id")
@click.option("--json", "as_json", is_flag=True, help="Print the replay as JSON.")
def replay(source_session_id: str, as_json: bool) -> None:
    """Replay the trades of SOURCE_SESSION_ID (a completed session, typically a backtest) into
    the live weights, as a new session; prints each model's weight before and after."""
    from rl_pipeline.session.replay import replay_session_weights, replay_view
    from rl_pipeline.session.types import SessionError
    from rl_pipeline.store.ai_models import LiveWeightsChanged
    from rl_pipeline.store.connection import open_store

    conn = open_store()
    try:
        view = replay_view(replay_session_weights(conn, source_session_id))
    except (SessionError, LiveWeightsChanged) as exc:
        raise click.ClickException(f"replay refused, live weights unchanged: {exc}") from exc
    finally:
        conn.close()
    if as_json:
        click.echo(json.dumps(view, indent=2))
        return
    click.echo(
        f"session {view['session_id']}: replayed {view['replayed_trades']} trades of "
        f"{view['source_session_id']} into the live weights"
    )
    click.echo(f"{'model':<11} {'before':>8} -> after")
    for model_id, before in view["weights_before"].items():
        click.echo(f"{model_id:<11} {before:>8.4f} -> {view['weights_after'][model_id]:.4f}")


def format_weights(values: dict[str, float]) -> str:
    return "\n".join(f"{model_id:<11} {weight:.6f}" for model_id, weight in values.items())


def _flags(field: str) -> str:
    """``lava_ai`` -> ``--lava-ai`` (also inside ``a+b`` sums): errors name the options typed."""
    return "+".join(
        f"--{part.replace('_', '-')}" if part in MODEL_IDS else part for part in field.split("+")
    )
