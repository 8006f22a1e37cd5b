"""What a person sees, in a real headless Chromium (Debian's package; `make test` installs it when
missing): the HTML report of a session and the API's /docs, each rendered with every request
outside this machine sent to a closed port, so a page that needed the network would break."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import matplotlib.image
import pytest

from rl_pipeline.config import SessionConfig
from rl_pipeline.session import stages as stages
from rl_pipeline.store.connection import open_store
from rl_pipeline_tests.support.api_server import api_server


def chromium() -> str:
    found = os.environ.get("RL_PIPELINE_CHROMIUM") or shutil.which("chromium-headless-shell")
    found = found or shutil.which("chromium")
    if not found:
        pytest.skip("no headless Chromium here: `make test` installs chromium-headless-shell")
    return found


def render(url: str, screenshot: Path) -> str:
    """The DOM after the page (and its scripts) ran, and a screenshot of it."""
    offline = ["--proxy-server=127.0.0.1:9", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    common = [*offline, "--virtual-time-budget=15000", "--window-size=1200,2200"]
    subprocess.run(
        [chromium(), *common, f"--screenshot={screenshot}", url],
        capture_output=True,
        timeout=120,
        check=True,
    )
    done = subprocess.run(
        [chromium(), *common, "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def not_blank(png: Path) -> float:
    """The spread of the screenshot's pixels: a blank or error page is nearly uniform."""
    return float(matplotlib.image.imread(png)[..., :3].std())


def test_the_session_report_renders_offline(
    small_store: sqlite3.Connection, tmp_path: Path
) -> None:
    summary = stages.run_session(small_store, SessionConfig(test_period_days=10), publish=True)
    report = stages.session_report_path(summary.session_id)
    shot = tmp_path / "report.png"
    dom = render(report.as_uri(), shot)
    assert f"Session {summary.session_id}" in dom
    assert 'alt="equity of: adaptive, static_initial, equal, trading_ai' in dom
    for heading in (
        "Drawdown",
        "Weights over time",
        "Verdict: did learning pay?",
        "Rule tournament",
    ):
        assert f"<h2>{heading}</h2>" in dom
    assert not_blank(shot) > 0.05


def test_the_api_docs_render_offline(small_store: sqlite3.Connection, tmp_path: Path) -> None:
    data = tmp_path / "api-data"
    data.mkdir()
    open_store(data / "rl_pipeline.sqlite").close()
    with api_server(data) as server:
        shot = tmp_path / "docs.png"
        dom = render(f"{server.base_url}/docs", shot)
    # Swagger UI ran (its scripts came from the API itself) and listed the routes.
    assert 'class="swagger-ui' in dom
    assert "/api/reinforcement/start" in dom and "/api/campaigns/run" in dom
    assert not_blank(shot) > 0.05
