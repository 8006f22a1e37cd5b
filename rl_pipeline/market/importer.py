"""Import the user's own CSV or Parquet bars (read by DuckDB), all-or-nothing."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from rl_pipeline.market.validation import BarValidationError, validate_bars
from rl_pipeline.store.bars import write_bars

READERS = {".csv": "read_csv", ".parquet": "read_parquet", ".pq": "read_parquet"}


@dataclass(frozen=True)
class ImportResult:
    file: str
    rows: int
    symbols: tuple[str, ...]


def check_input_path(path: Path | str) -> Path:
    """A user-supplied bar file: must exist, be a regular file and be CSV or Parquet."""
    resolved = Path(path).expanduser().resolve()
    if not resolved.exists():
        raise BarValidationError(str(path), "file does not exist")
    if not resolved.is_file():
        raise BarValidationError(str(path), "not a regular file")
    if resolved.suffix.lower() not in READERS:
        raise BarValidationError(
            str(path), f"unsupported file type {resolved.suffix!r}: use .csv, .parquet or .pq"
        )
    return resolved


def read_bar_file(path: Path) -> pd.DataFrame:
    """Raw rows in file order. CSV is read as text so that a bad cell is reported by row."""
    reader = READERS[path.suffix.lower()]
    options = ", header = true, all_varchar = true" if reader == "read_csv" else ""
    con = duckdb.connect()
    try:
        cursor = con.execute(f"SELECT * FROM {reader}(?{options})", [str(path)])
        columns = [d[0] for d in cursor.description]
        return pd.DataFrame(cursor.fetchall(), columns=columns)
    except duckdb.Error as exc:
        raise BarValidationError(
            path.name, "unreadable file", detail=str(exc).splitlines()[0]
        ) from exc
    finally:
        con.close()


def import_bar_file(conn: sqlite3.Connection, path: Path | str) -> ImportResult:
    """Validate the whole file, then store it in one transaction; a bad file stores nothing."""
    resolved = check_input_path(path)
    raw = read_bar_file(resolved)
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    bars = validate_bars(raw, resolved.name)
    rows = write_bars(conn, bars, source=f"file:{resolved.name}")
    return ImportResult(resolved.name, rows, tuple(sorted(bars["symbol"].unique())))
