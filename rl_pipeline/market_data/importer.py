"""Import the user's own CSV or Parquet bars, all-or-nothing per import.

CSV dialects read: UTF-8 with or without a BOM; LF, CRLF or mixed line endings; comma, semicolon
or tab delimiters (told from the header line); the usual column names in any case (Date,
Datetime, Time, Timestamp; Open, High, Low, Close, Volume; Symbol or Ticker; Adj Close and other
columns are ignored); timestamps with or without an offset (none = UTC). A file without a symbol
column holds one symbol: the ``symbol`` given, else the file name without its extension. A file
without a volume column gets volume 0 (the volume feature is then neutral).

Files are read in chunks, so memory follows the clean bars (about 60 bytes a row), not the text.
"""

from __future__ import annotations

import glob
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from rl_pipeline.market.validation import REQUIRED_COLUMNS, BarValidationError, validate_bars
from rl_pipeline.store.bars import WriteOutcome, import_bars

READERS = {".csv": "read_csv", ".parquet": "read_parquet", ".pq": "read_parquet"}
CHUNK_ROWS = 50_000
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}
# Column names as users write them (lower case, spaces/underscores/dashes removed).
COLUMN_ALIASES = {
    "symbol": "symbol",
    "ticker": "symbol",
    "timestamp": "timestamp",
    "date": "timestamp",
    "datetime": "timestamp",
    "time": "timestamp",
    "open": "open",
    "high": "high",
    "low": "low",
    "close": "close",
    "volume": "volume",
}
GLOB_CHARACTERS = frozenset("*?[")


@dataclass(frozen=True)
class ImportResult:
    file: str
    rows: int
    symbols: tuple[str, ...]


@dataclass(frozen=True)
class BatchImport:
    """One ``data import``: every file, and what the store did with their bars."""

    files: tuple[ImportResult, ...]
    stored: WriteOutcome


@dataclass
class LoadedBars:
    """Clean bars of one file, compact: symbol codes into ``symbols``."""

    file: str
    symbols: list[str]
    codes: np.ndarray
    ts: np.ndarray
    values: dict[str, np.ndarray]  # open, high, low, close, volume

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "symbol": pd.Categorical.from_codes(self.codes, categories=self.symbols),
                "ts": self.ts,
                **self.values,
            },
            copy=False,
        )


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


def expand_inputs(inputs: list[str] | tuple[str, ...]) -> list[Path]:
    """Files, directories (their CSV and Parquet files) and glob patterns, in the order given
    (sorted within a directory or pattern); each file once."""
    found: list[Path] = []
    for item in inputs:
        text = str(item)
        if GLOB_CHARACTERS & set(text):
            matches = sorted(glob.glob(str(Path(text).expanduser())))
            if not matches:
                raise BarValidationError(text, "no file matches this pattern")
            found += [check_input_path(m) for m in matches if Path(m).is_file()]
        elif Path(text).expanduser().is_dir():
            folder = Path(text).expanduser().resolve()
            files = sorted(
                p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in READERS
            )
            if not files:
                raise BarValidationError(text, "the directory holds no .csv, .parquet or .pq file")
            found += files
        else:
            found.append(check_input_path(text))
    return list(dict.fromkeys(found))


def canonical_columns(columns: list[str], source: str) -> dict[str, str]:
    """file column -> canonical name, for the columns the importer uses."""
    mapping: dict[str, str] = {}
    for column in columns:
        key = "".join(ch for ch in str(column).strip().lower() if ch not in " _-")
        canonical = COLUMN_ALIASES.get(key)
        if canonical is None:
            continue
        if canonical in mapping.values():
            other = next(c for c, n in mapping.items() if n == canonical)
            raise BarValidationError(
                source,
                f"columns {other!r} and {column!r} both name the {canonical}",
                detail="keep one of them",
            )
        mapping[str(column)] = canonical
    return mapping


def sniff_delimiter(header: str, source: str) -> str:
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    if counts[best] == 0:
        raise BarValidationError(
            source,
            "cannot tell the delimiter: the header line has no comma, semicolon or tab",
            row=0,
            detail=f"header: {header[:80]!r}",
        )
    return best


def _csv_chunks(path: Path) -> Iterator[pd.DataFrame]:
    try:
        with path.open("r", encoding="utf-8-sig", newline=None) as handle:
            header = handle.readline()
    except UnicodeDecodeError as exc:
        raise BarValidationError(path.name, "not UTF-8 text", detail=str(exc)) from exc
    if not header.strip():
        raise BarValidationError(path.name, "the file is empty (no header line)")
    delimiter = sniff_delimiter(header, path.name)
    try:
        reader = pd.read_csv(
            path,
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            encoding="utf-8-sig",
            chunksize=CHUNK_ROWS,
            skipinitialspace=True,
        )
        with reader:
            yield from reader
    except UnicodeDecodeError as exc:
        raise BarValidationError(path.name, "not UTF-8 text", detail=str(exc)) from exc
    except (pd.errors.ParserError, ValueError) as exc:
        raise BarValidationError(
            path.name, "malformed CSV", detail=str(exc).strip().splitlines()[-1]
        ) from exc


def _parquet_chunks(path: Path) -> Iterator[pd.DataFrame]:
    con = duckdb.connect()
    try:
        cursor = con.execute("SELECT * FROM read_parquet(?)", [str(path)])
        columns = [d[0] for d in cursor.description]
        while rows := cursor.fetchmany(CHUNK_ROWS):
            yield pd.DataFrame(rows, columns=columns)
    except duckdb.Error as exc:
        raise BarValidationError(
            path.name, "unreadable file", detail=str(exc).splitlines()[0]
        ) from exc
    finally:
        con.close()


