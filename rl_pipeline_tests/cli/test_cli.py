"""The ``rl-pipeline`` console script, as a user runs it."""

from __future__ import annotations

from pathlib import Path

from rl_pipeline.store.connection import open_store
from rl_pipeline_tests.support.cli import cli


def test_init_loads_default_data_once(db_path: Path) -> None:
    first = cli("init")
    assert first.returncode == 0, first.stderr
    assert "40320 bars (40320 loaded now)" in first.stdout
    second = cli("init")
    assert "40320 bars (0 loaded now)" in second.stdout
    conn = open_store(db_path)
    symbols = [r[0] for r in conn.execute("SELECT DISTINCT symbol FROM market_bars")]
    assert len(symbols) >= 4
    span = conn.execute("SELECT (MAX(ts) - MIN(ts)) / 86400.0 FROM market_bars").fetchone()[0]
    assert span >= 400


def test_import_bars_reports_the_rejected_row(tmp_path: Path, db_path: Path) -> None:
    bad = tmp_path / "mine.csv"
    bad.write_text(
        "symbol,timestamp,open,high,low,close,volume\n"
        "X,2025-01-01T00:00:00Z,1,2,0.5,1.5,10\n"
        "X,2025-01-01T01:00:00Z,1,2,0.5,1.5,-10\n"
    )
    done = cli("import-bars", str(bad))
    assert done.returncode == 1
    assert "rejected, nothing stored: mine.csv row 2: volume must be >= 0" in done.stderr
    assert open_store(db_path).execute("SELECT COUNT(*) FROM market_bars").fetchone()[0] == 0


def test_session_show_without_sessions_says_so() -> None:
    done = cli("session", "show")
    assert done.returncode == 1
    assert "no session has been run yet" in done.stderr
