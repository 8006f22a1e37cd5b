"""What the API process reads from its environment, once, when the app is built."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from rl_pipeline import paths

TOKEN_ENV = "RL_PIPELINE_API_TOKEN"
ALLOWED_HOSTS_ENV = "RL_PIPELINE_API_ALLOWED_HOSTS"
MAX_BODY_ENV = "RL_PIPELINE_API_MAX_BODY_BYTES"
# The names a browser uses for this machine: a page that resolves its own name to 127.0.0.1
# (DNS rebinding) sends its own name as Host and is refused.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
MAX_BODY_BYTES = 1_048_576  # a configuration document is a few kB


def _hosts(text: str | None) -> tuple[str, ...]:
    if not text:
        return LOOPBACK_HOSTS
    return tuple(h.strip().lower() for h in text.split(",") if h.strip())


def _positive_int(name: str, text: str | None, default: int) -> int:
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise ValueError(f"{name}: {text!r} is not a positive whole number of bytes")
    return value


@dataclass(frozen=True)
class ApiSettings:
    db_path: Path
    models_dir: Path
    token: str | None  # when set, POST/PUT need "Authorization: Bearer <token>"
    # Host header names served (without port); anything else gets 400. Also the origins a
    # browser may send mutating requests from.
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS
    max_body_bytes: int = MAX_BODY_BYTES  # larger request bodies get 413 unread

    @classmethod
    def from_env(cls) -> ApiSettings:
        return cls(
            db_path=paths.db_path(),
            models_dir=paths.models_dir(),
            token=os.environ.get(TOKEN_ENV) or None,
            allowed_hosts=_hosts(os.environ.get(ALLOWED_HOSTS_ENV)),
            max_body_bytes=_positive_int(
                MAX_BODY_ENV, os.environ.get(MAX_BODY_ENV), MAX_BODY_BYTES
            ),
        )
