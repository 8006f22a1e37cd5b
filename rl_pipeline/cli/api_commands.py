"""``rl-pipeline api``: serve the HTTP API with uvicorn (OpenAPI docs at /docs)."""

from __future__ import annotations

import dataclasses
import os

import click

from rl_pipeline.api.settings import ALLOWED_HOSTS_ENV, TOKEN_ENV, ApiSettings
from rl_pipeline.cli.cli_logging import start_logging
from rl_pipeline.mistral.transport import is_loopback_host


@click.command("api")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
def api(host: str, port: int) -> None:
    """Serve the HTTP API (docs at http://HOST:PORT/docs). Binding anything but a loopback
    address needs RL_PIPELINE_API_TOKEN, so that nobody else can change the system."""
    if not is_loopback_host(host) and not os.environ.get(TOKEN_ENV):
        raise click.ClickException(
            f"refusing to serve on {host} without {TOKEN_ENV}: set a token (clients send "
            "'Authorization: Bearer <token>') or bind 127.0.0.1"
        )
    import uvicorn

    from rl_pipeline.api.app import create_app

    start_logging("api", console=True)
    settings = ApiSettings.from_env()
    if (
        host not in settings.allowed_hosts
        and host not in ("0.0.0.0", "::")
        and not (os.environ.get(ALLOWED_HOSTS_ENV))
    ):
        # The address it was asked to serve on is a name clients will use.
        settings = dataclasses.replace(settings, allowed_hosts=(*settings.allowed_hosts, host))
    # log_config=None: uvicorn's records go to our handlers (rotating file and stderr); no
    # access log: the app logs every request itself (with its duration).
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None, access_log=False)
