"""Find the ``llama-server`` executable."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from rl_pipeline.mistral.errors import ServerBinaryNotFoundError

LLAMA_CPP_PYTHON_VERSION = "0.3.36"
BINARY_ENV = "RL_PIPELINE_LLAMA_SERVER"
CACHE_ENV = "RL_PIPELINE_CACHE"
BUILD_HINT = "build one with scripts/build_llama_server.sh (a few minutes, once per machine)"


def cached_binary_path() -> Path:
    """Where ``scripts/build_llama_server.sh`` puts the binary it builds."""
    root = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "rl_pipeline"
    return Path(root) / f"llama-server-{LLAMA_CPP_PYTHON_VERSION}" / "llama-server"


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def resolve_server_binary(configured: str | None = None) -> Path:
    """The binary to run, as an absolute path.

    Order: ``configured`` (``MistralConfig.server_binary``) > ``$RL_PIPELINE_LLAMA_SERVER`` > the
    cached build > ``llama-server`` on ``PATH``. A binary the user named explicitly (config or env)
    must work: we do not silently fall back to another one.
    """
    explicit = (
        ("server_binary in the config", configured),
        (f"${BINARY_ENV}", os.environ.get(BINARY_ENV)),
    )
    for source, value in explicit:
        if value:
            path = Path(value).expanduser()
            if not _is_executable(path):
                raise ServerBinaryNotFoundError(
                    f"llama-server binary from {source} is not an executable file: {path}"
                )
            return path.resolve()
    cached = cached_binary_path()
    if _is_executable(cached):
        return cached.resolve()
    on_path = shutil.which("llama-server")
    if on_path:
        return Path(on_path).resolve()
    raise ServerBinaryNotFoundError(
        "llama-server binary not found. Tried: server_binary in the config (not set), "
        f"${BINARY_ENV} (not set), the cached build {cached} (missing), and 'llama-server' on "
        f"PATH (not found). Point {BINARY_ENV} at your own binary or {BUILD_HINT}."
    )
