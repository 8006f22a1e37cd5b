"""Use case: the Mistral server for the CLI and the HTTP API: start, stop and status, configured
by the active session configuration. The API confines model paths to the models folder; the CLI,
run by the machine's own user, takes any readable GGUF file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from rl_pipeline.config import MistralConfig
from rl_pipeline.configuration.store import active_session_config
from rl_pipeline.mistral.errors import ModelFileError, ModelNotConfiguredError
from rl_pipeline.mistral.manager import ServerStatus, StartResult, StopResult, default_manager
from rl_pipeline.timestamps import iso_z


class ModelPathRefusedError(ModelFileError):
    """The model path is not (or cannot be shown to be) inside the folder the caller may use."""


def confined_model_path(model_path: str, folder: Path) -> Path:
    """``model_path`` (relative to ``folder`` unless absolute) with symlinks resolved, or
    ``ModelPathRefusedError`` when it leaves ``folder``."""
    root = folder.resolve()
    if "\x00" in model_path:
        raise ModelPathRefusedError(f"model_path {model_path!r} contains a NUL byte")
    try:
        resolved = (root / model_path).resolve()  # no expanduser: "~" means nothing remotely
    except (OSError, RuntimeError) as exc:  # a symlink loop, a name too long
        raise ModelPathRefusedError(f"model_path {model_path!r} cannot be resolved: {exc}") from exc
    if not resolved.is_relative_to(root):
        raise ModelPathRefusedError(
            f"model_path {model_path!r} resolves to {resolved}, outside the models folder {root}"
        )
    try:
        resolved.stat()
    except FileNotFoundError:
        pass  # the model-file check says "not found" with the path
    except OSError as exc:  # e.g. a name longer than the file system allows
        raise ModelPathRefusedError(f"model_path {model_path!r} is unusable: {exc}") from exc
    return resolved


def mistral_config(conn: sqlite3.Connection) -> MistralConfig:
    return active_session_config(conn).mistral


def start_mistral_server(
    conn: sqlite3.Connection,
    model_path: str | None,
    port: int | None,
    timeout: float | None,
    *,
    models_folder: Path | None,
) -> StartResult:
    """Start a shared server (or return the healthy one already running with the same model
    and port). With ``models_folder`` the model, given or configured, must lie inside it."""
    config = mistral_config(conn)
    chosen = model_path or config.model_path
    if not chosen:
        where = (
            f"put a GGUF file in {models_folder} and pass its name"
            if models_folder
            else ("pass --model-path FILE")
        )
        raise ModelNotConfiguredError(
            f"no model file given and none configured (mistral.model_path); {where}"
        )
    if models_folder is None:
        model = Path(chosen)
    else:
        model = confined_model_path(chosen, models_folder)
        # A remote caller must not choose the program to run: a configuration import could
        # set mistral.server_binary, so the API takes the binary only from the operator's
        # environment ($RL_PIPELINE_LLAMA_SERVER), the cached build or PATH.
        config = config.model_copy(update={"server_binary": None})
    return default_manager(config).start(model, port, timeout, shared=True)


def stop_mistral_server(conn: sqlite3.Connection) -> StopResult:
    return default_manager(mistral_config(conn)).stop()


def mistral_server_status(conn: sqlite3.Connection) -> ServerStatus:
    """The server's state (``started_at`` as ISO 8601 with Z, like every interface time)."""
    status = default_manager(mistral_config(conn)).status()
    return ServerStatus(**{**status, "started_at": iso_z(status["started_at"])})
