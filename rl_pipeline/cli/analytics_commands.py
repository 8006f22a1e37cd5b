"""``rl-pipeline analytics trades`` and ``rl-pipeline models performance``: the DuckDB analytics
of ``GET /api/analytics/trades`` and ``GET /api/models/performance``, as tables or JSON."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import click

from rl_pipeline import paths
from rl_pipeline.cli.cli_logging import start_logging
from rl_pipeline.config import MODEL_IDS


@click.group()
def analytics() -> None:
    """Trade analytics (DuckDB over the store)."""


@analytics.command("trades")
@click.option("--session-id", help="Only this session's trades.")
@click.option("--model-id", type=click.Choice(MODEL_IDS), help="Only this model's trades.")
@click.option("--symbol", help="Only this symbol's trades.")
@click.option("--start", type=click.DateTime(), help="entry_time >= START (UTC).")
@click.option("--end", type=click.DateTime(), help="entry_time < END (UTC).")
@click.option("--top", "top_n", type=click.IntRange(0, 100), default=5, show_default=True)
@click.option(
    "--include-unfinished",
    is_flag=True,
    help="Also trades of running sessions (default: completed sessions only).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON.")
def trades(
    session_id: str | None,
    model_id: str | None,
    symbol: str | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    top_n: int,
    include_unfinished: bool,
    as_json: bool,
) -> None:
    """Trades by model, symbol, direction and hour; PnL distribution; best and worst trades."""
    from rl_pipeline.analytics.trades import InvalidFilterError, trade_analysis

    start_logging("cli")
    try:
        result = trade_analysis(
            paths.db_path(),
            session_id=session_id,
            model_id=model_id,
            symbol=symbol,
            start=start,
            end=end,
            top_n=top_n,
            include_unfinished=include_unfinished,
        )
    except (LookupError, InvalidFilterError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(result, indent=2) if as_json else format_trade_analysis(result))


@click.command("performance")
@click.option("--session-id", help="Default: the latest completed session.")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
def performance(session_id: str | None, as_json: bool) -> None:
    """Per-model metrics of a session, live weights and figures over all completed sessions."""
    from rl_pipeline.analytics.performance import model_performance

    start_logging("cli")
    try:
        rows = model_performance(paths.db_path(), session_id)
    except (LookupError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    elif not rows:
        click.echo("no completed session with metrics yet")
    else:
        click.echo(format_performance(rows))


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2%}"


def _num(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _group_table(title: str, rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "",
        f"{title:<12} {'trades':>7} {'win rate':>9} {'total pnl':>13} {'avg pnl':>10}",
    ]
    lines += [
        f"{r['key']!s:<12} {r['trades']:>7} {_pct(r['win_rate']):>9} "
        f"{_num(r['total_pnl']):>13} {_num(r['avg_pnl']):>10}"
        for r in rows
    ]
    return lines


def format_trade_analysis(result: dict[str, Any]) -> str:
    s = result["summary"]
    used = {k: v for k, v in result["filters"].items() if v is not None}
    cover = result["coverage"]
    lines = [
        f"{s['trades']} trades in {s['sessions']} session(s)"
        + (f" ({', '.join(f'{k}={v}' for k, v in used.items())})" if used else ""),
        "sessions covered: " + (", ".join(cover["sessions"]) or "none"),
    ]
    if cover["duplicates_counted_once"]:
        lines.append(
            f"{cover['duplicates_counted_once']} stored copies of the same trades in "
            "overlapping sessions counted once (from the latest session)"
        )
    lines += [
        f"win rate {_pct(s['win_rate'])}, total pnl {_num(s['total_pnl'])}, "
        f"avg pnl {_num(s['avg_pnl'])} ({_num(s['avg_pnl_percent'], 3)} %)",
    ]
    for key, title in (
        ("by_model", "model"),
        ("by_symbol", "symbol"),
        ("by_direction", "direction"),
        ("by_hour", "hour (UTC)"),
    ):
        lines += _group_table(title, result[key])
    q = result["pnl_distribution"]["quantiles"]
    if q["min"] is not None:
        lines += [
            "",
            "pnl quantiles: "
            + ", ".join(f"{k} {_num(v)}" for k, v in q.items() if k not in ("mean", "std")),
        ]
    for key, title in (("best_trades", "best"), ("worst_trades", "worst")):
        if result[key]:
            lines += ["", f"{title} trades:"]
            lines += [
                f"  {t['pnl']:>11,.2f}  {t['model_id']:<10} {t['symbol']:<8} {t['direction']:<5} "
                f"{t['entry_time']} -> {t['exit_time']}"
                for t in result[key]
            ]
    return "\n".join(lines)


def format_performance(rows: list[dict[str, Any]]) -> str:
    lines = [
        f"session {rows[0]['session_id']}",
        f"{'model':<11} {'trades':>7} {'win rate':>9} {'total pnl':>12} {'sharpe':>8} "
        f"{'max dd':>8} {'weight':>9} {'sessions':>9} {'all pnl':>12}",
    ]
    lines += [
        f"{r['model_id']:<11} {r['total_trades']:>7} {_pct(r['win_rate']):>9} "
        f"{_num(r['total_pnl']):>12} {_num(r['sharpe_ratio']):>8} {_pct(r['max_drawdown']):>8} "
        f"{r['current_weight']:>9.6f} {r['sessions_completed']:>9} {_num(r['lifetime_pnl']):>12}"
        for r in rows
    ]
    return "\n".join(lines)
