"""The one typed configuration of a reinforcement session.

Dagster run config, CLI flags, API bodies and config export/import are views of these models;
their defaults are the specification's (learning_rate 0.01, reward_multiplier 1.5,
punishment_multiplier 0.8).

The ``models`` part has one section per registered model and ``weights.rule`` takes the
registered rules (``rl_pipeline.registry``): the plugins are loaded before these models are built,
and the registries are sealed after.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field, create_model, field_validator, model_validator

from rl_pipeline.builtin_models import AUTO, _Strict

# The built-in sections, where their readers have always found them.
from rl_pipeline.builtin_models import LavaAIConfig as LavaAIConfig
from rl_pipeline.builtin_models import LGBMAIConfig as LGBMAIConfig
from rl_pipeline.builtin_models import MistralAIConfig as MistralAIConfig
from rl_pipeline.builtin_models import TradingAIConfig as TradingAIConfig
from rl_pipeline.builtin_models import WalkForwardConfig as WalkForwardConfig
from rl_pipeline.registry import MODELS, RegistryError, load_plugins, model_ids, model_specs
from rl_pipeline.rl.parameters import parse_update_every
from rl_pipeline.rl.rules import RULES, rule_names

load_plugins()

# Every registered model, built-in ones first (the order of every listing).
MODEL_IDS: tuple[str, ...] = model_ids()


class CostConfig(_Strict):
    fee_bps: float = Field(
        10.0, ge=0, le=1000, description="fee per side, basis points of notional"
    )
    slippage_bps: float = Field(5.0, ge=0, le=1000, description="adverse slippage per fill, bps")


class BacktestConfig(_Strict):
    starting_capital: float = Field(100_000.0, gt=0)
    trade_size: float = Field(10_000.0, gt=0, description="notional per trade")
    periods_per_year: int | None = Field(
        None,
        gt=0,
        description="Sharpe annualisation of daily returns; None = from the trading calendar "
        "(365 for 24/7 markets, 252 for exchange days)",
    )
    history_days: int | None = Field(
        None,
        ge=0,
        le=3650,
        description="days of bars loaded before the test period (indicators, model training); "
        + AUTO,
    )


class WeightRuleConfig(_Strict):
    """Which update rule learns the weights, how often, and within which bounds (see the
    README's "Does learning pay?" for the evidence behind the default)."""

    rule: str = Field(
        "binary",
        validation_alias=AliasChoices("rule", "mode"),
        description=f"update rule, one of: {', '.join(rule_names())}",
        json_schema_extra={"enum": list(rule_names())},
    )
    update_every: str = Field(
        "trade",
        description="'trade' (after each closed trade), a bar count (e.g. 24) or a duration "
        "(30min, 1h, 1d): period rules learn from each model's mark-to-market pnl per period",
    )
    scale_pct: float = Field(1.0, gt=0, description="pnl_scaled: |pnl_percent| giving g = 1")
    g_max: float = Field(3.0, gt=0, description="pnl_scaled: cap on g")
    return_clip_pct: float = Field(
        10.0, gt=0, description="hedge/fixed_share: returns (% of trade_size) clipped to +-this"
    )
    share_alpha: float = Field(
        0.002, ge=0, lt=1, description="fixed_share: share of the mass spread equally per update"
    )
    min_weight: float = Field(0.05, ge=0, le=1)
    max_weight: float = Field(0.9, gt=0, le=1)

    @field_validator("rule")
    @classmethod
    def _known_rule(cls, value: str) -> str:
        if value not in rule_names():
            raise ValueError(f"unknown rule {value!r}; registered: {', '.join(rule_names())}")
        return value

    @field_validator("update_every", mode="before")
    @classmethod
    def _period(cls, value: object) -> str:
        parse_update_every(value)  # type: ignore[arg-type]
        return str(value)

    @model_validator(mode="after")
    def _bounds(self) -> WeightRuleConfig:
        if self.min_weight > self.max_weight:
            raise ValueError("min_weight must be <= max_weight")
        return self


class EnsembleConfig(_Strict):
    threshold: float = Field(0.15, ge=0, le=1, description="|score| needed to take a position")


class VerdictConfig(_Strict):
    """The paired block bootstrap that judges learning (see docs/SEMANTICS.md)."""

    resamples: int = Field(2000, ge=100, le=100_000, description="bootstrap resamples")
    seed: int = Field(7, description="seed of the resampling (the verdict is reproducible)")
    block_days: int | None = Field(
        None, ge=1, le=365, description="block length in days; None = ceil(days ** (1/3))"
    )


class MistralConfig(_Strict):
    model_path: str | None = Field(None, description="GGUF file; None = not configured")
    server_binary: str | None = Field(
        None, description="llama-server binary; None = $RL_PIPELINE_LLAMA_SERVER or the built one"
    )
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    start_timeout_s: float = Field(60.0, gt=0)
    stop_grace_s: float = Field(5.0, ge=0)
    ctx_size: int = Field(2048, ge=128)


def _section_default(section: type) -> object:
    try:
        return section()
    except Exception as exc:
        raise RegistryError(
            f"model section {section.__name__}: every field needs a default ({exc})"
        ) from exc


# One section per registered model that has one (``models.<model_id>``).
ModelsConfig = create_model(
    "ModelsConfig",
    __base__=_Strict,
    __doc__="The configuration of each registered model.",
    **{
        spec.model_id: (spec.section, _section_default(spec.section))
        for spec in model_specs()
        if spec.section is not None
    },
)


class SessionConfig(_Strict):
    """Everything one reinforcement session needs."""

    test_period_days: int = Field(30, ge=1, le=3650)
    learning_rate: float = Field(0.01, gt=0, le=1)
    reward_multiplier: float = Field(1.5, ge=0)
    punishment_multiplier: float = Field(0.8, ge=0)
    symbols: tuple[str, ...] = Field((), description="empty = every symbol in the store")
    costs: CostConfig = CostConfig()
    backtest: BacktestConfig = BacktestConfig()
    weights: WeightRuleConfig = WeightRuleConfig()
    models: ModelsConfig = ModelsConfig()
    ensemble: EnsembleConfig = EnsembleConfig()
    verdict: VerdictConfig = VerdictConfig()
    mistral: MistralConfig = MistralConfig()

    @model_validator(mode="after")
    def _punishment(self) -> SessionConfig:
        g_max = self.weights.g_max if self.weights.rule == "pnl_scaled" else 1.0
        if self.learning_rate * self.punishment_multiplier * g_max >= 1:
            raise ValueError(
                "learning_rate * punishment_multiplier * g_max must be < 1 (a loss would make a "
                "weight zero or negative)"
            )
        return self


MODELS.seal("the configuration schema (rl_pipeline.config)")
RULES.seal("the configuration schema (rl_pipeline.config)")
