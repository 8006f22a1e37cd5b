"""Importing the user's CSV and Parquet bars: valid files land whole, bad ones land nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from rl_pipeline.market.synthetic import generate_default_bars
from rl_pipeline.market.validation import BarValidationError
from rl_pipeline.market_data.importer import import_bar_file
from rl_pipeline.store.bars import count_bars, read_bars
from rl_pipeline.store.connection import transaction

HEADER = "symbol,timestamp,open,high,low,close,volume\n"
GOOD_ROWS = [
    "AAA,2025-01-01T00:00:00Z,10,11,9,10.5,100",
    "AAA,2025-01-01T01:00:00Z,10.5,11,10,10.8,120",
    "BBB,2025-01-01T00:00:00+02:00,5,5.5,4.5,5.2,50",
]


def write_csv(tmp_path: Path, rows: list[str], name: str = "bars.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "\n".join(rows) + "\n")
    return path


def test_good_csv_is_stored(conn: sqlite3.Connection, tmp_path: Path) -> None:
    result = import_bar_file(conn, write_csv(tmp_path, GOOD_ROWS))
    assert (result.rows, result.symbols) == (3, ("AAA", "BBB"))
    bars = read_bars(conn, ["AAA", "BBB"], 0)
    assert list(bars["ts"]) == [1735689600, 1735693200, 1735689600 - 7200]
    assert bars.loc[bars["symbol"] == "AAA", "close"].tolist() == [10.5, 10.8]


def test_read_bars_gives_every_bar_its_symbol_in_or_out_of_a_transaction(
    conn: sqlite3.Connection, tmp_path: Path
) -> None:
    # Symbols of different lengths, one outside the window: the symbol column is rebuilt from
    # per-symbol counts, so a misaligned count would hand bars to the wrong symbol.
    rows = [
        f"S{n},2025-01-0{d}T0{h}:00:00Z,{n + h},{n + h + 1},{n},{n + h},{h}"
        for n, d, h in [(1, 1, 0), (1, 1, 1), (22, 1, 0), (22, 2, 3), (22, 3, 4), (333, 2, 0)]
    ]
    import_bar_file(conn, write_csv(tmp_path, [*rows, "OLD,2020-01-01T00:00:00Z,1,1,1,1,1"]))
    since = 1735689600 + 3600  # 2025-01-01 01:00: S1's first bar and S22's first are out
    expected = conn.execute(
        "SELECT symbol, ts, open, high, low, close, volume FROM market_bars WHERE ts >= ? "
        "ORDER BY symbol, ts",
        (since,),
    ).fetchall()
    symbols = ["S333", "S1", "S22", "OLD"]
    outside = read_bars(conn, symbols, since)
    with transaction(conn):
        inside = read_bars(conn, symbols, since)
    for frame in (outside, inside):
        assert [tuple(r) for r in frame.itertuples(index=False)] == [tuple(r) for r in expected]
        assert frame["symbol"].dtype == object and frame["ts"].dtype == "int64"
    assert not conn.in_transaction
    empty = read_bars(conn, ["NONE"], 0)
    assert list(empty.columns) == list(outside.columns) and empty.empty


@pytest.mark.parametrize(
    ("bad_row", "rule"),
    [
        ("AAA,2025-01-01T02:00:00Z,10.8,10.7,10,10.2,100", "high must be >= max(open, close)"),
        ("AAA,2025-01-01T02:00:00Z,10.8,11,10.9,10.2,100", "low must be <= min(open, close)"),
        ("AAA,2025-01-01T02:00:00Z,-1,11,-2,10.2,100", "prices must be positive"),
        ("AAA,2025-01-01T02:00:00Z,10,11,9,10,-5", "volume must be >= 0"),
        ("AAA,2025-01-01T02:00:00Z,10,eleven,9,10,5", "high must be a finite number"),
        ("AAA,yesterday,10,11,9,10,5", "timestamp must be an ISO 8601 date-time"),
        ("AAA,2025-01-01T00:30:00Z,10,11,9,10,5", "timestamps must be strictly increasing"),
        (",2025-01-01T02:00:00Z,10,11,9,10,5", "symbol must be a non-empty string"),
    ],
)
def test_bad_csv_names_file_row_and_rule_and_stores_nothing(
    conn: sqlite3.Connection, tmp_path: Path, bad_row: str, rule: str
) -> None:
    before = count_bars(conn)
    path = write_csv(tmp_path, [*GOOD_ROWS[:2], bad_row, GOOD_ROWS[2]])
    with pytest.raises(BarValidationError) as error:
        import_bar_file(conn, path)
    assert error.value.row == 3
    assert str(error.value).startswith("bars.csv row 3: ")
    assert rule in str(error.value)
    assert count_bars(conn) == before


def test_missing_column_is_named(conn: sqlite3.Connection, tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("symbol,timestamp,open,high,low,volume\nAAA,2025-01-01T00:00:00Z,1,1,1,1\n")
    with pytest.raises(BarValidationError, match="short.csv: missing required column.*close"):
        import_bar_file(conn, path)
    assert count_bars(conn) == 0


def test_bad_paths_are_rejected(conn: sqlite3.Connection, tmp_path: Path) -> None:
    with pytest.raises(BarValidationError, match="file does not exist"):
        import_bar_file(conn, tmp_path / "nope.csv")
    with pytest.raises(BarValidationError, match="not a regular file"):
        import_bar_file(conn, tmp_path)
    text = tmp_path / "bars.txt"
    text.write_text(HEADER)
    with pytest.raises(BarValidationError, match="unsupported file type '.txt'"):
        import_bar_file(conn, text)


def test_parquet_import_round_trip(conn: sqlite3.Connection, tmp_path: Path) -> None:
    bars = generate_default_bars(symbols=("PQ",), days=2, seed=1)
    frame = bars.assign(timestamp=pd.to_datetime(bars["ts"], unit="s", utc=True))
    frame = frame[["symbol", "timestamp", "open", "high", "low", "close", "volume"]]
    path = tmp_path / "bars.parquet"
    import duckdb

    duckdb.from_df(frame).write_parquet(str(path))
    assert import_bar_file(conn, path).rows == 48
    stored = read_bars(conn, ["PQ"], 0)
    assert stored["ts"].tolist() == bars["ts"].tolist()
    assert stored["close"].tolist() == pytest.approx(bars["close"].tolist())
    # A bad Parquet row is rejected by row, too.
    frame.loc[5, "low"] = frame.loc[5, "high"] * 2
    duckdb.from_df(frame).write_parquet(str(path))
    with pytest.raises(BarValidationError, match="bars.parquet row 6: low must be"):
        import_bar_file(conn, path)
