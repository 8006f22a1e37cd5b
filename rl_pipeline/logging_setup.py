"""Python logging to rotating files under ``data/logs/`` for the API and the CLI.

Size and count come from ``LoggingConfig`` (env ``RL_PIPELINE_LOG_MAX_BYTES``,
``RL_PIPELINE_LOG_BACKUPS``, ``RL_PIPELINE_LOG_LEVEL``). Dagster runs keep their own run log in the
Dagster instance, and a session launched from the API or the CLI also writes its launcher's
output to ``data/logs/session-<id>.log``.
"""

from __future__ import annotations

import logging
import os
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rl_pipeline import paths

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"
_ENV = {
    "max_bytes": "RL_PIPELINE_LOG_MAX_BYTES",
    "backups": "RL_PIPELINE_LOG_BACKUPS",
    "level": "RL_PIPELINE_LOG_LEVEL",
}


class LoggingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_bytes: int = Field(10_000_000, ge=1024, description="rotate a log file at this size")
    backups: int = Field(5, ge=1, le=1000, description="rotated files kept (name.1 ... name.N)")
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    directory: Path | None = Field(None, description="default: <data>/logs")

    @classmethod
    def from_env(cls, **overrides: object) -> LoggingConfig:
        """Defaults, then the environment, then ``overrides``; invalid values raise."""
        values: dict[str, object] = {k: os.environ[v] for k, v in _ENV.items() if v in os.environ}
        return cls.model_validate({**values, **overrides})

    def log_dir(self) -> Path:
        return self.directory if self.directory is not None else paths.logs_dir()


def setup_logging(
    component: str, config: LoggingConfig | None = None, *, console: bool = False
) -> logging.Handler:
    """Send every log record of this process to ``<logs>/<component>.log``, rotated at
    ``max_bytes`` with ``backups`` old files kept (and to stderr with ``console``). Calling it
    again replaces the handlers.

    When the log folder cannot be written (a read-only data folder: inspecting a store from a
    read-only mount or backup), there is no log file: warnings and errors go to stderr and the
    command runs on."""
    config = config or LoggingConfig.from_env()
    folder = config.log_dir()
    handler: logging.Handler
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(
            folder / f"{component}.log",
            maxBytes=config.max_bytes,
            backupCount=config.backups,
            encoding="utf-8",
        )
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
    except OSError:
        handler = logging.StreamHandler()
        handler.setLevel(logging.WARNING)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.set_name(f"rl_pipeline:{component}")
    handlers: list[logging.Handler] = [handler]
    if console:
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        stream.set_name(f"rl_pipeline:{component}:console")
        handlers.append(stream)
    root = logging.getLogger()
    names = {h.get_name() for h in handlers}
    for old in [h for h in root.handlers if h.get_name() in names]:
        root.removeHandler(old)
        old.close()
    for new in handlers:
        root.addHandler(new)
    root.setLevel(config.level)
    return handler
