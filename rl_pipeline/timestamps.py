"""The two timestamp formats: the stored tables keep SQLite's CURRENT_TIMESTAMP format
('YYYY-MM-DD HH:MM:SS', UTC); every interface (API JSON, CLI JSON) shows ISO 8601 with a Z
('2026-12-02T03:14:01Z'), converted by the view builders the API and the CLI share."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

ISO_Z_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
ISO_Z_PATTERN = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"


def format_time(ts: np.ndarray) -> np.ndarray:
    """UTC epoch seconds -> 'YYYY-MM-DD HH:MM:SS'."""
    return pd.to_datetime(ts, unit="s", utc=True).strftime("%Y-%m-%d %H:%M:%S").to_numpy()


def parse_time(text: pd.Series | list[str]) -> np.ndarray:
    """'YYYY-MM-DD HH:MM:SS' (UTC) -> epoch seconds."""
    stamps = pd.to_datetime(pd.Series(text, dtype=object), utc=True)
    return ((stamps - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).to_numpy(np.int64)


def iso_z(text: str | None) -> str | None:
    """A stored 'YYYY-MM-DD HH:MM:SS' (UTC) or an ISO string -> 'YYYY-MM-DDTHH:MM:SSZ'.

    The five specified tables keep SQLite's format; every interface shows this one. None and
    '' (no time) stay None."""
    if text is None or text == "":
        return None
    # datetime, not pandas: any year 1..9999 (a user's filter may say 0999-01-01), and the
    # year always in four digits (strftime drops the zeros of years before 1000 on Linux).
    stamp = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(UTC).replace(tzinfo=None)
    return (
        f"{stamp.year:04d}-{stamp.month:02d}-{stamp.day:02d}T"
        f"{stamp.hour:02d}:{stamp.minute:02d}:{stamp.second:02d}Z"
    )


def epoch_iso_z(ts: int) -> str:
    """UTC epoch seconds -> 'YYYY-MM-DDTHH:MM:SSZ'."""
    return pd.Timestamp(ts, unit="s", tz="UTC").strftime(ISO_Z_FORMAT)


def with_iso_z(row: Mapping[str, Any], *fields: str) -> dict[str, Any]:
    """``row`` as a dict with the named time fields in the interface format."""
    out = dict(row)
    for name in fields:
        out[name] = iso_z(out.get(name))
    return out


def readable_id(prefix: str = "") -> str:
    """A new sortable, readable id: '2026-12-02T031401Z-1a2b3c4d' (UTC start time + 8 random
    hex digits), so sessions sort by start and people can tell them apart in the Dagster UI.
    Ids made before (plain UUIDs) stay valid: ids are opaque text everywhere."""
    import secrets

    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    return f"{prefix}{stamp}-{secrets.token_hex(4)}"
