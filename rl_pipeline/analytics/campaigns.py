"""Campaign learning curves for the notebook: the ``campaign_learning_curve`` DuckDB view over
the store's ``campaign_curve`` and ``campaign_sessions`` tables."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from rl_pipeline.analytics.duck import STORE, store_connection

LEARNING_CURVE_VIEW = f"""
CREATE OR REPLACE TEMP VIEW campaign_learning_curve AS
SELECT c.campaign_id, c.seq, s.session_id, s.test_start, s.test_end, c.strategy,
       c.session_pnl, c.cumulative_pnl, k.rule AS campaign_rule, k.status
FROM {STORE}.campaign_curve c
JOIN {STORE}.campaign_sessions s USING (campaign_id, seq)
JOIN {STORE}.campaigns k USING (campaign_id)
"""


def create_views(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(LEARNING_CURVE_VIEW)


def campaign_learning_curve(db_path: Path | str, campaign_id: str | None = None) -> pd.DataFrame:
    """Long format, one row per (session, strategy): ``campaign_id, seq, session_id,
    test_start, test_end, strategy, session_pnl, cumulative_pnl`` of a campaign (default: the
    latest completed one); empty when there is none."""
    with store_connection(db_path) as con:
        create_views(con)
        if campaign_id is None:
            row = con.execute(
                f"SELECT campaign_id FROM {STORE}.campaigns WHERE status = 'completed' "
                "ORDER BY created_at DESC, rowid DESC LIMIT 1"
            ).fetchone()
            if row is None:
                return pd.DataFrame(
                    columns=[
                        "campaign_id",
                        "seq",
                        "session_id",
                        "test_start",
                        "test_end",
                        "strategy",
                        "session_pnl",
                        "cumulative_pnl",
                    ]
                )
            campaign_id = row[0]
        return con.execute(
            "SELECT campaign_id, seq, session_id, test_start, test_end, strategy, session_pnl, "
            "cumulative_pnl FROM campaign_learning_curve WHERE campaign_id = ? "
            "ORDER BY seq, strategy",
            [campaign_id],
        ).df()
