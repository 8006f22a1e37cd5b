"""Technical features without look-ahead: every value at bar t uses bars <= t of its own symbol.

Zero, constant or missing volume neutralises the volume feature (0) instead of making it NaN, so
no row is lost for it; gaps and halted days are bars like any other (returns span the gap).

Bars arrive sorted by symbol then time. Rolling windows run per symbol: one window over the
concatenated column would be cheaper, but pandas' running sums would then carry floating-point
residue from one symbol's later bars into the next symbol's earlier ones (a 1e-14 leak, but a
leak: changing a bar after t must change nothing at or before t, exactly).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

RETURN_HORIZONS = (1, 4, 12, 24, 72)
SMA_WINDOWS = (12, 24, 48, 96)
VOL_WINDOWS = (24, 72)
RSI_WINDOW = 14
VOLUME_WINDOW = 72


def position_in_symbol(symbols: pd.Series) -> np.ndarray:
    """0, 1, 2, ... counting bars within each symbol (input sorted by symbol)."""
    codes = pd.factorize(symbols)[0]
    starts = np.r_[0, np.flatnonzero(np.diff(codes)) + 1]
    lengths = np.diff(np.r_[starts, len(codes)])
    return np.arange(len(codes)) - np.repeat(starts, lengths)


def rolling(values: np.ndarray | pd.Series, window: int, pos: np.ndarray, how: str) -> np.ndarray:
    """Rolling ``mean`` or ``std`` over the last ``window`` bars of each symbol (NaN before)."""
    array = np.asarray(values, dtype=np.float64)
    out = np.empty(len(array))
    bounds = np.r_[np.flatnonzero(pos == 0), len(array)]
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        out[start:stop] = getattr(pd.Series(array[start:stop]).rolling(window), how)().to_numpy()
    return out


def rolling_mean(values: np.ndarray | pd.Series, window: int, pos: np.ndarray) -> np.ndarray:
    return rolling(values, window, pos, "mean")


def lagged(values: np.ndarray, lag: int, pos: np.ndarray) -> np.ndarray:
    out = np.full(len(values), np.nan)
    out[lag:] = values[:-lag]
    out[pos < lag] = np.nan
    return out


def rsi(close: np.ndarray, window: int, pos: np.ndarray) -> np.ndarray:
    """Relative strength index from simple averages of gains and losses (0..100)."""
    change = close - lagged(close, 1, pos)
    gains = pd.Series(np.where(change > 0, change, 0.0))
    losses = pd.Series(np.where(change < 0, -change, 0.0))
    # The first bar of a symbol has no change; the window needs `window` changes after it.
    avg_gain = rolling_mean(gains, window, pos)
    avg_loss = rolling_mean(losses, window, pos)
    avg_gain[pos < window] = np.nan
    avg_loss[pos < window] = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        value = 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)
    value = np.where((avg_loss == 0) & (avg_gain > 0), 100.0, value)
    return np.where((avg_loss == 0) & (avg_gain == 0), 50.0, value)


def volume_z(volume: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Z-score of log volume over the last ``VOLUME_WINDOW`` bars. Neutral (0) where volume says
    nothing: zero or constant over the window (FX files often carry no volume), or missing
    (NaN); the row stays usable for every other feature. NaN only in a symbol's first bars."""
    log_volume = np.log1p(np.nan_to_num(volume, nan=0.0))
    mean = rolling_mean(log_volume, VOLUME_WINDOW, pos)
    spread = rolling(log_volume, VOLUME_WINDOW, pos, "std")
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (log_volume - mean) / spread
    # The running std of a constant window can be a 1e-17 residue rather than 0.
    flat = np.isfinite(spread) & (spread <= 1e-12 * np.maximum(np.abs(mean), 1.0))
    z = np.where(flat | (np.isfinite(spread) & np.isnan(volume)), 0.0, z)
    return z


def build_features(bars: pd.DataFrame) -> pd.DataFrame:
    """Bars plus engineered feature columns (``f_*``), same rows and order."""
    pos = position_in_symbol(bars["symbol"])
    close = bars["close"].to_numpy(float)
    log_close = np.log(close)
    features: dict[str, np.ndarray] = {}
    for h in RETURN_HORIZONS:
        features[f"f_ret_{h}"] = log_close - lagged(log_close, h, pos)
    for w in SMA_WINDOWS:
        features[f"f_sma_gap_{w}"] = close / rolling_mean(close, w, pos) - 1.0
    for w in VOL_WINDOWS:
        features[f"f_vol_{w}"] = rolling(features["f_ret_1"], w, pos, "std")
    features["f_rsi"] = rsi(close, RSI_WINDOW, pos)
    features["f_range"] = (bars["high"].to_numpy() - bars["low"].to_numpy()) / close
    features["f_volume_z"] = volume_z(bars["volume"].to_numpy(float), pos)
    out = bars.reset_index(drop=True).copy()
    for name, values in features.items():
        out[name] = values
    return out


def feature_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.startswith("f_")]
