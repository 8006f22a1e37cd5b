"""The self-contained HTML report of a session: written beside its artifacts when it completes,
offline (no network reference), with the charts, verdict, tournament, metrics and trades."""

from __future__ import annotations

import re
import sqlite3

from rl_pipeline.config import SessionConfig
from rl_pipeline.rl.rules import rule_names
from rl_pipeline.session import stages as stages
from rl_pipeline.store import results
from rl_pipeline_tests.support.cli import cli


def test_a_completed_session_has_an_offline_html_report(small_store: sqlite3.Connection) -> None:
    summary = stages.run_session(small_store, SessionConfig(test_period_days=10), publish=True)
    path = stages.session_report_path(summary.session_id)
    page = path.read_text(encoding="utf-8")
    assert path.parent == stages.session_artifacts_dir(summary.session_id)
    # Offline: no script and nothing fetched from anywhere; the charts are inline PNGs.
    assert "<script" not in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert len(re.findall(r'src="data:image/png;base64,', page)) == 3  # equity, drawdown, weights
    assert f"Session {summary.session_id}" in page
    verdict = summary.report["verdict"]["adaptive_minus_static"]
    assert f'<span class="{verdict["answer"]}">{verdict["answer"]}</span>' in page
    for name in rule_names():
        assert f"<td>{name}" in page
    trades = results.read_trades(small_store, summary.session_id)
    assert f"<h2>Trades ({len(trades)})</h2>" in page
    assert page.count("<tr>") >= len(trades)

    shown = cli("session", "report", summary.session_id)
    assert shown.returncode == 0 and shown.stdout.strip() == str(path)


def test_a_session_without_a_report_says_so(small_store: sqlite3.Connection) -> None:
    missing = cli("session", "report", "no-such-session")
    assert missing.returncode == 1 and "does not exist" in missing.stderr
