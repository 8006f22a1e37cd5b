"""Request and response bodies of every route, and the error bodies. The session fields take
their rules from ``SessionConfig``, so the API accepts exactly what a session accepts.

Responses are typed views of what the shared service functions return (the CLI's ``--json``
prints the same): each declares the fields a client can rely on and keeps any further ones
(``extra="allow"``), so a view that grows a field is not cut short. Every time is
``Timestamp``: UTC, ISO 8601 with Z."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    WithJsonSchema,
    create_model,
    field_validator,
)

from rl_pipeline.config import SessionConfig
from rl_pipeline.config_document import SCHEMA_VERSION
from rl_pipeline.registry import model_specs
from rl_pipeline.rl.parameters import parse_update_every
from rl_pipeline.rl.rules import rule_names
from rl_pipeline.timestamps import ISO_Z_PATTERN

FiniteFloat = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Timestamp = Annotated[
    str,
    Field(
        pattern=ISO_Z_PATTERN,
        description="UTC, ISO 8601 with Z",
        examples=["2026-12-02T03:14:01Z"],
    ),
]


# A registered update rule (the schema lists them; the validator names them when refusing one).
RuleName = Annotated[str, WithJsonSchema({"type": "string", "enum": list(rule_names())})]


def _rules(name: str) -> list:
    return list(SessionConfig.model_fields[name].metadata)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _View(BaseModel):
    """A response: the declared fields, and any further ones the service returns."""

    model_config = ConfigDict(extra="allow")


# -- errors ----------------------------------------------------------------------------------------


class ErrorMessage(BaseModel):
    """401, 404, 409, 429 and 502: one sentence saying what was refused or failed."""

    detail: str = Field(examples=["session 'nope' does not exist"])


class FieldError(BaseModel):
    type: str = Field(description="the rule's kind, e.g. value_error, missing, less_than_equal")
    loc: list[str | int] = Field(
        description="where: 'body', 'query' or 'path', then the field's path",
        examples=[["body", "trading_ai_weight"]],
    )
    msg: str = Field(description="the rule the value broke")


class ValidationErrorBody(BaseModel):
    """422: every bad field with the rule it broke; nothing was changed."""

    detail: list[FieldError]


ERROR_DESCRIPTIONS = {
    401: "missing or wrong bearer token (only when RL_PIPELINE_API_TOKEN is set)",
    404: "unknown id (or nothing stored yet)",
    409: "conflict with the current state; nothing changed",
    422: "invalid input, every bad field named; nothing changed",
    429: "too many session requests waiting; retry after Retry-After seconds",
    502: "the Mistral server failed (the message carries its log tail)",
}


def error_responses(*codes: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of a route: each error code it can answer with its typed body
    (``descriptions``: ``e404="no such campaign"`` overrides the default text)."""
    return {
        code: {
            "model": ValidationErrorBody if code == 422 else ErrorMessage,
            "description": descriptions.get(f"e{code}", ERROR_DESCRIPTIONS[code]),
        }
        for code in codes
    }


# -- sessions --------------------------------------------------------------------------------------


class StartSessionRequest(_Body):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "test_period_days": 30,
                    "learning_rate": 0.01,
                    "reward_multiplier": 1.5,
                    "punishment_multiplier": 0.8,
                    "rule": "hedge",
                    "update_every": "1d",
                }
            ]
        },
    )

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
    rule: RuleName | None = Field(
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


class ModelSummary(_View):
    """One model in a session: its trades so far; once the session has its report, whether it
    was active, its figures and its weight before and after."""

    model_id: str
    trades: int
    active: bool | None = None
    inactive_reason: str | None = None
    not_acting_reason: str | None = None
    win_rate: float | None = None
    total_pnl: float | None = None
    sharpe_ratio: float | None = None
    max_drawdown: float | None = None
    weight_before: float | None = None
    weight_after: float | None = None
    weight_learned: float | None = None
    training_warning: str | None = None


class SessionStatus(_View):
    session_id: str
    status: Literal["queued", "running", "completed", "failed", "stopped"]
    stage: str | None
    error: str | None
    requested_by: str | None = Field(description="'api', 'cli', ... (None: not requested)")
    requested_at: Timestamp | None
    start_time: Timestamp | None = Field(description="None while queued")
    end_time: Timestamp | None
    models: list[ModelSummary]
    history_rows: int = Field(description="model_weight_history rows of the session")
    configuration: dict[str, Any] | None = Field(
        description="the effective configuration the session runs with (a SessionConfig)"
    )
    weights_outcome: str | None = Field(
        description="'published', 'not published (backtest)' or 'refused: why'"
    )
    queue_position: int | None = Field(description="place in the queue while queued")
    not_acting_models: dict[str, str] | None = None
    report: dict[str, Any] | None = Field(
        None, description="the ensemble report: ensembles, models alone, tournament, verdict"
    )
    notes: dict[str, Any] | None = None


# -- weights and performance -----------------------------------------------------------------------


class ReplayBody(_Body):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"source_session_id": "2026-12-02T031401Z-1a2b3c4d"}]},
    )

    source_session_id: str = Field(
        min_length=1,
        max_length=200,
        description="a completed session (typically a backtest) whose trades go into the live "
        "weights",
    )


