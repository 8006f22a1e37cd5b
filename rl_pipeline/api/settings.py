"""What the API process reads from its environment, once, when the app is built."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from rl_pipeline import paths

TOKEN_ENV = "RL_PIPELINE_API_TOKEN"


@dataclass(frozen=True)
class ApiSettings:
    db_path: Path
    models_dir: Path
    token: str | None  # when set, POST/PUT need "Authorization: Bearer <token>"

    @classmethod
    def from_env(cls) -> ApiSettings:
        return cls(
            db_path=paths.db_path(),
            models_dir=paths.models_dir(),
            token=os.environ.get(TOKEN_ENV) or None,
        )
