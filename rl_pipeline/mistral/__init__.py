"""The local Mistral (llama.cpp ``llama-server``) server: manager, errors and chat client.

Plain Python: no Dagster, FastAPI or click here; the adapters call ``default_manager()``.
"""

from rl_pipeline.mistral.client import chat_completion
from rl_pipeline.mistral.errors import (
    ChatCompletionError,
    LockTimeoutError,
    MistralServerError,
    ModelFileError,
    ModelNotConfiguredError,
    PortInUseError,
    ServerAlreadyRunningError,
    ServerBinaryNotFoundError,
    ServerExitedError,
    ServerUnhealthyError,
    StartTimeoutError,
)
from rl_pipeline.mistral.manager import (
    MistralServerManager,
    ServerStatus,
    StartResult,
    StopResult,
    default_manager,
)

__all__ = [
    "ChatCompletionError",
    "LockTimeoutError",
    "MistralServerError",
    "MistralServerManager",
    "ModelFileError",
    "ModelNotConfiguredError",
    "PortInUseError",
    "ServerAlreadyRunningError",
    "ServerBinaryNotFoundError",
    "ServerExitedError",
    "ServerStatus",
    "ServerUnhealthyError",
    "StartResult",
    "StartTimeoutError",
    "StopResult",
    "chat_completion",
    "default_manager",
]