def raw_chunks(path: Path) -> Iterator[pd.DataFrame]:
    """The file's rows in order, in chunks, columns as in the file."""
    if READERS[path.suffix.lower()] == "read_csv":
        return _csv_chunks(path)
    return _parquet_chunks(path)


def load_bar_file(path: Path | str, symbol: str | None = None) -> LoadedBars:
    """Read and validate a whole file (every rule, in file order, across its chunks)."""
    resolved = check_input_path(path)
    name = resolved.name
    symbols: dict[str, int] = {}
    codes: list[np.ndarray] = []
    stamps: list[np.ndarray] = []
    values: dict[str, list[np.ndarray]] = {c: [] for c in REQUIRED_COLUMNS[2:]}
    previous: dict[str, int] = {}
    first_row = 1
    mapping: dict[str, str] | None = None
    for chunk in raw_chunks(resolved):
        if mapping is None:
            mapping = canonical_columns(list(chunk.columns), name)
            _check_columns(mapping, list(chunk.columns), name, symbol)
        raw = chunk[list(mapping)].rename(columns=mapping)
        if "symbol" not in raw.columns:
            raw["symbol"] = symbol or resolved.stem
        if "volume" not in raw.columns:
            raw["volume"] = 0.0
        raw.attrs["file_columns"] = {v: k for k, v in mapping.items()}
        clean = validate_bars(raw, name, first_row=first_row, previous_ts=previous)
        first_row += len(chunk)
        for s in pd.unique(clean["symbol"]):
            symbols.setdefault(str(s), len(symbols))
        codes.append(clean["symbol"].map(symbols).to_numpy(np.int32))
        stamps.append(clean["ts"].to_numpy(np.int64))
        for column, parts in values.items():
            parts.append(clean[column].to_numpy(np.float64))
        del chunk, raw, clean
    if mapping is None or not stamps:
        raise BarValidationError(name, "the file has no data rows")
    return LoadedBars(
        name,
        list(symbols),
        np.concatenate(codes),
        np.concatenate(stamps),
        {column: np.concatenate(parts) for column, parts in values.items()},
    )


def _check_columns(
    mapping: dict[str, str], columns: list[str], source: str, symbol: str | None
) -> None:
    present = set(mapping.values())
    needed = [c for c in REQUIRED_COLUMNS if c not in ("symbol", "volume")]
    missing = [c for c in needed if c not in present]
    if missing:
        raise BarValidationError(
            source,
            f"missing required column(s): {', '.join(missing)}",
            detail=f"found: {', '.join(map(str, columns))}",
        )
    if symbol and "symbol" in present:
        raise BarValidationError(
            source, "the file has a symbol column: a symbol cannot be given for it too"
        )


def combine(loaded: list[LoadedBars]) -> pd.DataFrame:
    """The bars of several files as one frame (column ``file`` names each bar's file); the same
    symbol and time in two files is an error naming both files."""
    if len(loaded) == 1:
        return loaded[0].frame()
    frames = []
    for part in loaded:
        frame = part.frame()
        frame["symbol"] = frame["symbol"].astype(object)
        frame["file"] = part.file
        frames.append(frame)
    bars = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if len(frames) > 1:
        duplicated = bars.duplicated(["symbol", "ts"], keep=False)
        if duplicated.any():
            twice = bars[duplicated].sort_values(["ts", "symbol"])
            first = twice.iloc[0]
            files = twice.loc[
                (twice["symbol"] == first["symbol"]) & (twice["ts"] == first["ts"]), "file"
            ]
            when = pd.Timestamp(int(first["ts"]), unit="s", tz="UTC").isoformat()
            raise BarValidationError(
                " + ".join(dict.fromkeys(files)),
                f"{first['symbol']} {when} is in more than one file of this import",
                detail=f"{int(bars.duplicated(['symbol', 'ts']).sum())} bar(s) are in two files",
            )
        bars = bars.sort_values(["symbol", "ts"], kind="stable", ignore_index=True)
    return bars


def import_bar_files(
    conn: sqlite3.Connection,
    inputs: list[str] | tuple[str, ...],
    *,
    replace: bool = False,
    symbol: str | None = None,
) -> BatchImport:
    """Validate every file, then store all their bars in one transaction: a bad file, a bar in
    two files or a conflict with stored bars (unless ``replace``) stores nothing."""
    paths = expand_inputs(inputs)
    loaded = [load_bar_file(path, symbol) for path in paths]
    results = tuple(
        ImportResult(part.file, len(part.ts), tuple(sorted(part.symbols))) for part in loaded
    )
    bars = combine(loaded)
    if len(loaded) == 1:
        sources: str | pd.Series = f"file:{loaded[0].file}"
    else:
        sources = bars.pop("file").astype("category")
        sources = sources.cat.rename_categories([f"file:{f}" for f in sources.cat.categories])
    del loaded[:]  # the combined frame holds every bar now
    stored = import_bars(conn, bars, sources, replace=replace)
    return BatchImport(results, stored)


def import_bar_file(
    conn: sqlite3.Connection, path: Path | str, *, replace: bool = False
) -> ImportResult:
    """One file, all-or-nothing (the inbox and the API import files one by one)."""
    return import_bar_files(conn, [str(check_input_path(path))], replace=replace).files[0]
