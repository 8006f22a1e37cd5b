"""Model signals computed once and reused by later sessions, campaigns and sweeps.

A model's signals are a pure function of the model (its id and every parameter, as
``describe()`` gives them), the bars it read (a digest of every loaded bar of the symbols it
reads), the decided window and the code that computes features and signals
(``SIGNALS_CODE_VERSION``). The cache key is a sha256 over all of these, so changed bars, changed
settings or changed code can never be served stale: they make another key. A model whose
signals of one symbol depend only on that symbol's bars (``signal_cache_scope = "symbol"``) is
cached per symbol, so changing one symbol's bars recomputes that symbol alone; a model fitted on
every symbol's rows (``"pooled"``) is cached for the whole set of symbols."""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rl_pipeline.models.base import Signals, TradingModel
from rl_pipeline.store import signal_cache as rows

# Bump when the features or a model's code change the signals they give for the same inputs.
SIGNALS_CODE_VERSION = "1"
BAR_FIELDS = ("ts", "open", "high", "low", "close", "volume")
log = logging.getLogger(__name__)


def symbol_digests(bars: pd.DataFrame) -> dict[str, str]:
    """A sha256 per symbol over every loaded bar of it (time and OHLCV, exact bytes)."""
    out = {}
    for symbol, part in bars.groupby("symbol", sort=True):
        digest = hashlib.sha256()
        for column in BAR_FIELDS:
            digest.update(np.ascontiguousarray(part[column].to_numpy(np.float64)).tobytes())
        out[str(symbol)] = digest.hexdigest()
    return out


@dataclass
class SignalCache:
    """Lookups and writes of one session's (or sweep's) signals. ``outcome`` says, per model,
    whether its signals were reused (and from which session) or computed."""

    conn: sqlite3.Connection
    computed_by: str
    bars: pd.DataFrame
    test_start_ts: int
    test_end_ts: int
    outcome: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.digests = symbol_digests(self.bars)
        self.symbol_of_row = self.bars["symbol"].to_numpy()

    def key(self, model: TradingModel, symbols: list[str]) -> str:
        inputs = {
            "code": SIGNALS_CODE_VERSION,
            "model": model.model_id,
            "parameters": model.describe(),
            "window": [self.test_start_ts, self.test_end_ts],
            "bars": {s: self.digests[s] for s in symbols},
        }
        text = json.dumps(inputs, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def predict(
        self, model: TradingModel, features: pd.DataFrame, decide: np.ndarray, compute
    ) -> Signals:
        """The model's signals from the cache where its key matches; ``compute(features,
        decide)`` gives the rest, which are stored for next time."""
        if model.signal_cache_scope == "pooled":
            return self._pooled(model, features, decide, compute)
        if model.signal_cache_scope == "symbol":
            return self._per_symbol(model, features, decide, compute)
        return compute(features, decide)

    def _pooled(self, model, features, decide, compute) -> Signals:
        found = self.lookup_pooled(model, features, decide)
        if found is not None:
            return found
        signals = compute(features, decide)
        self.store_pooled(model, features, decide, signals)
        return signals

    def lookup_pooled(
        self, model: TradingModel, features: pd.DataFrame, decide: np.ndarray
    ) -> Signals | None:
        """A pooled model's signals from the cache (its state restored), or None."""
        hit = rows.get_signals(self.conn, self.key(model, sorted(self.digests)))
        ts = features["ts"].to_numpy(np.int64)[decide]
        if hit is None or not np.array_equal(hit[0], ts):
            return None
        model.restore_cache_state(hit[3])
        self.outcome[model.model_id] = f"reused (computed by session {hit[4]})"
        return _full(len(features), decide, hit[1], hit[2])

    def store_pooled(
        self, model: TradingModel, features: pd.DataFrame, decide: np.ndarray, signals: Signals
    ) -> None:
        rows.put_signals(
            self.conn,
            self.key(model, sorted(self.digests)),
            model.model_id,
            None,
            self.computed_by,
            features["ts"].to_numpy(np.int64)[decide],
            signals.signal[decide],
            signals.confidence[decide],
            model.cache_state(),
        )
        self.outcome[model.model_id] = "computed"

    def _per_symbol(self, model, features, decide, compute) -> Signals:
        ts_all = features["ts"].to_numpy(np.int64)
        signal = np.zeros(len(features), dtype=np.int8)
        confidence = np.zeros(len(features))
        missing, reused = [], []
        keys = {s: self.key(model, [s]) for s in sorted(self.digests)}
        # Each symbol's decided rows, found once (comparing the symbol column per symbol costs
        # a full pass of string comparisons each).
        positions = features.groupby("symbol", sort=False).indices
        decided_rows = {
            s: positions[s][decide[positions[s]]] if s in positions else np.empty(0, np.intp)
            for s in keys
        }
        for symbol, key in keys.items():
            rows_of = decided_rows[symbol]
            hit = rows.get_signals(self.conn, key)
            if hit is not None and np.array_equal(hit[0], ts_all[rows_of]):
                signal[rows_of], confidence[rows_of] = hit[1], hit[2]
                reused.append(symbol)
            else:
                missing.append(symbol)
        if missing:
            mask = np.zeros(len(features), dtype=bool)
            for symbol in missing:
                mask[positions.get(symbol, [])] = True
            part = compute(features.loc[mask].reset_index(drop=True), decide[mask])
            signal[mask], confidence[mask] = part.signal, part.confidence
            for symbol in missing:
                rows_of = decided_rows[symbol]
                rows.put_signals(
                    self.conn,
                    keys[symbol],
                    model.model_id,
                    symbol,
                    self.computed_by,
                    ts_all[rows_of],
                    signal[rows_of],
                    confidence[rows_of],
                    model.cache_state(),
                )
        self.outcome[model.model_id] = (
            f"reused for {len(reused)} of {len(keys)} symbols, computed for "
            f"{', '.join(missing) or 'none'}"
        )
        return Signals(signal, confidence)


def _full(n: int, decide: np.ndarray, signal: np.ndarray, confidence: np.ndarray) -> Signals:
    full_signal = np.zeros(n, dtype=np.int8)
    full_confidence = np.zeros(n)
    full_signal[decide], full_confidence[decide] = signal, confidence
    return Signals(full_signal, full_confidence)


def cache_summary(cache: SignalCache | None) -> dict[str, Any]:
    return dict(cache.outcome) if cache else {}
