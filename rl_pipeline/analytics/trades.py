"""Trade analysis: results by model, symbol, direction and hour of day, the PnL distribution and
the best and worst trades, over the trades that match the filters."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb

from rl_pipeline.analytics.duck import STORE, fetch_dicts, require_session, store_connection
from rl_pipeline.timestamps import ISO_Z_FORMAT, iso_z

TIME_FORMAT = ISO_Z_FORMAT  # how results show times (the store keeps SQLite's own format)
HISTOGRAM_BINS = 10
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
GROUPINGS = {  # result key -> grouping expression over the filtered trades
    "by_model": "ai_model_id",
    "by_symbol": "symbol",
    "by_direction": "direction",
    "by_hour": "hour(entry_time)",
}


class InvalidFilterError(ValueError):
    """A filter value that cannot be used; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field

    def __reduce__(self) -> tuple:
        # Raised in the analytics worker process and pickled back to the API.
        return (type(self), (self.field, str(self)))


@dataclass(frozen=True)
class TradeFilters:
    """Which trades to analyse; None means no filter. The time range applies to ``entry_time``
    (UTC): ``start`` inclusive, ``end`` exclusive."""

    session_id: str | None = None
    model_id: str | None = None
    symbol: str | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (
            ("session_id", self.session_id),
            ("ai_model_id", self.model_id),
            ("symbol", self.symbol),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if self.start is not None:
            clauses.append("entry_time >= ?")
            params.append(self.start)
        if self.end is not None:
            clauses.append("entry_time < ?")
            params.append(self.end)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("start", "end"):
            if out[key] is not None:
                # Not strftime: it drops the zeros of years before 1000 (0999 -> 999).
                out[key] = iso_z(out[key].isoformat(timespec="seconds"))
        return out


def utc_naive(field: str, value: dt.datetime | str | None) -> dt.datetime | None:
    """A filter time as naive UTC (how the store keeps times); ISO strings are accepted."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError as exc:
            raise InvalidFilterError(field, f"{field}: not an ISO 8601 time: {value!r}") from exc
    if value.tzinfo is not None:
        try:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        except OverflowError as exc:  # e.g. 0001-01-01T00:00+01:00 is before year 1 in UTC
            raise InvalidFilterError(field, f"{field}: out of range in UTC: {value}") from exc
    return value


def trade_analysis(
    db_path: Path | str,
    *,
    session_id: str | None = None,
    model_id: str | None = None,
    symbol: str | None = None,
    start: dt.datetime | str | None = None,
    end: dt.datetime | str | None = None,
    top_n: int = 5,
    include_unfinished: bool = False,
) -> dict[str, Any]:
    """Analyse the trades matching the filters (all trades by default). Only trades of
    completed sessions count, unless ``include_unfinished`` or one ``session_id`` is asked for
    (a running session's trades so far, or what a failed one left: nothing).

    Raises ``LookupError`` for an unknown ``session_id`` and ``InvalidFilterError`` for a bad
    time range.
    """
    filters = TradeFilters(
        session_id, model_id, symbol, utc_naive("start", start), utc_naive("end", end)
    )
    if filters.start and filters.end and filters.start >= filters.end:
        raise InvalidFilterError("end", "end must be after start")
    if top_n < 0:
        raise InvalidFilterError("top_n", "top_n must be >= 0")
    with store_connection(db_path) as con:
        if session_id is not None:
            require_session(con, session_id)
        where, params = filters.where()
        if session_id is None and not include_unfinished:
            where = (where + " AND " if where else " WHERE ") + (
                f"session_id IN (SELECT session_id FROM {STORE}.reinforcement_sessions "
                "WHERE status = 'completed')"
            )
        # One scan of the SQLite table; every figure below comes from this in-memory copy.
        # Across sessions each distinct trade counts once (see ``distinct_trades``).
        con.execute(
            f"CREATE TEMP TABLE t AS {distinct_trades(where)}",
            params,
        )
        coverage = _coverage(con, where, params)
        result: dict[str, Any] = {
            "filters": filters.as_json(),
            "summary": {**_summary(con), "sessions": len(coverage["sessions"])},
            "coverage": coverage,
        }
        for key, expression in GROUPINGS.items():
            result[key] = _grouped(con, expression)
        result["pnl_distribution"] = {
            "quantiles": _quantiles(con),
            "histogram": _histogram(con, HISTOGRAM_BINS),
        }
        result["best_trades"] = _ranked(con, "DESC", top_n)
        result["worst_trades"] = _ranked(con, "ASC", top_n)
        return result


TRADE_COLUMNS = (
    "trade_id, session_id, symbol, entry_time, exit_time, entry_price, exit_price, direction, "
    "pnl, pnl_percent, confidence, ai_model_id"
)
# A trade is the same trade in two sessions when the same model took the same position in the
# same symbol over the same bars. Overlapping sessions (backtests of the same window, a replay)
# store it once each; analytics over many sessions count it once, from the latest session.
SAME_TRADE = "ai_model_id, symbol, direction, entry_time, exit_time"


def distinct_trades(where: str) -> str:
    """The trades matching ``where`` (over ``trade_results``), each distinct trade once: the
    copy of the session that started last (ties: the larger session id)."""
    return (
        f"SELECT {TRADE_COLUMNS} FROM ("
        f"SELECT tr.*, row_number() OVER (PARTITION BY {SAME_TRADE} "
        "ORDER BY s.start_time DESC, tr.session_id DESC) AS copy_rank "
        f"FROM (SELECT * FROM {STORE}.trade_results{where}) tr "
        f"JOIN {STORE}.reinforcement_sessions s USING (session_id)"
        ") WHERE copy_rank = 1"
    )


def _coverage(con: duckdb.DuckDBPyConnection, where: str, params: list[Any]) -> dict[str, Any]:
    """Which sessions the figures cover, and how many stored copies of the same trades in
    overlapping sessions were counted once."""
    stored = con.execute(f"SELECT COUNT(*) FROM {STORE}.trade_results{where}", params).fetchone()
    counted = con.execute("SELECT COUNT(*) FROM t").fetchone()
    sessions = [
        r[0]
        for r in con.execute(
            f"SELECT DISTINCT session_id FROM {STORE}.trade_results{where} ORDER BY session_id",
            params,
        ).fetchall()
    ]
    return {
        "sessions": sessions,
        "stored_trades": int(stored[0]),
        "distinct_trades": int(counted[0]),
        "duplicates_counted_once": int(stored[0]) - int(counted[0]),
        "rule": "each trade (model, symbol, direction, entry and exit time) once, from the "
        "latest session that holds it",
    }


_FIGURES = (
    "COUNT(*)::BIGINT AS trades, "
    "COUNT(*) FILTER (WHERE pnl > 0)::BIGINT AS wins, "
    "COUNT(*) FILTER (WHERE pnl < 0)::BIGINT AS losses, "
    "COALESCE(COUNT(*) FILTER (WHERE pnl > 0) / NULLIF(COUNT(*), 0), 0)::DOUBLE AS win_rate, "
    "COALESCE(SUM(pnl), 0)::DOUBLE AS total_pnl, "
    "COALESCE(AVG(pnl), 0)::DOUBLE AS avg_pnl, "
    "COALESCE(AVG(pnl_percent), 0)::DOUBLE AS avg_pnl_percent"
)


def _summary(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    return fetch_dicts(con, f"SELECT {_FIGURES} FROM t")[0]


def _grouped(con: duckdb.DuckDBPyConnection, expression: str) -> list[dict[str, Any]]:
    return fetch_dicts(
        con, f"SELECT {expression} AS key, {_FIGURES} FROM t GROUP BY ALL ORDER BY key"
    )


def _quantiles(con: duckdb.DuckDBPyConnection) -> dict[str, float | None]:
    """Linear-interpolated quantiles (pandas' and numpy's default method), plus mean and std."""
    picks = ", ".join(f"quantile_cont(pnl, {q}) AS p{round(q * 100):02d}" for q in QUANTILES)
    row = fetch_dicts(
        con,
        f"SELECT MIN(pnl) AS min, {picks}, MAX(pnl) AS max, AVG(pnl) AS mean, "
        "STDDEV_SAMP(pnl) AS std FROM t",
    )[0]
    return {k: None if v is None else float(v) for k, v in row.items()}


def _histogram(con: duckdb.DuckDBPyConnection, bins: int) -> list[dict[str, Any]]:
    """Equal-width bins over [min, max] with numpy.histogram's edges: each bin holds
    ``lower <= pnl < upper``, the last one also ``pnl == max``."""
    lo, hi, n = con.execute("SELECT MIN(pnl), MAX(pnl), COUNT(*) FROM t").fetchone()
    if not n:
        return []
    if lo == hi:  # numpy widens a zero-width range by 0.5 on each side
        lo, hi = lo - 0.5, hi + 0.5
    step = (hi - lo) / bins
    edges = [lo + i * step for i in range(bins)] + [hi]
    counts = con.execute(
        "SELECT "
        + ", ".join("COUNT(*) FILTER (WHERE pnl >= ? AND pnl < ?)" for _ in range(bins))
        + ", COUNT(*) FILTER (WHERE pnl = ?) FROM t",
        [x for i in range(bins) for x in (edges[i], edges[i + 1])] + [hi],
    ).fetchone()
    out = [{"lower": edges[i], "upper": edges[i + 1], "count": int(counts[i])} for i in range(bins)]
    out[-1]["count"] += int(counts[bins])
    return out


def _ranked(con: duckdb.DuckDBPyConnection, order: str, top_n: int) -> list[dict[str, Any]]:
    return fetch_dicts(
        con,
        "SELECT trade_id, session_id, ai_model_id AS model_id, symbol, direction, "
        f"strftime(entry_time, '{TIME_FORMAT}') AS entry_time, "
        f"strftime(exit_time, '{TIME_FORMAT}') AS exit_time, entry_price, exit_price, pnl, "
        f"pnl_percent, confidence FROM t ORDER BY pnl {order}, trade_id LIMIT ?",
        [top_n],
    )
