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


class BarValidationError(ValueError):
    """A bar input broke a rule. ``row`` is the 1-based data row (header excluded)."""

    def __init__(self, source: str, rule: str, row: int | None = None, detail: str = "") -> None:
        self.source, self.rule, self.row, self.detail = source, rule, row, detail
        where = f"{source} row {row}" if row is not None else source
        super().__init__(f"{where}: {rule}" + (f" ({detail})" if detail else ""))


@dataclass(frozen=True)
class _Violation:
    row: int
    rule: str
    detail: str


def _first(mask: np.ndarray, rows: np.ndarray, rule: str, detail_of) -> _Violation | None:
    hits = np.flatnonzero(mask)
    if hits.size == 0:
        return None
    i = int(hits[0])
    return _Violation(int(rows[i]), rule, f"{detail_of(i)}; {hits.size} row(s) break this rule")


def validate_bars(raw: pd.DataFrame, source: str) -> pd.DataFrame:
    """Check raw bars (any dtypes, file order) and return clean ones: symbol, ts (UTC epoch
    seconds), open, high, low, close, volume. Raises :class:`BarValidationError` for the first
    row, in file order, that breaks a rule."""
    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    if missing:
        raise BarValidationError(
            source,
            f"missing required column(s): {', '.join(missing)}",
            detail=f"found: {', '.join(map(str, raw.columns))}",
        )
    if raw.empty:
        raise BarValidationError(source, "the file has no data rows")
    rows = np.arange(1, len(raw) + 1)
    symbol = raw["symbol"].astype("string").str.strip()
    if pd.api.types.is_datetime64_any_dtype(raw["timestamp"]):
        stamps = pd.to_datetime(raw["timestamp"], utc=True)
    else:
        stamps = pd.to_datetime(
            raw["timestamp"].astype("string"), utc=True, errors="coerce", format="ISO8601"
        )
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
            stamps.isna().to_numpy(),
            rows,
            "timestamp must be an ISO 8601 date-time (UTC if no offset)",
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
        ),
        _first(lo > np.minimum(o, c), rows, "low must be <= min(open, close)", show),
        _first(np.maximum(o, c) > h, rows, "high must be >= max(open, close)", show),
        _first(volume < 0, rows, "volume must be >= 0", show),
    ]
    ts = None
    if not stamps.isna().any():
        # Resolution-independent (pandas 3 may parse to s, ms, us or ns).
        ts = ((stamps - EPOCH) // pd.Timedelta(seconds=1)).to_numpy(np.int64)
    if ts is not None and not symbol.isna().any():
        frame = pd.DataFrame({"symbol": symbol.to_numpy(), "ts": ts})
        previous = frame.groupby("symbol", sort=False)["ts"].shift()
        checks.append(
            _first(
                (frame["ts"] <= previous).fillna(False).to_numpy(),
                rows,
                "timestamps must be strictly increasing per symbol",
                show,
            )
        )
    broken = [v for v in checks if v is not None]
    if broken:
        first = min(broken, key=lambda v: v.row)
        raise BarValidationError(source, first.rule, row=first.row, detail=first.detail)
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
