"""The one timestamp format of the stored tables (SQLite's CURRENT_TIMESTAMP format, UTC)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def format_time(ts: np.ndarray) -> np.ndarray:
    """UTC epoch seconds -> 'YYYY-MM-DD HH:MM:SS'."""
    return pd.to_datetime(ts, unit="s", utc=True).strftime("%Y-%m-%d %H:%M:%S").to_numpy()


def parse_time(text: pd.Series | list[str]) -> np.ndarray:
    """'YYYY-MM-DD HH:MM:SS' (UTC) -> epoch seconds."""
    stamps = pd.to_datetime(pd.Series(text, dtype=object), utc=True)
    return ((stamps - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).to_numpy(np.int64)
