"""Errors of the Mistral server manager and client; messages name the file, port or rule."""

from __future__ import annotations


class MistralServerError(RuntimeError):
    """Base class: anything that went wrong starting, stopping or talking to the server."""


class ServerBinaryNotFoundError(MistralServerError):
    """No usable ``llama-server`` executable."""


class ModelNotConfiguredError(MistralServerError):
    """``start()`` got no model path and the configuration has none."""


class ModelFileError(MistralServerError):
    """The model file is missing, unreadable or not a GGUF file."""


class PortInUseError(MistralServerError):
    """The port is taken by another program (seen before launch or reported by the server)."""


class ServerExitedError(MistralServerError):
    """The server process exited before it became healthy."""

    def __init__(self, message: str, exit_code: int | None, log_tail: str) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.log_tail = log_tail


class StartTimeoutError(MistralServerError):
    """``/health`` did not answer 200 in time; the server's process group was killed."""

    def __init__(self, message: str, log_tail: str) -> None:
        super().__init__(message)
        self.log_tail = log_tail


class ServerAlreadyRunningError(MistralServerError):
    """A server is running with a different model or port than the one asked for."""


class ServerUnhealthyError(MistralServerError):
    """Our server process is alive but ``/health`` does not answer 200."""


class LockTimeoutError(MistralServerError):
    """Another process held the server lock for too long."""


class ChatCompletionError(MistralServerError):
    """A chat completion request failed (connection, timeout, HTTP status or malformed answer)."""
