"""DuckDB analytics over the SQLite store equal the same figures computed here from the raw rows
(sqlite3 + pandas + numpy)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

from rl_pipeline.analytics.duck import store_connection
from rl_pipeline.analytics.evolution import equity_curves, session_list, weight_evolution
from rl_pipeline.analytics.performance import model_performance
from rl_pipeline.analytics.trades import InvalidFilterError, trade_analysis
from rl_pipeline.store.connection import open_store
from rl_pipeline.timestamps import iso_z
from rl_pipeline_tests.support.analytics_store import assert_close, dump, make_session_store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    return make_session_store(tmp_path_factory.mktemp("analytics"))


def raw(db: Path, sql: str, params: tuple = ()) -> pd.DataFrame:
    conn = sqlite3.connect(db)
    try:
        return pd.read_sql_query(sql, conn, params=params)
    finally:
        conn.close()


def raw_trades(db: Path) -> pd.DataFrame:
    frame = raw(db, "SELECT * FROM trade_results")
    frame["entry_ts"] = pd.to_datetime(frame["entry_time"])
    starts = raw(db, "SELECT session_id, start_time FROM reinforcement_sessions")
    return frame.merge(starts, on="session_id", how="left")


SAME_TRADE = ["ai_model_id", "symbol", "direction", "entry_time", "exit_time"]


def distinct(frame: pd.DataFrame) -> pd.DataFrame:
    """Each trade once: the copy of the latest-started session (ties: the larger id)."""
    latest_first = frame.sort_values(["start_time", "session_id"], ascending=False)
    return latest_first.drop_duplicates(SAME_TRADE, keep="first").sort_index()


def figures(part: pd.DataFrame) -> dict[str, Any]:
    n = len(part)
    wins = int((part["pnl"] > 0).sum())
    return {
        "trades": n,
        "wins": wins,
        "losses": int((part["pnl"] < 0).sum()),
        "win_rate": wins / n if n else 0.0,
        "total_pnl": float(part["pnl"].sum()),
        "avg_pnl": float(part["pnl"].mean()) if n else 0.0,
        "avg_pnl_percent": float(part["pnl_percent"].mean()) if n else 0.0,
    }


def grouped(frame: pd.DataFrame, key: pd.Series) -> list[dict[str, Any]]:
    return [{"key": k, **figures(part)} for k, part in frame.groupby(key, sort=True)]


def expected_analysis(selected: pd.DataFrame, top_n: int = 5) -> dict[str, Any]:
    frame = distinct(selected)
    pnl = frame["pnl"].to_numpy()
    summary = {**figures(frame), "sessions": int(selected["session_id"].nunique())}
    if len(pnl):
        quantiles = {
            "min": float(pnl.min()),
            **{f"p{round(q * 100):02d}": float(np.quantile(pnl, q)) for q in (0.05, 0.25, 0.5)},
            **{f"p{round(q * 100):02d}": float(np.quantile(pnl, q)) for q in (0.75, 0.95)},
            "max": float(pnl.max()),
            "mean": float(pnl.mean()),
            "std": float(np.std(pnl, ddof=1)) if len(pnl) > 1 else None,
        }
        counts, edges = np.histogram(pnl, bins=10)
        histogram = [
            {"lower": float(edges[i]), "upper": float(edges[i + 1]), "count": int(counts[i])}
            for i in range(10)
        ]
    else:
        quantiles = dict.fromkeys(("min", "p05", "p25", "p50", "p75", "p95", "max", "mean", "std"))
        histogram = []
    ranked = frame.sort_values(["pnl", "trade_id"], ascending=[False, True])
    worst = frame.sort_values(["pnl", "trade_id"], ascending=[True, True])
    return {
        "summary": summary,
        "by_model": grouped(frame, frame["ai_model_id"]),
        "by_symbol": grouped(frame, frame["symbol"]),
        "by_direction": grouped(frame, frame["direction"]),
        "by_hour": grouped(frame, frame["entry_ts"].dt.hour),
        "pnl_distribution": {"quantiles": quantiles, "histogram": histogram},
        "best_trades": list(ranked["trade_id"].head(top_n)),
        "worst_trades": list(worst["trade_id"].head(top_n)),
        "coverage": {
            "sessions": sorted(selected["session_id"].unique()),
            "stored_trades": len(selected),
            "distinct_trades": len(frame),
            "duplicates_counted_once": len(selected) - len(frame),
        },
    }


def comparable(result: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in result.items() if k != "filters"}
    out["coverage"] = {k: v for k, v in result["coverage"].items() if k != "rule"}
    out["best_trades"] = [t["trade_id"] for t in result["best_trades"]]
    out["worst_trades"] = [t["trade_id"] for t in result["worst_trades"]]
    return out


def test_all_trades_equal_the_figures_from_raw_rows(store: tuple[Path, list[str]]) -> None:
    db, _ = store
    frame = raw_trades(db)
    assert len(frame) > 50 and frame["ai_model_id"].nunique() >= 2
    result = trade_analysis(db)
    # The two sessions test overlapping windows of the same bars: some trades are stored twice.
    assert result["coverage"]["duplicates_counted_once"] > 0
    assert_close(comparable(result), expected_analysis(frame))
    assert result["filters"] == dict.fromkeys(("session_id", "model_id", "symbol", "start", "end"))


def test_best_trade_rows_carry_the_stored_values(store: tuple[Path, list[str]]) -> None:
    db, _ = store
    frame = raw_trades(db).set_index("trade_id")
    best = trade_analysis(db, top_n=3)["best_trades"]
    assert len(best) == 3
    for trade in best:
        row = frame.loc[trade["trade_id"]]
        assert trade["pnl"] == row["pnl"] and trade["model_id"] == row["ai_model_id"]
        # The store keeps SQLite's format; results show ISO 8601 with Z.
        assert (trade["entry_time"], trade["exit_time"]) == (
            iso_z(row["entry_time"]),
            iso_z(row["exit_time"]),
        )
        assert trade["symbol"] == row["symbol"] and trade["direction"] == row["direction"]


@pytest.mark.parametrize(
    "filters",
    [
        {"session": 0},
        {"session": 1, "model_id": "lgbm_ai"},
        {"symbol": "BBB"},
        {"model_id": "trading_ai", "symbol": "AAA"},
        {"start": "middle"},
        {"start": "first", "end": "middle"},
        {"start": "middle+02:00"},
    ],
)
def test_filters_select_the_same_trades_as_pandas(
    store: tuple[Path, list[str]], filters: dict[str, Any]
) -> None:
    db, ids = store
    frame = raw_trades(db)
    times = frame["entry_ts"].sort_values().reset_index(drop=True)
    middle = times.iloc[len(times) // 2]
    named = {"first": times.iloc[0], "middle": middle}
    kwargs: dict[str, Any] = {}
    mask = pd.Series(True, index=frame.index)
    if "session" in filters:
        kwargs["session_id"] = ids[filters["session"]]
        mask &= frame["session_id"] == kwargs["session_id"]
    for key, column in (("model_id", "ai_model_id"), ("symbol", "symbol")):
        if key in filters:
            kwargs[key] = filters[key]
            mask &= frame[column] == filters[key]
    for key in ("start", "end"):
        if key in filters:
            name, _, offset = filters[key].partition("+")
            moment = named[name]
            if offset:  # the same moment written in another zone: filters work in UTC
                zone = pd.Timedelta(hours=int(offset[:2]))
                kwargs[key] = (moment + zone).isoformat() + f"+{offset}"
            else:
                kwargs[key] = moment.to_pydatetime()
            mask &= (
                (frame["entry_ts"] >= moment) if key == "start" else (frame["entry_ts"] < moment)
            )
    selected = frame[mask]
    assert 0 < len(selected) < len(frame)
    result = trade_analysis(db, **kwargs)
    assert_close(comparable(result), expected_analysis(selected))


def test_no_matching_trade_gives_zeros_and_an_empty_distribution(
    store: tuple[Path, list[str]],
) -> None:
    db, _ = store
    result = trade_analysis(db, symbol="NONE")
    assert_close(comparable(result), expected_analysis(raw_trades(db).iloc[0:0]))


def test_bad_filters_are_refused(store: tuple[Path, list[str]]) -> None:
    db, _ = store
    with pytest.raises(LookupError, match="does not exist"):
        trade_analysis(db, session_id="no-such-session")
    with pytest.raises(InvalidFilterError, match="end must be after start") as caught:
        trade_analysis(db, start="2025-02-01", end="2025-01-01")
    assert caught.value.field == "end"
    with pytest.raises(InvalidFilterError, match="not an ISO 8601 time"):
        trade_analysis(db, start="yesterday")


def test_model_performance_is_the_latest_sessions_metrics(store: tuple[Path, list[str]]) -> None:
    db, ids = store
    rows = model_performance(db)
    metrics = raw(db, "SELECT * FROM performance_metrics WHERE session_id = ?", (ids[-1],))
    models = raw(db, "SELECT model_id, model_name, current_weight, is_active FROM ai_models")
    counted = distinct(raw_trades(db))  # every session of the fixture is completed
    assert [r["model_id"] for r in rows] == list(models["model_id"])
    for row in rows:
        m = metrics.set_index("model_id").loc[row["model_id"]]
        live = models.set_index("model_id").loc[row["model_id"]]
        mine = counted[counted["ai_model_id"] == row["model_id"]]
        trades = len(mine)
        sharpe = None if pd.isna(m["sharpe_ratio"]) else float(m["sharpe_ratio"])
        assert_close(
            row,
            {
                "model_id": row["model_id"],
                "model_name": live["model_name"],
                "session_id": ids[-1],
                "win_rate": float(m["win_rate"]),
                "total_pnl": float(m["total_pnl"]),
                "avg_trade_pnl": float(m["avg_trade_pnl"]),
                "sharpe_ratio": sharpe,
                "max_drawdown": float(m["max_drawdown"]),
                "total_trades": int(m["total_trades"]),
                "calculated_at": iso_z(m["calculated_at"]),
                "current_weight": float(live["current_weight"]),
                "is_active": bool(live["is_active"]),
                "sessions_completed": len(ids),
                "lifetime_trades": trades,
                "lifetime_win_rate": float((mine["pnl"] > 0).sum() / trades) if trades else 0.0,
                "lifetime_pnl": float(mine["pnl"].sum()),
            },
        )
    # The per-session metrics agree with the trades themselves.
    trades = raw_trades(db)
    for row in rows:
        mine = trades[
            (trades["session_id"] == ids[-1]) & (trades["ai_model_id"] == row["model_id"])
        ]
        assert row["total_trades"] == len(mine)
        assert row["total_pnl"] == pytest.approx(mine["pnl"].sum(), rel=1e-9, abs=1e-9)


def test_model_performance_of_a_chosen_session_and_of_none(
    store: tuple[Path, list[str]], tmp_path: Path
) -> None:
    db, ids = store
    assert {r["session_id"] for r in model_performance(db, ids[0])} == {ids[0]}
    with pytest.raises(LookupError):
        model_performance(db, "no-such-session")
    empty = tmp_path / "empty.sqlite"
    open_store(empty).close()
    assert model_performance(empty) == []
    assert weight_evolution(empty).empty and equity_curves(empty).empty
    with pytest.raises(FileNotFoundError):
        model_performance(tmp_path / "missing.sqlite")


def test_weight_evolution_rebuilds_every_vector_from_the_history(
    store: tuple[Path, list[str]],
) -> None:
    db, ids = store
    for session_id in ids:
        history = raw(db, "SELECT * FROM model_weight_history WHERE session_id = ?", (session_id,))
        history["seq"] = history["trade_context"].map(lambda c: json.loads(c)["seq"])
        wide = history.pivot_table(index="seq", columns="model_id", values="new_weight").ffill()
        got = weight_evolution(db, session_id)
        got_wide = got.pivot(index="seq", columns="model_id", values="weight")
        pd.testing.assert_frame_equal(got_wide, wide, check_names=False, check_dtype=False)
        assert len(got) == wide.size
        # The last vector is the session's final one (sums to 1 over the models).
        assert got_wide.iloc[-1].sum() == pytest.approx(1.0, abs=1e-9)
    latest = weight_evolution(db)
    live = raw(db, "SELECT model_id, current_weight FROM ai_models").set_index("model_id")
    final = latest[latest["seq"] == latest["seq"].max()].set_index("model_id")["weight"]
    for model_id, weight in final.items():
        assert weight == pytest.approx(live.loc[model_id, "current_weight"], abs=1e-12)


def test_equity_curves_are_capital_plus_cumulative_pnl(store: tuple[Path, list[str]]) -> None:
    db, ids = store
    trades = raw_trades(db)
    mine = trades[trades["session_id"] == ids[-1]].sort_values(
        ["ai_model_id", "exit_time", "entry_time", "trade_id"]
    )
    expected = 100_000.0 + mine.groupby("ai_model_id")["pnl"].cumsum()
    curves = equity_curves(db)
    assert list(curves["trade_id"]) == list(mine["trade_id"])
    np.testing.assert_allclose(curves["equity"].to_numpy(), expected.to_numpy(), rtol=1e-12)
    sessions = session_list(db)
    assert list(sessions["session_id"]) == list(reversed(ids))
    assert list(sessions["trades"]) == [int((trades["session_id"] == s).sum()) for s in ids[::-1]]


def test_analytics_read_the_store_in_place_and_never_write(store: tuple[Path, list[str]]) -> None:
    db, ids = store
    before = dump(db)
    trade_analysis(db, session_id=ids[0])
    model_performance(db)
    weight_evolution(db)
    with store_connection(db) as con, pytest.raises(duckdb.Error, match="read-only|read only"):
        con.execute("DELETE FROM store.trade_results")
    assert dump(db) == before
    # A row written after the connection helper was built is seen: no copy that can drift.
    conn = open_store(db)
    try:
        conn.execute("UPDATE ai_models SET model_name = 'Renamed' WHERE model_id = 'lava_ai'")
        names = {r["model_id"]: r["model_name"] for r in model_performance(db)}
        assert names["lava_ai"] == "Renamed"
    finally:
        conn.execute("UPDATE ai_models SET model_name = 'LavaAI' WHERE model_id = 'lava_ai'")
        conn.close()


def test_a_filter_before_year_1000_is_echoed_in_iso_8601(store: tuple[Path, list[str]]) -> None:
    """Found by the API fuzzer: strftime wrote the year 0999 as '999', which is not ISO 8601."""
    db, _ = store
    result = trade_analysis(db, end="0999-01-01T00:00:00Z")
    assert result["filters"]["end"] == "0999-01-01T00:00:00Z"
    assert result["summary"]["trades"] == 0
