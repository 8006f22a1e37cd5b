"""rl_pipeline: an adaptive ensemble of trading models whose weights are learned by reinforcement.

``rl_pipeline.defs`` (the Dagster definitions) loads lazily, so the core and the CLI never pay
for importing Dagster.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "defs":
        from rl_pipeline.dagster_defs.definitions import defs

        return defs
    raise AttributeError(f"module 'rl_pipeline' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "defs"])
