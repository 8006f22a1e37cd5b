"""``rl-pipeline campaign run|show|list``: a thin click adapter over ``session.campaign``."""

from __future__ import annotations

import json
from typing import Any

import click
import pydantic

from rl_pipeline.cli.cli_logging import start_logging
from rl_pipeline.rl.rules import rule_names


@click.group()
def campaign() -> None:
    """Walk-forward campaigns: consecutive sessions and their learning curve."""


@campaign.command("run")
@click.option("--sessions", type=click.IntRange(1, 500), required=True, help="How many sessions.")
@click.option(
    "--test-period-days", type=click.IntRange(1, 3650), required=True, help="Days per session."
)
@click.option(
    "--rule",
    type=click.Choice(rule_names()),
    help="Update rule (default: the active configuration's weights.rule).",
)
@click.option(
    "--publish",
    is_flag=True,
    help="Publish each session's weights (live weights end as the last session's final ones).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def run(
    sessions: int, test_period_days: int, rule: str | None, publish: bool, as_json: bool
) -> None:
    """Run SESSIONS consecutive sessions of TEST_PERIOD_DAYS ending at the last stored bar,
    each starting from the previous one's final weights, in this process."""
    from rl_pipeline.configuration.store import active_session_config
    from rl_pipeline.session.campaign import CampaignError, run_campaign
    from rl_pipeline.store.connection import open_store

    start_logging("cli")
    conn = open_store()
    try:
        config = active_session_config(conn)
        view = run_campaign(
            conn,
            config,
            sessions,
            test_period_days,
            rule,
            publish,
            progress=lambda line: click.echo(line, err=True),
        )
    except CampaignError as exc:
        raise click.ClickException(f"rejected, nothing run: {exc}") from exc
    except pydantic.ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'configuration'}: {e['msg']}" for e in exc.errors()
        )
        raise click.ClickException(f"rejected, nothing run: {problems}") from exc
    finally:
        conn.close()
    click.echo(json.dumps(view, indent=2) if as_json else format_campaign(view))


@campaign.command("show")
@click.argument("campaign_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the campaign as JSON.")
def show(campaign_id: str | None, as_json: bool) -> None:
    """A campaign (default: the latest): its learning curve and verdict."""
    from rl_pipeline.session.campaign import campaign_view
    from rl_pipeline.store.connection import open_store

    conn = open_store()
    try:
        view = campaign_view(conn, campaign_id)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        conn.close()
    click.echo(json.dumps(view, indent=2) if as_json else format_campaign(view))


def format_campaign(view: dict[str, Any]) -> str:
    """The learning curve (cumulative P&L after each session) and the verdict."""
    from rl_pipeline.session.queries import format_interval

    lines = [
        f"campaign {view['campaign_id']}: {view['status']}, {len(view['sessions'])} sessions of "
        f"{view['test_period_days']} days, rule {view['rule']}, "
        f"{'published' if view['publish'] else 'live weights untouched'}"
    ]
    if view["error"]:
        lines.append(f"  error: {view['error']}")
    if not view["curve"]:
        return "\n".join(lines)
    columns = [f"rule:{r}" for r in rule_names()] + ["static", "equal", "best_in_hindsight"]
    columns = [c for c in columns if c in view["curve"][-1]]
    labels = {"best_in_hindsight": "best model"}
    header = "".join(f"{labels.get(c, c.removeprefix('rule:')):>14}" for c in columns)
    lines += ["", "  cumulative P&L after each session", f"  {'#':>3} {'test end':<20}{header}"]
    for row in view["curve"]:
        values = "".join(f"{row.get(c, 0.0):>14,.2f}" for c in columns)
        lines.append(f"  {row['seq']:>3} {row['test_end']:<20}{values}")
    if view["best_model_in_hindsight"]:
        last = view["curve"][-1]
        lines.append(
            f"  best model in hindsight: {view['best_model_in_hindsight']}; regret of "
            f"{view['rule']}: {last.get('regret_vs_best_model', 0.0):,.2f}"
        )
    if view["verdict"]:
        verdict = view["verdict"]
        lines += [
            "",
            f"  learning paid over the campaign ({view['rule']}; paired block bootstrap of "
            "daily P&L):",
            f"    adaptive - static weights: {format_interval(verdict['adaptive_minus_static'])}",
            f"    adaptive - equal weights:  {format_interval(verdict['adaptive_minus_equal'])}",
        ]
    return "\n".join(lines)
