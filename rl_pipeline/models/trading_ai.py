"""TradingAI: a rule-based trend model (moving-average crossover with an RSI exhaustion filter)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rl_pipeline.config import TradingAIConfig
from rl_pipeline.features.technical import position_in_symbol, rolling_mean, rsi
from rl_pipeline.market.intervals import fill_section
from rl_pipeline.models.base import ModelContext, Signals, TradingModel


class TradingAI(TradingModel):
    model_id = "trading_ai"
    signal_cache_scope = "symbol"  # rolling windows within each symbol

    def __init__(self, params: TradingAIConfig, context: ModelContext | None = None) -> None:
        # Unset windows (a model built outside a session) are those of hourly bars.
        self.params = fill_section(params)

    def describe(self) -> dict[str, Any]:
        return {"kind": "sma_crossover_rsi_filter", **self.params.model_dump()}

    def predict(self, features: pd.DataFrame, decide: np.ndarray) -> Signals:
        p = self.params
        pos = position_in_symbol(features["symbol"])
        close = features["close"]
        spread = rolling_mean(close, p.fast_window, pos) / rolling_mean(close, p.slow_window, pos)
        spread = spread - 1.0
        strength = rsi(close.to_numpy(float), p.rsi_window, pos)
        signal = np.sign(np.nan_to_num(spread)).astype(np.int8)
        # Don't chase a move that is already exhausted.
        signal[(signal > 0) & (strength > p.rsi_overbought)] = 0
        signal[(signal < 0) & (strength < p.rsi_oversold)] = 0
        signal[np.isnan(strength)] = 0
        confidence = np.clip(np.abs(np.nan_to_num(spread)) / p.confidence_scale, 0.0, 1.0)
        confidence = np.where(signal == 0, 0.0, confidence)
        return Signals(signal, confidence)
