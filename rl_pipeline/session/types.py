"""The data a session hands from stage to stage (and Dagster from asset to asset): plain
frozen dataclasses with no behaviour, in a module of their own so that every use case can name
them without importing the stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from rl_pipeline.backtest.metrics import PerformanceMetrics
from rl_pipeline.backtest.trades import EquityCurve
from rl_pipeline.config import SessionConfig
from rl_pipeline.models.base import TrainedArtifact
from rl_pipeline.rl.weight_update import WeightPath


class SessionError(RuntimeError):
    """A session cannot go on; the message says why."""


@dataclass(frozen=True)
class SessionHandle:
    session_id: str
    config: SessionConfig
    # What the session learnt about its data and models on the way (bar profile, skipped
    # symbols, models short of training rows); it ends up in the session report.
    notes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MarketWindow:
    """Bars loaded for a session: history for indicators plus the test period (``in_test``)."""

    session: SessionHandle
    bars: pd.DataFrame
    test_start_ts: int
    test_end_ts: int


@dataclass(frozen=True)
class ModelSignals:
    """Test-period bars with one ``signal``/``confidence`` row per active model and bar."""

    session: SessionHandle
    test_bars: pd.DataFrame
    signals: pd.DataFrame
    active: tuple[str, ...]
    inactive: dict[str, str]
    parameters: dict[str, dict[str, Any]]
    training: dict[str, list[TrainedArtifact]] = field(default_factory=dict)
    idle_reasons: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TradeOutcome:
    session: SessionHandle
    trades: pd.DataFrame
    curves: dict[str, EquityCurve]
    signals: ModelSignals


@dataclass(frozen=True)
class WeightOutcome:
    session: SessionHandle
    path: WeightPath
    history_rows: int
    live_before: dict[str, float]
    not_acting: dict[str, str] = field(default_factory=dict)
    started_from: dict[str, float] = field(default_factory=dict)  # live, or a campaign's


@dataclass(frozen=True)
class SessionSummary:
    session_id: str
    metrics: dict[str, PerformanceMetrics]
    weights_before: dict[str, float]
    weights_after: dict[str, float]
    active: tuple[str, ...]
    inactive: dict[str, str] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)
    not_acting: dict[str, str] = field(default_factory=dict)
    weights_learned: dict[str, float] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MetricsOutcome:
    session: SessionHandle
    metrics: dict[str, PerformanceMetrics]
    report: dict[str, Any]
    ensemble_curves: dict[str, EquityCurve] = field(default_factory=dict)
