"""Walk-forward training shared by the learning models (LavaAI, LGBMAI).

The decided bars are cut into chunks of ``retrain_every_days``. The model for a chunk starting at
time c is fitted on rows whose label is fully known before c (the label's last bar is earlier
than c) within ``train_window_days`` before c, and predicts only bars at or after c. So no row a
model learns from, and no feature it reads, lies after the bar it predicts.
"""

from __future__ import annotations

import hashlib
from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from rl_pipeline.config import WalkForwardConfig
from rl_pipeline.features.technical import feature_columns
from rl_pipeline.market.intervals import fill_section
from rl_pipeline.models.base import ModelContext, Signals, TradingModel, TrainedArtifact
from rl_pipeline.parallel.executors import InProcessExecutor

SECONDS_PER_DAY = 86_400


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class ChunkFit:
    """One walk-forward fit: everything it needs, nothing it could write (picklable, so any
    executor can run it)."""

    model_class: type[WalkForwardClassifier]
    params: WalkForwardConfig
    start: int
    # The model's whole feature matrix (shared by all its chunks, shipped once per batch) and
    # this chunk's training rows and decided rows in it.
    x: Any
    train_rows: np.ndarray
    y_train: np.ndarray
    decided_rows: np.ndarray

    def expected_cost(self) -> float:
        """Relative time of the fit, for scheduling the longest first."""
        return self.model_class.fit_cost_per_row * len(self.y_train)


@dataclass
class FitPlan:
    """A model's fits for one session, and the feature rows each fitted chunk decides."""

    rows_in_all: int
    fits: list[ChunkFit]
    rows: list[np.ndarray]


def fit_chunk(task: ChunkFit) -> tuple[bytes, np.ndarray, float]:
    """Fit the chunk's estimator; return its artifact bytes, P(up) of the chunk's rows and the
    training accuracy."""
    x = task.x
    estimator = task.model_class.estimator_for(task.params)
    accuracy = task.model_class.fit_estimator(estimator, x[task.train_rows], task.y_train)
    up = estimator.predict_proba(x[task.decided_rows])[:, 1]
    return task.model_class.serialize_estimator(estimator), up, accuracy


def feature_matrix(features: pd.DataFrame) -> np.ndarray:
    """The features every walk-forward model reads, as one float64 matrix (a row per row of
    ``features``). A session builds it once for all its models: one copy in memory, one file
    shipped to the workers."""
    return features[feature_columns(features)].to_numpy(np.float64)


def run_fits(executor: Any, fits: list[ChunkFit], progress: Any = None) -> list[Any]:
    """``fit_chunk`` of every fit on ``executor``, the longest first (so the short ones fill
    the gaps at the end of the batch); results in the order of ``fits``."""
    if not fits:
        return []
    order = sorted(range(len(fits)), key=lambda i: -fits[i].expected_cost())
    done = executor.map(fit_chunk, [fits[i] for i in order], progress)
    results: list[Any] = [None] * len(fits)
    for position, i in enumerate(order):
        results[i] = done[position]
    return results


