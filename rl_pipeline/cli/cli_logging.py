"""The CLI's log file (``data/logs/cli.log``), set up once per command."""

from __future__ import annotations

import click
import pydantic

from rl_pipeline.logging_setup import LoggingConfig, setup_logging


def start_logging(component: str, *, console: bool = False) -> None:
    """Rotating log file for this command; a bad ``RL_PIPELINE_LOG_*`` value is a usage error."""
    try:
        config = LoggingConfig.from_env()
    except pydantic.ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise click.ClickException(f"logging settings (RL_PIPELINE_LOG_*): {problems}") from exc
    setup_logging(component, config, console=console)
