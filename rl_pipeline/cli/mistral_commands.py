"""Placeholder: `rl-pipeline mistral ...` (issue 3)."""

import click


@click.group()
def mistral() -> None:
    """Start, stop and inspect the local Mistral (llama.cpp) server."""
