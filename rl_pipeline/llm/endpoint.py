"""Use case: find (or start) the healthy Mistral server a session's MistralAI talks to.

One implementation for every adapter: the caller passes how to start its server (Dagster's
resource, or a manager owned by this process) and how to read the server's status.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from rl_pipeline.mistral.errors import MistralServerError
from rl_pipeline.mistral.manager import MistralServerManager, ServerStatus
from rl_pipeline.models.base import LLMEndpoint


@lru_cache(maxsize=8)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def model_file_sha256(path: str | Path) -> str:
    """sha256 of a model file, memoised per (path, size, mtime) within the process."""
    stat = Path(path).stat()
    return _file_sha256(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


def find_llm(
    model_path: str | None,
    ensure_server: Callable[[], str],
    status: Callable[[], ServerStatus],
) -> tuple[LLMEndpoint | None, str]:
    """(endpoint, "") when a healthy server is there or could be started, else (None, why).

    With a model configured the server is started (or a healthy one reused); without one, only a
    server someone already started (``rl-pipeline mistral start``) is used."""
    try:
        if model_path:
            base_url = ensure_server()
            served = model_path
        else:
            current = status()
            if current["state"] != "running" or not current["healthy"]:
                return None, (
                    f"no healthy Mistral server ({current['state']}: {current['detail']}); "
                    "start one with `rl-pipeline mistral start --model-path FILE`"
                )
            base_url, served = str(current["base_url"]), str(current["model_path"])
        return LLMEndpoint(base_url, served, model_file_sha256(served)), ""
    except (MistralServerError, OSError) as exc:
        return None, f"Mistral server unavailable: {exc}"


def find_llm_with_manager(manager: MistralServerManager) -> tuple[LLMEndpoint | None, str]:
    """The plain-Python path: a server started here belongs to this process."""
    model_path = manager.config.model_path

    def ensure() -> str:
        return manager.start(model_path)["base_url"]

    return find_llm(model_path, ensure, manager.status)
