"""Run config of a reinforcement session: a Dagster view of :class:`SessionConfig`."""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from rl_pipeline.config import CostConfig, SessionConfig, WeightRuleConfig

_DEFAULTS = SessionConfig()


class SessionRunConfig(dg.Config):
    """Session parameters; defaults are the specification's. The session id is the run's
    partition key; a session requested through the API, the CLI or a sensor takes its full
    configuration from its request instead."""

    test_period_days: int = Field(_DEFAULTS.test_period_days, description="days of the test period")
    learning_rate: float = _DEFAULTS.learning_rate
    reward_multiplier: float = _DEFAULTS.reward_multiplier
    punishment_multiplier: float = _DEFAULTS.punishment_multiplier
    fee_bps: float = CostConfig().fee_bps
    slippage_bps: float = CostConfig().slippage_bps
    symbols: list[str] = Field(default_factory=list, description="empty = every stored symbol")
    weight_update_mode: str = Field(
        WeightRuleConfig().rule, description="the update rule (weights.rule)"
    )

    def to_session_config(self) -> SessionConfig:
        """Validated by the core model, so a bad value fails before the session opens."""
        return SessionConfig.model_validate(
            {
                "test_period_days": self.test_period_days,
                "learning_rate": self.learning_rate,
                "reward_multiplier": self.reward_multiplier,
                "punishment_multiplier": self.punishment_multiplier,
                "symbols": tuple(self.symbols),
                "costs": {"fee_bps": self.fee_bps, "slippage_bps": self.slippage_bps},
                "weights": {"rule": self.weight_update_mode},
            }
        )