class ReplayResponse(BaseModel):
    session_id: str = Field(description="the new session that holds the replay")
    source_session_id: str
    replayed_trades: int
    weights_before: dict[str, float] = Field(description="live weights before the replay")
    weights_after: dict[str, float] = Field(description="live weights after it")


def _weights_example(normalize: bool = False, **given: float) -> dict[str, Any]:
    """A weights body naming every registered model (those not given at 0)."""
    body: dict[str, Any] = {s.weight_field: given.get(s.model_id, 0.0) for s in model_specs()}
    return {**body, "normalize": True} if normalize else body


class _WeightsBodyBase(_Body):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                _weights_example(trading_ai=0.3, lava_ai=0.3, lgbm_ai=0.4),
                _weights_example(True, trading_ai=0.5, lava_ai=0.5, lgbm_ai=1),
            ]
        },
    )

    def weights(self) -> dict[str, float]:
        return self.model_dump(exclude={"normalize"})


# One ``<model_id>_weight`` field per registered model, then ``normalize``.
WeightsBody = create_model(
    "WeightsBody",
    __base__=_WeightsBodyBase,
    **{
        s.weight_field: (FiniteFloat, Field(description=f"{s.model_name}'s weight in [0, 1]"))
        for s in model_specs()
    },
    normalize=(
        StrictBool,
        Field(
            False,
            description="scale the active models' weights to sum to 1 (otherwise they must sum "
            "to 1 within 1e-6); inactive models must still be 0",
        ),
    ),
)

WeightsResponse = create_model(
    "WeightsResponse",
    **{s.weight_field: (float, ...) for s in model_specs()},
    last_updated=(Timestamp | None, Field(description="the latest change of any weight")),
)


class ModelPerformance(_View):
    model_id: str
    model_name: str
    session_id: str
    win_rate: float
    total_pnl: float
    avg_trade_pnl: float
    sharpe_ratio: float | None
    max_drawdown: float | None
    total_trades: int
    calculated_at: Timestamp | None
    current_weight: float
    is_active: bool
    sessions_completed: int
    lifetime_trades: int
    lifetime_win_rate: float
    lifetime_pnl: float


class PerformanceResponse(BaseModel):
    session_id: str | None = Field(description="the session shown (None: none completed yet)")
    models: list[ModelPerformance]


# -- the Mistral server ----------------------------------------------------------------------------


class MistralStartRequest(_Body):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"model_path": "gemma-3-270m-Q4_K_M.gguf", "port": 8080, "timeout": 60}]
        },
    )

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


class MistralStopResponse(BaseModel):
    status: bool = Field(description="True when a server was stopped")
    pid: int | None
    port: int | None
    forced: bool = Field(description="SIGKILL was needed after the grace period")
    message: str


class MistralStatusResponse(BaseModel):
    state: Literal["running", "stopped", "crashed"]
    healthy: bool
    pid: int | None
    port: int | None
    host: str | None
    base_url: str | None
    model_path: str | None
    started_at: Timestamp | None
    owner: str | int | None = Field(description="'shared' or the pid of the owning process")
    log_path: str | None
    detail: str


# -- analytics -------------------------------------------------------------------------------------


class TradeFilters(_View):
    session_id: str | None
    model_id: str | None
    symbol: str | None
    start: Timestamp | None
    end: Timestamp | None


class TradeFigures(_View):
    trades: int
    wins: int
    losses: int
    win_rate: float
    total_pnl: float
    avg_pnl: float
    avg_pnl_percent: float


class TradeSummary(TradeFigures):
    sessions: int


class TradeGroup(TradeFigures):
    key: str | int = Field(description="the model, symbol, direction or hour of day (UTC)")


class Coverage(_View):
    sessions: list[str]
    stored_trades: int
    distinct_trades: int
    duplicates_counted_once: int
    rule: str


class HistogramBin(BaseModel):
    lower: float
    upper: float
    count: int


class PnlDistribution(BaseModel):
    quantiles: dict[str, float | None] = Field(
        description="min, p05, p25, p50, p75, p95, max, mean, std"
    )
    histogram: list[HistogramBin]


class Trade(_View):
    trade_id: str
    session_id: str
    model_id: str
    symbol: str
    direction: Literal["LONG", "SHORT"]
    entry_time: Timestamp
    exit_time: Timestamp
    entry_price: float
    exit_price: float
    pnl: float
    pnl_percent: float
    confidence: float


class TradeAnalysis(_View):
    filters: TradeFilters
    summary: TradeSummary
    coverage: Coverage | None = None
    by_model: list[TradeGroup]
    by_symbol: list[TradeGroup]
    by_direction: list[TradeGroup]
    by_hour: list[TradeGroup]
    pnl_distribution: PnlDistribution
    best_trades: list[Trade]
    worst_trades: list[Trade]


