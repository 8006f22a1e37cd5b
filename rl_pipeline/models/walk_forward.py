"""Walk-forward training shared by the learning models (LavaAI, LGBMAI).

The decided bars are cut into chunks of ``retrain_every_days``. The model for a chunk starting at
time c is fitted on rows whose label is fully known before c (the label's last bar is earlier
than c) within ``train_window_days`` before c, and predicts only bars at or after c. So no row a
model learns from, and no feature it reads, lies after the bar it predicts.
"""

from __future__ import annotations

import hashlib
from abc import abstractmethod
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rl_pipeline.config import WalkForwardConfig
from rl_pipeline.features.technical import feature_columns
from rl_pipeline.market.intervals import fill_section
from rl_pipeline.models.base import ModelContext, Signals, TradingModel, TrainedArtifact

SECONDS_PER_DAY = 86_400


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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

    def __init__(self, params: WalkForwardConfig, context: ModelContext | None = None) -> None:
        self.params = fill_section(params)
        self.context = context or ModelContext(session_id="adhoc")
        self.trained: list[TrainedArtifact] = []
        self.largest_train_rows = 0

    @abstractmethod
    def make_estimator(self) -> Any: ...

    @abstractmethod
    def save_estimator(self, estimator: Any, path: Path) -> None: ...

    def describe(self) -> dict[str, Any]:
        return {"kind": type(self).__name__, **self.params.model_dump()}

    def chunk_starts(self, decided_ts: np.ndarray) -> np.ndarray:
        step = self.params.retrain_every_days * SECONDS_PER_DAY
        first = int(decided_ts.min())
        return first + step * np.arange((int(decided_ts.max()) - first) // step + 1)

    def predict(self, features: pd.DataFrame, decide: np.ndarray) -> Signals:
        p = self.params
        n = len(features)
        signal = np.zeros(n, dtype=np.int8)
        confidence = np.zeros(n)
        self.trained = []
        self.largest_train_rows = 0
        self.shortfall: dict[str, Any] | None = None
        if not decide.any():
            return Signals(signal, confidence)
        columns = feature_columns(features)
        x = features[columns].to_numpy(np.float64)
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
            estimator = self.make_estimator()
            estimator.fit(x[train], label[train])
            up = estimator.predict_proba(x[rows])[:, 1]
            signal[rows] = np.where(
                up > 0.5 + p.signal_margin, 1, np.where(up < 0.5 - p.signal_margin, -1, 0)
            )
            confidence[rows] = np.where(signal[rows] != 0, np.clip(np.abs(2 * up - 1), 0, 1), 0.0)
            accuracy = float((estimator.predict(x[train]) == label[train]).mean())
            self.trained.append(self.record(estimator, int(start), int(train.sum()), accuracy))
        if short:
            self.shortfall = {
                "flat_periods": len(short),
                "periods": len(short) + len(self.trained),
                "fewest_train_rows": min(short),
                "most_train_rows": max(short),
                "min_train_rows": p.min_train_rows,
                "train_window_days": p.train_window_days,
            }
        return Signals(signal, confidence)

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

    def record(self, estimator: Any, cutoff: int, rows: int, accuracy: float) -> TrainedArtifact:
        metrics = {"train_rows": float(rows), "train_accuracy": accuracy}
        folder = self.context.artifacts_dir
        if folder is None:
            return TrainedArtifact(cutoff, rows, None, None, metrics)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.model_id}-{cutoff}{self.artifact_suffix}"
        self.save_estimator(estimator, path)
        return TrainedArtifact(cutoff, rows, str(path), sha256_of(path), metrics)
