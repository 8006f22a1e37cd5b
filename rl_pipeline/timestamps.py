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


def iso_z(text: str | None) -> str | None:
    """A stored 'YYYY-MM-DD HH:MM:SS' (UTC) or an ISO string -> 'YYYY-MM-DDTHH:MM:SSZ'.

    The five specified tables keep SQLite's format; every interface shows this one."""
    if text is None:
        return None
    stamp = pd.Timestamp(text)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def readable_id(prefix: str = "") -> str:
    """A new sortable, readable id: '2026-12-02T031401Z-1a2b3c4d' (UTC start time + 8 random
    hex digits), so sessions sort by start and people can tell them apart in the Dagster UI.
    Ids made before (plain UUIDs) stay valid: ids are opaque text everywhere."""
    import secrets
    from datetime import UTC, datetime

    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    return f"{prefix}{stamp}-{secrets.token_hex(4)}"
