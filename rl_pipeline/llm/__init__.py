"""Use case package: the Mistral server as the CLI, the API and sessions use it (the server
manager itself is :mod:`rl_pipeline.mistral`).

- ``start_mistral_server``, ``stop_mistral_server``, ``mistral_server_status`` (:mod:`.control`);
- ``find_llm`` (a healthy endpoint for a session's MistralAI, :mod:`.endpoint`).
"""

from rl_pipeline.lazy_exports import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "start_mistral_server": "control",
        "stop_mistral_server": "control",
        "mistral_server_status": "control",
        "find_llm": "endpoint",
    },
)
