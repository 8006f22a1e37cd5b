"""The one interface every trading model implements (a fifth model is one new file: its class,
its configuration section and its ``register_model`` call, see :mod:`rl_pipeline.registry`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np
import pandas as pd

LONG, FLAT, SHORT = 1, 0, -1


@dataclass(frozen=True)
class Signals:
    """Per bar: ``signal`` in {-1, 0, +1} and ``confidence`` in [0, 1]."""

    signal: np.ndarray
    confidence: np.ndarray

    def __post_init__(self) -> None:
        if self.signal.shape != self.confidence.shape:
            raise ValueError("signal and confidence must have the same shape")
        if not np.isin(self.signal, (SHORT, FLAT, LONG)).all():
            raise ValueError("signal values must be -1, 0 or +1")
        if (
            np.isnan(self.confidence).any()
            or (self.confidence < 0).any()
            or (self.confidence > 1).any()
        ):
            raise ValueError("confidence must be within [0, 1]")


@dataclass(frozen=True)
class Availability:
    """Whether a model can take part in a session, and why not."""

    active: bool
    reason: str = ""


@dataclass(frozen=True)
class TrainedArtifact:
    """One fitted model: what it was trained on and where it is saved."""

    cutoff_ts: int
    train_rows: int
    path: str | None
    sha256: str | None
    metrics: dict[str, float]


class AnswerCache(Protocol):
    """Stored LLM answers keyed by prompt hash and model file hash."""

    def get(self, prompt_sha256: str, model_sha256: str) -> str | None: ...

    def put(self, prompt_sha256: str, model_sha256: str, prompt: str, answer: str) -> None: ...


@dataclass(frozen=True)
class LLMEndpoint:
    """A healthy OpenAI-compatible server and the model file it serves."""

    base_url: str
    model_path: str
    model_sha256: str


@dataclass
class ModelContext:
    """What a session lends its models: where to save artifacts, the LLM and its answer cache."""

    session_id: str
    artifacts_dir: Path | None = None
    llm: LLMEndpoint | None = None
    llm_unavailable_reason: str = "no Mistral server configured"
    answer_cache: AnswerCache | None = None
    # Runs the independent walk-forward fits (None: one after another in this process).
    executor: Any = None
    progress: Any = None  # called with (fits done, fits in all)


class TradingModel(ABC):
    """A model that emits a signal and a confidence per symbol and bar.

    ``predict`` receives the feature frame of every loaded bar (sorted by symbol then time) and
    must decide bar t from rows <= t of the same symbol only; ``decide`` marks the rows whose
    decisions the session uses (the test period), so expensive models can skip the rest.
    """

    model_id: ClassVar[str]
    trained: list[TrainedArtifact]
    # How its signals may be reused (the signal cache): "symbol" when a symbol's signals depend
    # on that symbol's bars only, "pooled" when on every symbol's bars, "none" never.
    signal_cache_scope: ClassVar[str] = "none"

    def cache_state(self) -> dict[str, Any]:
        """What ``predict`` learnt besides the signals (training summary, reasons), as JSON."""
        return {}

    def restore_cache_state(self, state: dict[str, Any]) -> None:  # noqa: B027 (optional hook)
        """Take back ``cache_state`` when signals come from the cache instead of ``predict``."""

    def availability(self) -> Availability:
        return Availability(True)

    @abstractmethod
    def predict(self, features: pd.DataFrame, decide: np.ndarray) -> Signals: ...

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """Parameters, for the store and the run metadata."""

    def training_shortfall(self) -> dict[str, Any] | None:
        """Why the last ``predict`` stayed flat for lack of training rows, with the numbers
        (None when it did not)."""
        return getattr(self, "shortfall", None)

    def training_record(self) -> list[TrainedArtifact]:
        """Models fitted during the last ``predict`` (empty for models that do not learn)."""
        return list(getattr(self, "trained", []))

    def inaction_reason(self) -> str:
        """Why the last ``predict`` may have made no trade (shown when it made none)."""
        return "its signals never opened a position in the test period"
