"""Which models exist and how to build one for a session.

A fifth model is one new file plus one line in ``MODEL_FACTORIES``. A model id mapped to ``None``
is not built yet: it is inactive for every session (weight 0, no vote).
"""

from __future__ import annotations

from collections.abc import Callable

from rl_pipeline.config import SessionConfig
from rl_pipeline.models.base import TradingModel
from rl_pipeline.models.trading_ai import TradingAI

ModelFactory = Callable[[SessionConfig], TradingModel]

MODEL_FACTORIES: dict[str, ModelFactory | None] = {
    "trading_ai": lambda config: TradingAI(config.models.trading_ai),
    "lava_ai": None,
    "lgbm_ai": None,
    "mistral_ai": None,
}

NOT_BUILT_REASON = "model not built yet"
