"""Validation of OHLCV bars (docs/SEMANTICS.md): a bad file is rejected whole, naming the file,
the row and the rule it broke."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

REQUIRED_COLUMNS: tuple[str, ...] = (
    "symbol",
    "timestamp",
    "open",
    "high",
    "low",
    "close",
    "volume",
)
PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")
EPOCH = pd.Timestamp(0, tz="UTC")
# Timestamps a session can compute with (pandas' nanosecond range, whole years): a bar of year
# 1600, 2262 or 9999 is a row-level rejection.
FIRST_TIMESTAMP = pd.Timestamp("1678-01-01", tz="UTC")
END_TIMESTAMP = pd.Timestamp("2262-01-01", tz="UTC")


class BarValidationError(ValueError):
    """A bar input broke a rule. ``row`` is the 1-based data row (header excluded)."""

    def __init__(
        self,
        source: str,
        rule: str,
        row: int | None = None,
        detail: str = "",
        column: str | None = None,
    ) -> None:
        self.source, self.rule, self.row, self.detail = source, rule, row, detail
        self.column = column
        where = f"{source} row {row}" if row is not None else source
        message = f"{where}: {rule}" + (f" ({detail})" if detail else "")
        super().__init__(message + (f" [column {column!r}]" if column else ""))


def _parse_times(text: pd.Series) -> pd.Series:
    """ISO 8601 date-times, with or without an offset (none = UTC), dates alone; anything else
    (and a time pandas cannot hold) NaT."""
    try:
        return pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
    except (ValueError, OverflowError):
        # A mix pandas refuses as a whole: parse row by row.
        return text.map(_parse_one).astype("datetime64[us, UTC]")


def _parse_one(value: object) -> pd.Timestamp:
    try:
        return pd.to_datetime(value, utc=True, format="ISO8601")
    except (ValueError, OverflowError, TypeError):
        return pd.NaT


@dataclass(frozen=True)
class _Violation:
    row: int
    rule: str
    detail: str
    column: str


def _first(
    mask: np.ndarray, rows: np.ndarray, rule: str, detail_of, column: str | None = None
) -> _Violation | None:
    hits = np.flatnonzero(mask)
    if hits.size == 0:
        return None
    i = int(hits[0])
    column = column or rule.split()[0]
    detail = f"{detail_of(i)}; {hits.size} row(s) break this rule"
    return _Violation(int(rows[i]), rule, detail, column)


def validate_bars(
    raw: pd.DataFrame,
    source: str,
    first_row: int = 1,
    previous_ts: dict[str, int] | None = None,
) -> pd.DataFrame:
    """Check raw bars (any dtypes, file order) and return clean ones: symbol, ts (UTC epoch
    seconds), open, high, low, close, volume. Raises :class:`BarValidationError` for the first
    row, in file order, that breaks a rule. ``first_row`` numbers the first row of ``raw`` (a
    chunk of a longer file) and ``previous_ts`` holds each symbol's last time before it; it is
    updated with this chunk's."""
    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    if missing:
        raise BarValidationError(
            source,
            f"missing required column(s): {', '.join(missing)}",
            detail=f"found: {', '.join(map(str, raw.columns))}",
        )
    if raw.empty:
        raise BarValidationError(source, "the file has no data rows")
    rows = np.arange(first_row, first_row + len(raw))
    symbol = raw["symbol"].astype("string").str.strip()
    if pd.api.types.is_datetime64_any_dtype(raw["timestamp"]):
        stamps = pd.to_datetime(raw["timestamp"], utc=True)
    else:
        stamps = _parse_times(raw["timestamp"].astype("string").str.strip())
    parsed = stamps.notna().to_numpy()
    in_range = np.zeros(len(raw), dtype=bool)
    in_range[parsed] = (
        (stamps[parsed] >= FIRST_TIMESTAMP) & (stamps[parsed] < END_TIMESTAMP)
    ).to_numpy()
    values = {c: pd.to_numeric(raw[c], errors="coerce").to_numpy(float) for c in PRICE_COLUMNS}
    volume = pd.to_numeric(raw["volume"], errors="coerce").to_numpy(float)
    o, h, lo, c = (values[k] for k in PRICE_COLUMNS)

    def show(i: int) -> str:
        return ", ".join(f"{k}={raw[k].iloc[i]!r}" for k in REQUIRED_COLUMNS)

    checks: list[_Violation | None] = [
        _first(
            symbol.isna().to_numpy() | (symbol == "").fillna(True).to_numpy(),
            rows,
            "symbol must be a non-empty string",
            show,
        ),
        _first(
            ~parsed,
            rows,
            "timestamp must be an ISO 8601 date-time (UTC if no offset)",
            show,
        ),
        _first(
            parsed & ~in_range,
            rows,
            f"timestamp must lie from {FIRST_TIMESTAMP.year} to {END_TIMESTAMP.year - 1}",
            show,
        ),
    ]
    for name, arr in (*values.items(), ("volume", volume)):
        checks.append(_first(~np.isfinite(arr), rows, f"{name} must be a finite number", show))
    checks += [
        _first(
            np.isfinite(o + h + lo + c) & ((o <= 0) | (h <= 0) | (lo <= 0) | (c <= 0)),
            rows,
            "prices must be positive",
            show,
            "open/high/low/close",
        ),
        _first(lo > np.minimum(o, c), rows, "low must be <= min(open, close)", show),
        _first(np.maximum(o, c) > h, rows, "high must be >= max(open, close)", show),
        _first(volume < 0, rows, "volume must be >= 0", show),
    ]
    ts = None
    if in_range.all():
        # Resolution-independent (pandas 3 may parse to s, ms, us or ns).
        ts = ((stamps - EPOCH) // pd.Timedelta(seconds=1)).to_numpy(np.int64)
    if ts is not None and not symbol.isna().any():
        frame = pd.DataFrame({"symbol": symbol.to_numpy(), "ts": ts})
        previous = frame.groupby("symbol", sort=False)["ts"].shift()
        if previous_ts:
            # The first row of a symbol in this chunk follows its last row in the chunks before.
            carried = frame["symbol"].map(previous_ts)
            previous = previous.fillna(carried)
        checks.append(
            _first(
                (frame["ts"] <= previous).fillna(False).to_numpy(),
                rows,
                "timestamps must be strictly increasing per symbol",
                show,
                "timestamp",
            )
        )
    broken = [v for v in checks if v is not None]
    if broken:
        first = min(broken, key=lambda v: v.row)
        named = raw.attrs.get("file_columns", {}).get(first.column, first.column)
        raise BarValidationError(
            source, first.rule, row=first.row, detail=first.detail, column=named
        )
    if previous_ts is not None:
        last = pd.Series(ts).groupby(symbol.to_numpy(object), sort=False).last()
        previous_ts.update({str(k): int(v) for k, v in last.items()})
    return pd.DataFrame(
        {
            "symbol": symbol.to_numpy(object),
            "ts": ts,
            "open": o,
            "high": h,
            "low": lo,
            "close": c,
            "volume": volume,
        }
    )
