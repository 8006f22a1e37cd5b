"""How a session builds the registered models (``rl_pipeline.registry``).

A model is built from its registry entry: its class, given its ``models.<model_id>`` section of
the session configuration and the session's context.
"""

from __future__ import annotations

from rl_pipeline.config import SessionConfig
from rl_pipeline.models.base import ModelContext, TradingModel
from rl_pipeline.registry import ModelSpec, model_specs


def build_model(spec: ModelSpec, config: SessionConfig, context: ModelContext) -> TradingModel:
    section = getattr(config.models, spec.model_id) if spec.section is not None else None
    return spec.model_class()(section, context)


__all__ = ["build_model", "model_specs"]