def forward_labels(frame: pd.DataFrame, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row: 1 if close rises over ``horizon`` bars of its symbol else 0, and the time of the
    label's last bar (-1 where the symbol has fewer bars left)."""
    codes = pd.factorize(frame["symbol"])[0]
    close = frame["close"].to_numpy(float)
    ts = frame["ts"].to_numpy(np.int64)
    n = len(frame)
    ahead = np.arange(n) + horizon
    valid = ahead < n
    valid[valid] = codes[ahead[valid]] == codes[valid]
    label = np.zeros(n, dtype=np.int8)
    label_end = np.full(n, -1, dtype=np.int64)
    label[valid] = (close[ahead[valid]] > close[valid]).astype(np.int8)
    label_end[valid] = ts[ahead[valid]]
    return label, label_end


class WalkForwardClassifier(TradingModel):
    """A classifier of forward direction, refitted walk-forward; subclasses supply the estimator."""

    artifact_suffix = ".bin"
    signal_cache_scope = "pooled"  # one model is fitted on the rows of every symbol
    fit_cost_per_row: ClassVar[float] = 1.0  # relative, for scheduling fits longest first
    fit_modules: ClassVar[tuple[str, ...]] = ()  # libraries a fit imports (workers load them early)

    def __init__(self, params: WalkForwardConfig, context: ModelContext | None = None) -> None:
        self.params = fill_section(params)
        self.context = context or ModelContext(session_id="adhoc")
        self.trained: list[TrainedArtifact] = []
        self.largest_train_rows = 0
        self.shortfall: dict[str, Any] | None = None

    @classmethod
    @abstractmethod
    def estimator_for(cls, params: Any) -> Any:
        """A fresh, unfitted estimator for these parameters."""

    @classmethod
    def fit_estimator(cls, estimator: Any, x_train: np.ndarray, y_train: np.ndarray) -> float:
        """Fit ``estimator``; return its accuracy on the rows it was fitted on."""
        estimator.fit(x_train, y_train)
        return float((estimator.predict(x_train) == y_train).mean())

    def make_estimator(self) -> Any:
        return self.estimator_for(self.params)

    @classmethod
    @abstractmethod
    def serialize_estimator(cls, estimator: Any) -> bytes:
        """The fitted estimator as the bytes of its artifact file (made where it was fitted, so
        the session's process needs neither the estimator nor its library)."""

    def describe(self) -> dict[str, Any]:
        return {"kind": type(self).__name__, **self.params.model_dump()}

    def chunk_starts(self, decided_ts: np.ndarray) -> np.ndarray:
        step = self.params.retrain_every_days * SECONDS_PER_DAY
        first = int(decided_ts.min())
        return first + step * np.arange((int(decided_ts.max()) - first) // step + 1)

    def predict(self, features: pd.DataFrame, decide: np.ndarray) -> Signals:
        plan = self.plan(features, decide)
        executor = self.context.executor or InProcessExecutor()
        return self.complete(plan, executor.map(fit_chunk, plan.fits, self.context.progress))

    def plan(
        self, features: pd.DataFrame, decide: np.ndarray, x: np.ndarray | None = None
    ) -> FitPlan:
        """The fits this model needs for the decided bars, without running them. Fits depend
        on bars only, never on weights or on each other, so a session runs the fits of all its
        models side by side (``complete`` then turns their results into signals). ``x``:
        :func:`feature_matrix` of ``features``, when the caller has built it already."""
        p = self.params
        plan = FitPlan(len(features), [], [])
        self.trained = []
        self.largest_train_rows = 0
        self.shortfall = None
        if not decide.any():
            return plan
        x = feature_matrix(features) if x is None else x
        finite = np.isfinite(x).all(axis=1)
        ts = features["ts"].to_numpy(np.int64)
        label, label_end = forward_labels(features, p.horizon_bars)
        known = label_end >= 0
        window = p.train_window_days * SECONDS_PER_DAY
        starts = self.chunk_starts(ts[decide])
        step = p.retrain_every_days * SECONDS_PER_DAY
        short: list[int] = []
        for start in starts:
            rows = decide & (ts >= start) & (ts < start + step) & finite
            if not rows.any():
                continue
            train = known & finite & (label_end < start) & (ts >= start - window)
            self.largest_train_rows = max(self.largest_train_rows, int(train.sum()))
            if train.sum() < p.min_train_rows or len(np.unique(label[train])) < 2:
                short.append(int(train.sum()))
                continue  # not enough history yet: stay flat for this chunk
            plan.fits.append(
                ChunkFit(
                    type(self), p, int(start), x, np.flatnonzero(train), label[train],
                    np.flatnonzero(rows),
                )
            )  # fmt: skip
            plan.rows.append(rows)
        if short:
            self.shortfall = {
                "flat_periods": len(short),
                "periods": len(short) + len(plan.fits),
                "fewest_train_rows": min(short),
                "most_train_rows": max(short),
                "min_train_rows": p.min_train_rows,
                "train_window_days": p.train_window_days,
            }
        return plan

    def complete(self, plan: FitPlan, fitted: list[tuple[Any, np.ndarray, float]]) -> Signals:
        """Signals from the plan's fitted chunks (in plan order); saves each fitted model."""
        p = self.params
        signal = np.zeros(plan.rows_in_all, dtype=np.int8)
        confidence = np.zeros(plan.rows_in_all)
        for task, rows, (artifact, up, accuracy) in zip(plan.fits, plan.rows, fitted, strict=True):
            signal[rows] = np.where(
                up > 0.5 + p.signal_margin, 1, np.where(up < 0.5 - p.signal_margin, -1, 0)
            )
            confidence[rows] = np.where(signal[rows] != 0, np.clip(np.abs(2 * up - 1), 0, 1), 0.0)
            self.trained.append(self.record(artifact, task.start, len(task.y_train), accuracy))
        return Signals(signal, confidence)

    def cache_state(self) -> dict[str, Any]:
        return {
            "trained": [[a.cutoff_ts, a.train_rows, a.metrics] for a in self.trained],
            "shortfall": self.shortfall,
            "largest_train_rows": self.largest_train_rows,
        }

    def restore_cache_state(self, state: dict[str, Any]) -> None:
        # The signals are reused, not refitted: no artifact of this session to point at.
        self.trained = [TrainedArtifact(c, r, None, None, m) for c, r, m in state["trained"]]
        self.shortfall = state["shortfall"]
        self.largest_train_rows = state["largest_train_rows"]

    def inaction_reason(self) -> str:
        if not self.trained:
            return (
                f"could not train: at most {self.largest_train_rows} labelled rows in a "
                f"{self.params.train_window_days}-day training window, "
                f"min_train_rows is {self.params.min_train_rows}"
            )
        return (
            f"trained {len(self.trained)} time(s) but its P(up) never left "
            f"0.5 +- {self.params.signal_margin}"
        )

    def record(self, artifact: bytes, cutoff: int, rows: int, accuracy: float) -> TrainedArtifact:
        metrics = {"train_rows": float(rows), "train_accuracy": accuracy}
        folder = self.context.artifacts_dir
        if folder is None:
            return TrainedArtifact(cutoff, rows, None, None, metrics)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.model_id}-{cutoff}{self.artifact_suffix}"
        path.write_bytes(artifact)
        return TrainedArtifact(cutoff, rows, str(path), sha256_of(path), metrics)
