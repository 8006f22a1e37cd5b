"""Request and response bodies of the original specification (its section 4). The session
fields take their rules from ``SessionConfig``, so the API accepts exactly what a session
accepts."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

from rl_pipeline.config import SessionConfig
from rl_pipeline.rl.parameters import parse_update_every
from rl_pipeline.rl.rules import rule_names

FiniteFloat = Annotated[float, Field(strict=True, allow_inf_nan=False)]


def _rules(name: str) -> list:
    return list(SessionConfig.model_fields[name].metadata)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StartSessionRequest(_Body):
    test_period_days: Annotated[
        StrictInt, *_rules("test_period_days"), Field(description="test period, days")
    ]
    learning_rate: Annotated[
        FiniteFloat | None,
        *_rules("learning_rate"),
        Field(description="default: the active configuration's (0.01 unless changed)"),
    ] = None
    reward_multiplier: Annotated[
        FiniteFloat | None,
        *_rules("reward_multiplier"),
        Field(description="default: the active configuration's (1.5 unless changed)"),
    ] = None
    punishment_multiplier: Annotated[
        FiniteFloat | None,
        *_rules("punishment_multiplier"),
        Field(description="default: the active configuration's (0.8 unless changed)"),
    ] = None
    rule: str | None = Field(
        None, description="update rule (weights.rule); default: the active configuration's"
    )
    update_every: str | None = Field(
        None, description="weights.update_every: 'trade', a bar count or a duration (1h, 1d)"
    )

    @field_validator("rule")
    @classmethod
    def _known_rule(cls, value: str | None) -> str | None:
        if value is not None and value not in rule_names():
            raise ValueError(f"unknown rule {value!r}; registered: {', '.join(rule_names())}")
        return value

    @field_validator("update_every")
    @classmethod
    def _period(cls, value: str | None) -> str | None:
        if value is not None:
            parse_update_every(value)
        return value

    def overrides(self) -> dict:
        """The SessionConfig fields this request names (the rest stay the configuration's)."""
        given = self.model_dump(exclude_none=True)
        weights = {k: given.pop(k) for k in ("rule", "update_every") if k in given}
        return {**given, **({"weights": weights} if weights else {})}


class StartSessionResponse(BaseModel):
    status: bool
    session_id: str
    estimated_duration: int = Field(description="minutes, from past sessions' durations")


class WeightsBody(_Body):
    trading_ai_weight: FiniteFloat
    lava_ai_weight: FiniteFloat
    lgbm_ai_weight: FiniteFloat
    mistral_ai_weight: FiniteFloat


class WeightsResponse(BaseModel):
    trading_ai_weight: float
    lava_ai_weight: float
    lgbm_ai_weight: float
    mistral_ai_weight: float
    last_updated: str | None


class MistralStartRequest(_Body):
    model_path: str | None = Field(
        None,
        min_length=1,
        max_length=4096,
        description="GGUF file inside the models folder (relative to it or absolute); "
        "default: the configured mistral.model_path",
    )
    port: StrictInt | None = Field(
        None, ge=1, le=65535, description="default: the configured port (8080)"
    )
    timeout: StrictInt | None = Field(None, ge=1, le=3600, description="start timeout, seconds")


class MistralStartResponse(BaseModel):
    status: bool
    pid: int
    port: int
    base_url: str
    model_path: str
    already_running: bool
