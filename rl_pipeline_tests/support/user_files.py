"""Bar files as users bring them: a daily stock CSV (exchange days only, no symbol column) and
an hourly FX CSV (weekdays, volume all zeros), from the seeded synthetic generator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rl_pipeline.market.synthetic import generate_symbol


def exchange_days(start: str, count: int) -> pd.DatetimeIndex:
    days = pd.bdate_range(start, periods=count, tz="UTC")
    return days


def daily_stock_frame(count: int = 780, seed: int = 11) -> pd.DataFrame:
    """About three years of daily bars (weekends absent), Yahoo-style columns."""
    rng = np.random.default_rng(seed)
    bars = generate_symbol(rng, "X", 150.0, count, 0)
    days = exchange_days("2022-01-03", count)
    return pd.DataFrame(
        {
            "Date": days.strftime("%Y-%m-%d"),
            "Open": bars["open"].round(4),
            "High": bars["high"].round(4),
            "Low": bars["low"].round(4),
            "Close": bars["close"].round(4),
            "Adj Close": bars["close"].round(4),
            "Volume": bars["volume"].round(0).astype(int),
        }
    )


def write_daily_stock_csv(path: Path, count: int = 780, seed: int = 11) -> Path:
    daily_stock_frame(count, seed).to_csv(path, index=False)
    return path


def hourly_fx_frame(weeks: int = 40, seed: int = 5, symbol: str = "EURUSD") -> pd.DataFrame:
    """Hourly bars Monday 00:00 to Friday 23:00 UTC, volume 0 throughout."""
    hours = pd.date_range("2024-01-01", periods=weeks * 7 * 24, freq="h", tz="UTC")
    hours = hours[hours.day_of_week < 5]
    rng = np.random.default_rng(seed)
    bars = generate_symbol(rng, symbol, 1.1, len(hours), 0)
    return pd.DataFrame(
        {
            "symbol": symbol,
            "timestamp": hours.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "open": bars["open"].round(6),
            "high": bars["high"].round(6),
            "low": bars["low"].round(6),
            "close": bars["close"].round(6),
            "volume": 0,
        }
    )


def write_hourly_fx_csv(path: Path, weeks: int = 40, seed: int = 5) -> Path:
    hourly_fx_frame(weeks, seed).to_csv(path, index=False)
    return path
