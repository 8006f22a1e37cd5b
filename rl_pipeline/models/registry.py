"""Which models exist and how to build one for a session.

A fifth model is one new file plus one line in ``MODEL_FACTORIES`` (and a row in ``ai_models``).
A model id mapped to ``None`` is not built: it is inactive for every session (weight 0, no vote).
"""

from __future__ import annotations

from collections.abc import Callable

from rl_pipeline.config import SessionConfig
from rl_pipeline.models.base import ModelContext, TradingModel
from rl_pipeline.models.lava_ai import LavaAI
from rl_pipeline.models.lgbm_ai import LGBMAI
from rl_pipeline.models.mistral_ai import MistralAI
from rl_pipeline.models.trading_ai import TradingAI

ModelFactory = Callable[[SessionConfig, ModelContext], TradingModel]

MODEL_FACTORIES: dict[str, ModelFactory | None] = {
    "trading_ai": lambda config, context: TradingAI(config.models.trading_ai),
    "lava_ai": lambda config, context: LavaAI(config.models.lava_ai, context),
    "lgbm_ai": lambda config, context: LGBMAI(config.models.lgbm_ai, context),
    "mistral_ai": lambda config, context: MistralAI(config.models.mistral_ai, context),
}

NOT_BUILT_REASON = "model not built"
