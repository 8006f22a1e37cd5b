"""Use case: the user's market data — import files, list what is stored, delete a range. The CLI
(``rl-pipeline data ...``) and the API (``/api/data``) call these functions."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from rl_pipeline.market.intervals import interval_name
from rl_pipeline.market.validation import BarValidationError
from rl_pipeline.market_data.importer import BatchImport, expand_inputs, import_bar_files
from rl_pipeline.store.bars import bar_ranges, delete_bars, list_series
from rl_pipeline.timestamps import epoch_iso_z


def import_market_data(
    conn: sqlite3.Connection,
    inputs: list[str] | tuple[str, ...],
    *,
    replace: bool = False,
    symbol: str | None = None,
    confine_to: Path | None = None,
) -> BatchImport:
    """Files, directories or glob patterns, all-or-nothing (see ``import_bar_files``). With
    ``confine_to`` (the API), relative paths are relative to that folder and every file must
    resolve inside it: a request cannot make the server read (and echo rows of) other files."""
    if not inputs:
        raise BarValidationError("(import)", "name at least one file, directory or pattern")
    for item in inputs:
        # No file name holds a NUL byte; the operating system refuses them (a ValueError
        # deep in pathlib otherwise).
        if "\x00" in str(item):
            raise BarValidationError(repr(str(item)), "a path cannot contain a NUL character")
    if confine_to is not None:
        root = confine_to.resolve()
        inputs = [str(root / item) for item in inputs]  # an absolute item stays as it is
        # Checked before anything is read (even whether a file exists), then again after
        # symlinks and patterns are resolved.
        named = [Path(os.path.normpath(item)) for item in inputs]
        for path in [*named, *(expand_inputs(inputs) if _inside(named, root) else [])]:
            if not path.resolve().is_relative_to(root):
                raise BarValidationError(
                    str(path), f"outside the import folder {root}: put the file there first"
                )
    return import_bar_files(conn, list(inputs), replace=replace, symbol=symbol)


def _inside(named: list[Path], root: Path) -> bool:
    return all(p.is_relative_to(root) for p in named)


def describe_import(batch: BatchImport) -> dict[str, Any]:
    return {
        "files": [asdict(f) | {"symbols": list(f.symbols)} for f in batch.files],
        "inserted_rows": batch.stored.inserted_rows,
        "unchanged_rows": batch.stored.unchanged_rows,
        "replaced_rows": batch.stored.replaced_rows,
    }


def list_market_data(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Per stored symbol: interval, calendar, first and last bar, rows, source file(s)."""
    return [
        {
            "symbol": s.symbol,
            "interval": interval_name(s.interval_seconds) if s.interval_seconds else None,
            "interval_seconds": s.interval_seconds,
            "calendar": s.calendar,
            "bars_per_day": s.bars_per_day,
            "first_bar": epoch_iso_z(s.first_ts),
            "last_bar": epoch_iso_z(s.last_ts),
            "rows": s.rows,
            "source": s.source,
        }
        for s in list_series(conn)
    ]


def parse_bound(value: str | None, field: str) -> int | None:
    """An ISO 8601 date or date-time (UTC if no offset) as epoch seconds."""
    if value is None or value == "":
        return None
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{field}: not an ISO 8601 date or date-time: {value!r}") from exc
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return int((stamp - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1))


def delete_market_data(
    conn: sqlite3.Connection, symbol: str, from_: str | None = None, to: str | None = None
) -> int:
    """Delete the bars of ``symbol`` from ``from_`` to ``to`` inclusive (no bound: that end of
    the data); returns the number deleted. Raises ``LookupError`` for a symbol without bars."""
    low, high = parse_bound(from_, "from"), parse_bound(to, "to")
    if low is not None and high is not None and low > high:
        raise ValueError(f"from ({from_}) is after to ({to})")
    if symbol not in bar_ranges(conn):
        raise LookupError(f"no bars stored for symbol {symbol!r}")
    return delete_bars(conn, symbol, low, high)
