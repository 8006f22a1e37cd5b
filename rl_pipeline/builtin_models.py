"""The four built-in models: their configuration sections (``models.<model_id>`` of the session
configuration) and their registry entries (``rl_pipeline.registry``).

A further model does not belong here: it is one new module (a plugin) with its section, its class
and its ``register_model`` call (README: "Adding a model, a rule or a metric").
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rl_pipeline.registry import ModelSpec, register_model

AUTO = "None = from the bar interval (README: defaults per bar interval)"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TradingAIConfig(_Strict):
    fast_window: int | None = Field(None, ge=2, description="bars of the fast average; " + AUTO)
    slow_window: int | None = Field(None, ge=3, description="bars of the slow average; " + AUTO)
    rsi_window: int = Field(14, ge=2)
    rsi_overbought: float = Field(75.0, gt=50, lt=100)
    rsi_oversold: float = Field(25.0, gt=0, lt=50)
    confidence_scale: float = Field(0.01, gt=0, description="|fast/slow - 1| giving confidence 1")

    @model_validator(mode="after")
    def _windows(self) -> TradingAIConfig:
        if (
            self.fast_window is not None
            and self.slow_window is not None
            and self.fast_window >= self.slow_window
        ):
            raise ValueError("fast_window must be < slow_window")
        return self


class WalkForwardConfig(_Strict):
    """Walk-forward training of a learning model: fit only on labels known before the bars it
    predicts, refit every ``retrain_every_days``."""

    train_window_days: int | None = Field(
        None, ge=1, le=3650, description="days of labelled rows a fit learns from; " + AUTO
    )
    retrain_every_days: int | None = Field(
        None, ge=1, le=365, description="days between refits; " + AUTO
    )
    horizon_bars: int | None = Field(
        None, ge=1, le=500, description="label: direction over this many bars; " + AUTO
    )
    min_train_rows: int | None = Field(
        None,
        ge=10,
        description="fewer training rows: the model stays flat and says so; " + AUTO,
    )
    signal_margin: float = Field(
        0.1, ge=0, lt=0.5, description="flat unless |P(up) - 0.5| exceeds this"
    )
    seed: int = 7


class LavaAIConfig(WalkForwardConfig):
    inverse_regularisation: float = Field(0.5, gt=0, description="C of the logistic regression")


class LGBMAIConfig(WalkForwardConfig):
    n_estimators: int = Field(100, ge=1, le=5000)
    learning_rate: float = Field(0.05, gt=0, le=1)
    num_leaves: int = Field(7, ge=2, le=1024)
    min_child_samples: int | None = Field(
        None, ge=1, description="rows per LightGBM leaf at least; " + AUTO
    )


class MistralAIConfig(_Strict):
    decision_every_bars: int | None = Field(
        None, ge=1, description="ask the LLM every N bars per symbol; " + AUTO
    )
    max_tokens: int = Field(96, ge=16, le=1024)
    temperature: float = Field(0.0, ge=0, le=2)
    seed: int = 42
    max_reason_chars: int = Field(120, ge=8, le=500)
    request_timeout_s: float = Field(60.0, gt=0)


# The ai_models seed rows of the specification (same ids, names, types and weights), in order.
BUILTIN_MODELS = (
    ModelSpec(
        "trading_ai",
        "TradingAI",
        "trading",
        "rl_pipeline.models.trading_ai:TradingAI",
        TradingAIConfig,
        seed_weight=0.25,
        summary="moving-average crossover with an RSI exhaustion filter",
    ),
    ModelSpec(
        "lava_ai",
        "LavaAI",
        "lava",
        "rl_pipeline.models.lava_ai:LavaAI",
        LavaAIConfig,
        seed_weight=0.35,
        summary="logistic regression on the features, trained walk-forward",
    ),
    ModelSpec(
        "lgbm_ai",
        "LGBMAI",
        "lgbm",
        "rl_pipeline.models.lgbm_ai:LGBMAI",
        LGBMAIConfig,
        seed_weight=0.40,
        summary="LightGBM classifier of forward direction, trained walk-forward",
    ),
    ModelSpec(
        "mistral_ai",
        "MistralAI",
        "mistral",
        "rl_pipeline.models.mistral_ai:MistralAI",
        MistralAIConfig,
        seed_weight=0.0,
        summary="decisions asked of the local LLM server",
    ),
)
for _spec in BUILTIN_MODELS:
    register_model(_spec)
