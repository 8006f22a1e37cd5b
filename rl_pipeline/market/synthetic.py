"""The embedded default data set: seeded synthetic hourly OHLCV with market regimes.

Each symbol walks through regimes of random length — trending up, trending down, ranging
(mean-reverting) and volatile — so that trend followers win in some periods and lose in others.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DEFAULT_SYMBOLS: tuple[str, ...] = ("SYN-BTC", "SYN-ETH", "SYN-SOL", "SYN-XRP")
DEFAULT_START = pd.Timestamp("2025-01-01", tz="UTC")
DEFAULT_DAYS = 420
DEFAULT_SEED = 20260101
HOUR = 3600

# (name, hourly drift, hourly volatility, mean-reversion strength)
REGIMES: tuple[tuple[str, float, float, float], ...] = (
    ("trend_up", 0.0006, 0.006, 0.0),
    ("trend_down", -0.0006, 0.006, 0.0),
    ("ranging", 0.0, 0.004, 0.04),
    ("volatile", 0.0, 0.018, 0.0),
)


def regime_schedule(rng: np.random.Generator, n_bars: int) -> np.ndarray:
    """Regime index per bar: blocks of 5 to 30 days."""
    codes = np.empty(n_bars, dtype=np.int8)
    i = 0
    while i < n_bars:
        length = int(rng.integers(5 * 24, 30 * 24))
        codes[i : i + length] = rng.integers(len(REGIMES))
        i += length
    return codes


def generate_symbol(
    rng: np.random.Generator, symbol: str, start_price: float, n_bars: int, start_ts: int
) -> pd.DataFrame:
    codes = regime_schedule(rng, n_bars)
    drift = np.array([r[1] for r in REGIMES])[codes]
    vol = np.array([r[2] for r in REGIMES])[codes]
    reversion = np.array([r[3] for r in REGIMES])[codes]
    shocks = rng.standard_normal(n_bars) * vol
    # Mean reversion needs the running deviation from an anchor, which is sequential.
    log_close = np.empty(n_bars)
    level = np.log(start_price)
    anchor = level
    for i in range(n_bars):
        if reversion[i] == 0.0:
            anchor = level
        level = level + drift[i] + shocks[i] - reversion[i] * (level - anchor)
        log_close[i] = level
    close = np.exp(log_close)
    prev_close = np.concatenate(([start_price], close[:-1]))
    open_ = prev_close * np.exp(rng.standard_normal(n_bars) * vol * 0.1)
    wick = np.abs(rng.standard_normal((2, n_bars))) * vol * 0.5
    high = np.maximum(open_, close) * np.exp(wick[0])
    low = np.minimum(open_, close) * np.exp(-wick[1])
    volume = rng.lognormal(mean=10.0, sigma=0.5, size=n_bars) * (1.0 + 50.0 * vol)
    return pd.DataFrame(
        {
            "symbol": symbol,
            "ts": start_ts + HOUR * np.arange(n_bars, dtype=np.int64),
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": volume,
            "regime": np.array([r[0] for r in REGIMES])[codes],
        }
    )


def generate_default_bars(
    symbols: tuple[str, ...] = DEFAULT_SYMBOLS,
    days: int = DEFAULT_DAYS,
    seed: int = DEFAULT_SEED,
    start: pd.Timestamp = DEFAULT_START,
) -> pd.DataFrame:
    """Hourly bars for every symbol, the same for the same arguments on every machine."""
    rng = np.random.default_rng(seed)
    n_bars = days * 24
    start_ts = int(start.timestamp())
    frames = [
        generate_symbol(rng, symbol, float(rng.uniform(20, 2000)), n_bars, start_ts)
        for symbol in symbols
    ]
    return pd.concat(frames, ignore_index=True)
