"""The user's market data: `data import|list|delete` (CLI and API), re-import semantics, CSV
dialects, rejections that leave the store unchanged, and an inbox that holds up."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from rl_pipeline.market.validation import BarValidationError
from rl_pipeline.market_data.data import import_market_data
from rl_pipeline.market_data.importer import import_bar_file, import_bar_files
from rl_pipeline.market_data.inbox import process_inbox
from rl_pipeline.store.bars import BarConflictError, read_bars
from rl_pipeline.store.connection import open_store
from rl_pipeline_tests.support.api_server import api_server
from rl_pipeline_tests.support.cli import cli
from rl_pipeline_tests.support.store_state import dump
from rl_pipeline_tests.support.user_files import write_daily_stock_csv

DAY = 86_400


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def store_dump(db_path: Path) -> str:
    """A dump through a connection of its own (another process writes between dumps)."""
    conn = open_store(db_path)
    try:
        return dump(conn)
    finally:
        conn.close()


def stored_bars(db_path: Path, symbol: str) -> pd.DataFrame:
    conn = open_store(db_path)
    try:
        return read_bars(conn, [symbol], 0)
    finally:
        conn.close()


def data_list(db_path: Path) -> list[dict]:
    done = cli("data", "list", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


# -- data import / list / delete through the CLI ----------------------------------------------


def test_import_list_reimport_conflict_replace_and_delete(db_path: Path, tmp_path: Path) -> None:
    assert cli("init", "--no-default-data").returncode == 0
    stock = write_daily_stock_csv(tmp_path / "ACME.csv", count=300)
    done = cli("data", "import", str(stock))
    assert done.returncode == 0, done.stderr
    assert "300 bars for ACME" in done.stdout
    [listed] = data_list(db_path)
    assert listed["symbol"] == "ACME" and listed["rows"] == 300
    assert (listed["interval"], listed["calendar"]) == ("1d", "exchange")
    assert listed["first_bar"].startswith("2022-01-03")
    assert listed["source"] == "file:ACME.csv"
    shown = cli("data", "list")
    assert "ACME" in shown.stdout and "1d" in shown.stdout and "exchange" in shown.stdout

    # The same file again: a no-op, the store byte for byte the same.
    before, digest = store_dump(db_path), file_digest(db_path)
    again = cli("data", "import", str(stock))
    assert again.returncode == 0, again.stderr
    assert "0 bars written, 300 already stored unchanged" in again.stdout
    assert store_dump(db_path) == before

    # One changed close at an existing date: rejected, naming it, nothing changed.
    frame = pd.read_csv(stock)
    old_close = float(frame.loc[10, "Close"])
    frame.loc[10, "Close"] = round(old_close * 1.01, 4)
    frame.loc[10, "High"] = max(frame.loc[10, "High"], frame.loc[10, "Close"])
    changed = tmp_path / "changed" / "ACME.csv"
    changed.parent.mkdir()
    frame.to_csv(changed, index=False)
    refused = cli("data", "import", str(changed))
    assert refused.returncode != 0
    when = frame.loc[10, "Date"]
    assert f"ACME {when}T00:00:00+00:00" in refused.stderr
    assert f"close: stored {old_close!r}, file {float(frame.loc[10, 'Close'])!r}" in refused.stderr
    assert store_dump(db_path) == before
    assert file_digest(db_path) == digest

    # --replace applies it, in the file's range.
    replaced = cli("data", "import", "--replace", str(changed))
    assert replaced.returncode == 0, replaced.stderr
    bars = stored_bars(db_path, "ACME")
    assert bars["close"].iloc[10] == pytest.approx(frame.loc[10, "Close"])
    assert len(bars) == 300

    # delete removes exactly the named range (inclusive).
    first, last = frame.loc[100, "Date"], frame.loc[109, "Date"]
    deleted = cli("data", "delete", "ACME", "--from", first, "--to", last)
    assert deleted.returncode == 0, deleted.stderr
    assert "10 bars deleted" in deleted.stdout
    left = stored_bars(db_path, "ACME")
    gone = set(bars["ts"]) - set(left["ts"])
    assert len(left) == 290
    assert sorted(gone) == bars["ts"].iloc[100:110].tolist()
    unknown = cli("data", "delete", "NOPE")
    assert unknown.returncode != 0 and "no bars stored for symbol 'NOPE'" in unknown.stderr
    everything = cli("data", "delete", "ACME")
    assert everything.returncode == 0 and data_list(db_path) == []


def test_import_bars_is_an_alias_and_takes_a_directory_and_a_glob(
    db_path: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    write_daily_stock_csv(folder / "AAA.csv", count=30, seed=1)
    write_daily_stock_csv(folder / "BBB.csv", count=30, seed=2)
    done = cli("import-bars", str(folder))
    assert done.returncode == 0, done.stderr
    assert [r["symbol"] for r in data_list(db_path)] == ["AAA", "BBB"]
    write_daily_stock_csv(folder / "CCC.csv", count=30, seed=3)
    done = cli("data", "import", str(folder / "C*.csv"))
    assert done.returncode == 0, done.stderr
    assert [r["rows"] for r in data_list(db_path)] == [30, 30, 30]
    none = cli("data", "import", str(folder / "Z*.csv"))
    assert none.returncode != 0 and "no file matches this pattern" in none.stderr


def test_one_import_checks_duplicates_across_its_files(
    conn: sqlite3.Connection, tmp_path: Path
) -> None:
    write_daily_stock_csv(tmp_path / "a.csv", count=20, seed=1)
    write_daily_stock_csv(tmp_path / "b.csv", count=20, seed=2)
    # Both files hold symbol X on the same days.
    with pytest.raises(BarValidationError, match=r"a.csv \+ b.csv: X 2022-01-03") as error:
        import_bar_files(conn, [str(tmp_path / "a.csv"), str(tmp_path / "b.csv")], symbol="X")
    assert "20 bar(s) are in two files" in str(error.value)
    assert conn.execute("SELECT COUNT(*) FROM market_bars").fetchone()[0] == 0


def test_a_bad_file_among_good_ones_stores_nothing(
    conn: sqlite3.Connection, tmp_path: Path
) -> None:
    write_daily_stock_csv(tmp_path / "GOOD.csv", count=20)
    (tmp_path / "BAD.csv").write_text("Date,Open,High,Low,Close\n2024-01-02,1,2,0.5,3\n")
    before = dump(conn)
    with pytest.raises(BarValidationError, match="BAD.csv row 1: high must be >= max"):
        import_bar_files(conn, [str(tmp_path / "GOOD.csv"), str(tmp_path / "BAD.csv")])
    assert dump(conn) == before


# -- the API ----------------------------------------------------------------------------------


def test_the_api_lists_imports_and_deletes(tmp_path: Path) -> None:
    data = tmp_path / "api-data"
    (data / "import").mkdir(parents=True)
    open_store(data / "rl_pipeline.sqlite").close()
    stock = write_daily_stock_csv(data / "import" / "ACME.csv", count=50)
    outside = write_daily_stock_csv(tmp_path / "OUT.csv", count=5)
    with api_server(data) as server:
        assert server.call("GET", "/api/data").body == []
        # The API reads only files inside its import folder.
        for path in (str(outside), "../../OUT.csv", str(tmp_path / "*.csv")):
            refused = server.call("POST", "/api/data/import", {"paths": [path]})
            assert refused.status == 422 and "outside the import folder" in str(refused.body)
        done = server.call("POST", "/api/data/import", {"paths": ["ACME.csv"]})
        assert done.status == 200, done
        assert done.body["inserted_rows"] == 50
        again = server.call("POST", "/api/data/import", {"paths": [str(stock)]})
        assert (again.body["inserted_rows"], again.body["unchanged_rows"]) == (0, 50)
        [listed] = server.call("GET", "/api/data").body
        assert (listed["symbol"], listed["interval"], listed["rows"]) == ("ACME", "1d", 50)

        frame = pd.read_csv(stock)
        frame.loc[3, "Open"] = frame.loc[3, "Low"]
        changed = data / "import" / "other" / "ACME.csv"
        changed.parent.mkdir()
        frame.to_csv(changed, index=False)
        before = store_dump(server.db)
        conflict = server.call("POST", "/api/data/import", {"paths": [str(changed)]})
        assert conflict.status == 409 and "ACME 2022-01-06" in conflict.body["detail"]
        missing = server.call("POST", "/api/data/import", {"paths": ["no.csv"]})
        assert missing.status == 422 and "file does not exist" in str(missing.body)
        nul = server.call("POST", "/api/data/import", {"paths": ["ACME\u0000.csv"]})
        assert nul.status == 422 and "cannot contain a NUL character" in str(nul.body)
        bad_bound = server.call("DELETE", "/api/data/ACME?from=yesterday")
        assert bad_bound.status == 422
        assert store_dump(server.db) == before
        replaced = server.call(
            "POST", "/api/data/import", {"paths": [str(changed)], "replace": True}
        )
        assert replaced.status == 200 and replaced.body["replaced_rows"] == 50
        gone = server.call("DELETE", "/api/data/ACME?from=2022-01-10&to=2022-01-14")
        assert gone.body == {"symbol": "ACME", "deleted_rows": 5}
        assert server.call("DELETE", "/api/data/NOPE").status == 404


# -- CSV dialects -----------------------------------------------------------------------------

REFERENCE = [
    ("2024-01-02T00:00:00Z", 10.0, 11.0, 9.0, 10.5, 100.0),
    ("2024-01-03T00:00:00Z", 10.5, 11.5, 10.0, 11.0, 120.0),
    ("2024-01-04T00:00:00Z", 11.0, 12.0, 10.5, 11.5, 90.0),
]


def reference_bars() -> pd.DataFrame:
    stamps = pd.to_datetime([r[0] for r in REFERENCE], utc=True)
    return pd.DataFrame(
        {
            "ts": (stamps - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1),
            **{
                c: [r[i + 1] for r in REFERENCE]
                for i, c in enumerate(("open", "high", "low", "close", "volume"))
            },
        }
    )


def lines(header: list[str], times: list[str], sep: str = ",") -> list[str]:
    out = [sep.join(header)]
    for (_, *values), when in zip(REFERENCE, times, strict=True):
        out.append(sep.join([when, *(f"{v:g}" for v in values)]))
    return out


ISO = [r[0] for r in REFERENCE]
DATES = ["2024-01-02", "2024-01-03", "2024-01-04"]
OFFSET = ["2024-01-02T02:00:00+02:00", "2024-01-02T19:00:00-05:00", "2024-01-04 01:00:00+01:00"]
STD = ["Date", "Open", "High", "Low", "Close", "Volume"]
DIALECTS = {
    "utf8 BOM": ("\ufeff" + "\n".join(lines(STD, DATES)) + "\n").encode(),
    "CRLF": ("\r\n".join(lines(STD, DATES)) + "\r\n").encode(),
    "mixed line endings": (
        "\r\n".join(lines(STD, DATES)[:2]) + "\n" + "\n".join(lines(STD, DATES)[2:]) + "\r\n"
    ).encode(),
    "semicolon": ("\n".join(lines(STD, DATES, ";")) + "\n").encode(),
    "tab": ("\n".join(lines(STD, DATES, "\t")) + "\n").encode(),
    "Datetime, upper case": (
        "\n".join(lines(["DATETIME", "OPEN", "HIGH", "LOW", "CLOSE", "VOLUME"], ISO)) + "\n"
    ).encode(),
    "timestamp, lower case": (
        "\n".join(lines(["timestamp", "open", "high", "low", "close", "volume"], ISO)) + "\n"
    ).encode(),
    "timezone-aware": ("\n".join(lines(STD, OFFSET)) + "\n").encode(),
}


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_csv_dialects_are_read(conn: sqlite3.Connection, tmp_path: Path, dialect: str) -> None:
    path = tmp_path / "DIA.csv"
    path.write_bytes(DIALECTS[dialect])
    result = import_bar_file(conn, path)
    assert result.symbols == ("DIA",)
    stored = read_bars(conn, ["DIA"], 0).drop(columns="symbol")
    expected = reference_bars()
    if dialect == "timezone-aware":
        expected["ts"] = [
            int(pd.Timestamp(t).tz_convert("UTC").timestamp()) for t in OFFSET
        ]  # the offset is honoured
    pd.testing.assert_frame_equal(stored, expected, check_dtype=False)


def test_adj_close_is_ignored_and_a_symbol_column_is_used(
    conn: sqlite3.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "ignored-name.csv"
    path.write_text(
        "Ticker,Date,Open,High,Low,Close,Adj Close,Volume\n"
        "ZZ,2024-01-02,10,11,9,10.5,3.2,100\nZZ,2024-01-03,10.5,11.5,10,11,3.3,120\n"
    )
    assert import_bar_file(conn, path).symbols == ("ZZ",)
    assert read_bars(conn, ["ZZ"], 0)["close"].tolist() == [10.5, 11.0]


REJECTIONS = {
    "no delimiter": (b"DateOpenHighLowClose\n2024\n", "cannot tell the delimiter", None),
    "not UTF-8": (
        "Date,Open,High,Low,Close\n2024-01-02,1,1,1,1\n".encode("utf-16"),
        "not UTF-8 text",
        None,
    ),
    "ragged row": (
        b"Date,Open,High,Low,Close\n2024-01-02,1,1,1,1\n2024-01-03,1,1,1,1,1,1\n",
        "malformed CSV",
        None,
    ),
    "two date columns": (
        b"Date,Datetime,Open,High,Low,Close\n2024-01-02,2024-01-02,1,1,1,1\n",
        "columns 'Date' and 'Datetime' both name the timestamp",
        None,
    ),
    "no close": (b"Date,Open,High,Low\n2024-01-02,1,1,1\n", "missing required column", None),
    "empty file": (b"", "the file is empty", None),
    "header only": (b"Date,Open,High,Low,Close\n", "no data rows", None),
    "not a number": (
        b"Date,Open,High,Low,Close\n2024-01-02,1,1,1,1\n2024-01-03,1,x,1,1\n",
        "row 2: high must be a finite number",
        "High",
    ),
    "not a date": (
        b"Date,Open,High,Low,Close\n2024-01-02,1,1,1,1\n03/01/2024,1,1,1,1\n",
        "row 2: timestamp must be an ISO 8601 date-time",
        "Date",
    ),
    "year 9999": (
        b"Date,Open,High,Low,Close\n2024-01-02,1,1,1,1\n9999-12-31,1,1,1,1\n",
        "row 2: timestamp must lie from 1678 to 2261",
        "Date",
    ),
    "year 1600": (
        b"Date,Open,High,Low,Close\n1600-01-03,1,1,1,1\n",
        "row 1: timestamp must lie from 1678 to 2261",
        "Date",
    ),
    "year 2262": (
        b"Date,Open,High,Low,Close\n2024-01-02,1,1,1,1\n2262-06-01,1,1,1,1\n",
        "row 2: timestamp must lie from 1678 to 2261",
        "Date",
    ),
    "not increasing": (
        b"Date,Open,High,Low,Close\n2024-01-03,1,1,1,1\n2024-01-02,1,1,1,1\n",
        "row 2: timestamps must be strictly increasing per symbol",
        "Date",
    ),
}


@pytest.mark.parametrize("case", sorted(REJECTIONS))
def test_rejections_name_file_row_column_and_rule_and_change_nothing(
    conn: sqlite3.Connection, tmp_path: Path, case: str
) -> None:
    write_daily_stock_csv(tmp_path / "KEEP.csv", count=10)
    import_bar_file(conn, tmp_path / "KEEP.csv")
    content, rule, column = REJECTIONS[case]
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    before = dump(conn)
    with pytest.raises(BarValidationError) as error:
        import_bar_file(conn, path)
    message = str(error.value)
    assert message.startswith("bad.csv"), message
    assert rule in message
    if column:
        assert f"[column {column!r}]" in message
    assert dump(conn) == before


def test_a_stored_bar_conflict_names_both_values(conn: sqlite3.Connection, tmp_path: Path) -> None:
    path = tmp_path / "C.csv"
    path.write_text("Date,Open,High,Low,Close,Volume\n2024-01-02,10,11,9,10.5,100\n")
    import_bar_file(conn, path)
    path.write_text("Date,Open,High,Low,Close,Volume\n2024-01-02,10,11,9,10.5,250\n")
    before = dump(conn)
    with pytest.raises(BarConflictError, match=r"volume: stored 100.0, file 250.0"):
        import_bar_file(conn, path)
    assert dump(conn) == before


# -- the inbox --------------------------------------------------------------------------------


def test_inbox_rejects_a_year_9999_file_by_name_and_imports_the_good_one(
    conn: sqlite3.Connection, tmp_path: Path
) -> None:
    inbox = tmp_path / "incoming"
    inbox.mkdir()
    (inbox / "a_far_future.csv").write_text(
        "symbol,timestamp,open,high,low,close,volume\nFF,9999-01-01T00:00:00Z,1,1,1,1,1\n"
    )
    write_daily_stock_csv(inbox / "b_good.csv", count=20)
    outcome = process_inbox(conn, inbox)
    assert outcome.imported == ["b_good.csv (20 bars)"]
    assert list(outcome.rejected) == ["a_far_future.csv"]
    assert "row 1: timestamp must lie from 1678 to 2261" in outcome.rejected["a_far_future.csv"]
    assert (inbox / "rejected" / "a_far_future.csv").exists()
    reason = (inbox / "rejected" / "a_far_future.csv.error.txt").read_text()
    assert "9999" in reason
    assert (inbox / "imported" / "b_good.csv").exists()
    assert len(read_bars(conn, ["b_good"], 0)) == 20


def test_the_api_import_folder_is_checked_before_anything_is_read(
    conn: sqlite3.Connection, tmp_path: Path
) -> None:
    root = tmp_path / "import"
    root.mkdir()
    (root / "link.csv").symlink_to(write_daily_stock_csv(tmp_path / "REAL.csv", count=5))
    for item in ("../missing.csv", str(tmp_path / "missing.csv"), "link.csv", "../*.csv"):
        with pytest.raises(BarValidationError, match="outside the import folder"):
            import_market_data(conn, [item], confine_to=root)
    assert conn.execute("SELECT COUNT(*) FROM market_bars").fetchone()[0] == 0