# -- configuration ---------------------------------------------------------------------------------


class ConfigDocument(_View):
    """The whole configuration: what ``/api/config/import`` takes back."""

    schema_version: int
    session: SessionConfig
    weights: dict[str, float] = Field(description="the live weight of each model")


CONFIG_EXAMPLE: dict[str, Any] = {
    "schema_version": SCHEMA_VERSION,
    "session": SessionConfig(test_period_days=30).model_dump(mode="json"),
    "weights": {s.model_id: s.seed_weight for s in model_specs()},
}


class ConfigImportResponse(BaseModel):
    version: int = Field(description="the new active version of stored_configurations")
    sha256: str
    weights_changed: list[str]
    weight_change_session_id: str | None
    mirror_path: str | None


# -- campaigns -------------------------------------------------------------------------------------


class VerdictInterval(_View):
    """A paired block bootstrap of daily P&L differences."""

    mean: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    answer: str = Field(description="yes, no or inconclusive")
    days: int


class CurvePoint(_View):
    """After session ``seq``: the cumulative P&L of every strategy (further keys: 'rule:hedge',
    'static', 'equal', 'model:lgbm_ai', 'best_in_hindsight', 'regret_vs_best_model')."""

    seq: int
    session_id: str
    test_start: Timestamp | None
    test_end: Timestamp | None


class CampaignView(_View):
    campaign_id: str
    status: Literal["running", "completed", "failed"]
    created_at: Timestamp | None
    ended_at: Timestamp | None
    error: str | None
    rule: str
    publish: bool
    test_period_days: int
    sessions: list[str]
    curve: list[CurvePoint]
    verdict: dict[str, VerdictInterval] | None
    tournament: list[dict[str, Any]]
    best_model_in_hindsight: str | None
    start_weights: dict[str, float]
    final_weights: dict[str, dict[str, float]] = Field(description="per rule")


# -- sweeps ----------------------------------------------------------------------------------------


class BonferroniInterval(_View):
    """The verdict at the family level: the interval at 1 - 0.05 / N, p-value x N (capped at 1)."""

    confidence: float
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    answer: str = Field(description="yes, no or inconclusive")


class SweepPoint(_View):
    """One point of the grid and its verdict (static and equal weights at its threshold)."""

    rank: int = Field(description="1 = best (see the sweep's ranking)")
    point: int = Field(description="1.. in grid order")
    rule: str
    learning_rate: float
    reward_multiplier: float
    punishment_multiplier: float
    min_weight: float
    max_weight: float
    threshold: float = Field(description="ensemble threshold")
    total_pnl: float
    sharpe: float | None
    max_drawdown: float
    total_trades: int
    win_rate: float
    static_pnl: float
    equal_pnl: float
    final_weights: dict[str, float]
    verdict: dict[str, VerdictInterval] = Field(
        description="adaptive_minus_static, adaptive_minus_equal at 95 %"
    )
    bonferroni: dict[str, BonferroniInterval]


class MultipleTesting(_View):
    points: int = Field(description="how many points were tried")
    family_alpha: float
    bonferroni_confidence: float
    nominal_yes_vs_static: int
    bonferroni_yes_vs_static: int
    bonferroni_yes_vs_equal: int
    smallest_adjusted_p: float
    warning: str


class SweepTiming(_View):
    setup_seconds: float = Field(description="rebuilding the session's signals and trades")
    points_seconds: float
    seconds_per_point: float


class SweepView(_View):
    sweep_id: str
    session_id: str
    created_at: Timestamp | None
    points: int
    grid: dict[str, list[str | float]] = Field(description="the values of every axis")
    test_start: Timestamp
    test_end: Timestamp
    ranking: str
    session_settings: dict[str, str | float]
    session_point: int | None = Field(description="the point with the session's own settings")
    session_report: dict[str, float]
    multiple_testing: MultipleTesting
    timing: SweepTiming
    signal_cache: dict[str, str] = Field(description="per model: reused or computed")
    warning: str
    table: list[SweepPoint] = Field(description="every point, best first")


# -- market data -----------------------------------------------------------------------------------


class MarketSeries(BaseModel):
    symbol: str
    interval: str | None = Field(description="e.g. 1h, 1d (None: not detected)")
    interval_seconds: int | None
    calendar: str | None = Field(description="24/7 or a trading calendar")
    bars_per_day: float | None
    first_bar: Timestamp
    last_bar: Timestamp
    rows: int
    source: str | None


class ImportedFile(_View):
    file: str
    rows: int
    symbols: list[str]


class DataImportResponse(BaseModel):
    files: list[ImportedFile]
    inserted_rows: int
    unchanged_rows: int
    replaced_rows: int


class DataDeleteResponse(BaseModel):
    symbol: str
    deleted_rows: int
