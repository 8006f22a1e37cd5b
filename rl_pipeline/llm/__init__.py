"""Use case package: the Mistral server as the CLI, the API and sessions use it (the server
manager itself is :mod:`rl_pipeline.mistral`).

- ``start_mistral_server``, ``stop_mistral_server``, ``mistral_server_status`` (:mod:`.control`);
- ``find_llm`` (a healthy endpoint for a session's MistralAI, :mod:`.endpoint`).
"""

from importlib import import_module
from typing import Any

_PUBLIC = {
    "start_mistral_server": "control",
    "stop_mistral_server": "control",
    "mistral_server_status": "control",
    "find_llm": "endpoint",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(import_module(f"{__name__}.{_PUBLIC[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
