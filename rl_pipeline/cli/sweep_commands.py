"""``rl-pipeline sweep run|show``: a thin click adapter over ``session.sweep``."""

from __future__ import annotations

import json
import math
from typing import Any

import click

from rl_pipeline.cli.cli_logging import start_logging
from rl_pipeline.rl.rules import rule_names

FLOAT_AXES = (
    ("learning-rate", "learning_rate"),
    ("reward-multiplier", "reward_multiplier"),
    ("punishment-multiplier", "punishment_multiplier"),
    ("min-weight", "min_weight"),
    ("max-weight", "max_weight"),
    ("threshold", "threshold"),
)


def _numbers(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[float, ...]:
    if value is None:
        return ()
    out = []
    for part in value.split(","):
        try:
            number = float(part)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise click.BadParameter(f"{part.strip()!r} is not a finite number", ctx, param)
        out.append(number)
    return tuple(out)


def _names(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in value.split(",")) if value else ()


def axis_options(fn):
    """One comma-separated option per axis of the grid."""
    for flag, name in reversed(FLOAT_AXES):
        fn = click.option(
            f"--{flag}",
            name,
            callback=_numbers,
            metavar="X[,Y...]",
            help=f"{name} values (default: the session's own).",
        )(fn)
    return click.option(
        "--rule",
        "rule",
        callback=_names,
        metavar="NAME[,NAME...]",
        help=f"Update rules, of: {', '.join(rule_names())} (default: the session's own).",
    )(fn)


@click.group()
def sweep() -> None:
    """Parameter sweeps: a grid of rule settings replayed on a session's stored signals."""


@sweep.command("run")
@click.argument("session_id", required=False)
@axis_options
@click.option(
    "--progress-every",
    type=click.IntRange(1),
    default=10,
    show_default=True,
    help="Print a progress line (with ETA) every N points.",
)
@click.option("--top", type=click.IntRange(0), default=20, show_default=True, help="Rows shown.")
@click.option("--json", "as_json", is_flag=True, help="Print the sweep as JSON.")
def run(session_id: str | None, progress_every: int, top: int, as_json: bool, **axes: Any) -> None:
    """Run the grid on SESSION_ID's stored signals (default: the latest completed session):
    every combination of the values given, each axis not given at the session's own value.
    Creates no session and leaves the live weights alone."""
    from rl_pipeline.session.sweep import SweepError, SweepGrid, run_sweep
    from rl_pipeline.store.connection import open_store

    start_logging("cli")
    conn = open_store()
    try:
        view = run_sweep(
            conn,
            SweepGrid(**axes),
            session_id,
            progress=lambda line: click.echo(line, err=True),
            progress_every=progress_every,
        )
    except SweepError as exc:
        raise click.ClickException(f"rejected, nothing stored: {exc}") from exc
    except LookupError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        conn.close()
    click.echo(json.dumps(view, indent=2) if as_json else format_sweep(view, top))


@sweep.command("show")
@click.argument("sweep_id", required=False)
@click.option("--top", type=click.IntRange(0), default=20, show_default=True, help="Rows shown.")
@click.option("--json", "as_json", is_flag=True, help="Print the sweep as JSON.")
def show(sweep_id: str | None, top: int, as_json: bool) -> None:
    """A sweep (default: the latest): its ranked table and the multiple-testing warning."""
    from rl_pipeline.session.sweep import sweep_view
    from rl_pipeline.store.connection import open_store

    conn = open_store()
    try:
        view = sweep_view(conn, sweep_id)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        conn.close()
    click.echo(json.dumps(view, indent=2) if as_json else format_sweep(view, top))


def _answer(verdict: dict[str, Any]) -> str:
    return {"yes": "yes", "no": "no"}.get(verdict["answer"], "inc")


def format_sweep(view: dict[str, Any], top: int = 20) -> str:
    """The ranked table (``top`` rows, 0 = all) with the warning."""
    timing = view["timing"]
    lines = [
        f"sweep {view['sweep_id']}: {view['points']} points on session {view['session_id']} "
        f"({view['test_start']} .. {view['test_end']}), "
        f"{timing['seconds_per_point'] * 1000:.1f} ms per point after "
        f"{timing['setup_seconds']:.2f} s rebuilding its signals",
        f"  ranked by {view['ranking']}",
        "",
        f"  {'rank':>4} {'#':>4} {'rule':<11}{'lr':>8}{'reward':>8}{'punish':>8}{'min_w':>7}"
        f"{'max_w':>7}{'thr':>6}{'P&L':>12}{'Sharpe':>8}{'static':>12}{'equal':>12}"
        f"  vs static/equal (95%)  Bonferroni",
    ]
    rows = view["table"] if top == 0 else view["table"][:top]
    for r in rows:
        sharpe = "-" if r["sharpe"] is None else f"{r['sharpe']:.2f}"
        own = " <- session" if r["point"] == view["session_point"] else ""
        v, b = r["verdict"], r["bonferroni"]
        lines.append(
            f"  {r['rank']:>4} {r['point']:>4} {r['rule']:<11}{r['learning_rate']:>8.4g}"
            f"{r['reward_multiplier']:>8.4g}{r['punishment_multiplier']:>8.4g}"
            f"{r['min_weight']:>7.3g}{r['max_weight']:>7.3g}{r['threshold']:>6.3g}"
            f"{r['total_pnl']:>12,.2f}{sharpe:>8}{r['static_pnl']:>12,.2f}{r['equal_pnl']:>12,.2f}"
            f"  {_answer(v['adaptive_minus_static']):>3} / {_answer(v['adaptive_minus_equal']):<3}"
            f"{'':>13}{_answer(b['adaptive_minus_static']):>3} / "
            f"{_answer(b['adaptive_minus_equal']):<3}{own}"
        )
    if len(rows) < len(view["table"]):
        lines.append(f"  ... {len(view['table']) - len(rows)} more (--top 0 shows all)")
    report = view["session_report"]
    lines += [
        "  (yes / no: the bootstrap interval of the daily P&L difference lies above / below 0; "
        "inc: inconclusive)",
        "",
        f"  the session's own report: adaptive {report['adaptive_pnl']:,.2f}, static "
        f"{report['static_pnl']:,.2f}, equal {report['equal_pnl']:,.2f}",
        "",
        f"  WARNING: {view['warning']}",
    ]
    return "\n".join(lines)
