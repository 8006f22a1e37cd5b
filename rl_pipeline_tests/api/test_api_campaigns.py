"""``/api/campaigns`` on a real server: run a campaign, read it back, and refuse one the data
cannot hold (422 naming the field, store unchanged)."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

from rl_pipeline.store import ai_models
from rl_pipeline.store.bars import write_bars
from rl_pipeline.store.connection import open_store
from rl_pipeline_tests.support.analytics_store import dump
from rl_pipeline_tests.support.api_server import ApiServer, api_server


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, small_bars: pd.DataFrame
) -> Iterator[ApiServer]:
    data = tmp_path_factory.mktemp("api-campaigns") / "data"
    data.mkdir()
    conn = open_store(data / "rl_pipeline.sqlite")
    write_bars(conn, small_bars, source="test")
    conn.close()
    with api_server(data) as running:
        yield running


def test_run_a_campaign_and_read_it_back(server: ApiServer) -> None:
    live = ai_models.live_weights(open_store(server.db))
    reply = server.call(
        "POST", "/api/campaigns/run", {"sessions": 2, "test_period_days": 4, "rule": "fixed_share"}
    )
    assert reply.status == 200, reply
    ran = reply.body
    assert len(ran["sessions"]) == 2 and len(ran["curve"]) == 2 and ran["rule"] == "fixed_share"
    assert ran["verdict"]["adaptive_minus_equal"]["answer"] in {"yes", "no", "inconclusive"}
    assert ai_models.live_weights(open_store(server.db)) == live
    latest = server.call("GET", "/api/campaigns")
    assert latest.status == 200 and latest.body == ran
    assert server.call("GET", f"/api/campaigns?campaign_id={ran['campaign_id']}").body == ran


def test_a_campaign_the_data_cannot_hold_is_refused(server: ApiServer) -> None:
    before = dump(server.db)
    reply = server.call("POST", "/api/campaigns/run", {"sessions": 20, "test_period_days": 30})
    assert reply.status == 422
    [error] = reply.body["detail"]
    assert error["loc"] == ["body", "sessions x test_period_days"]
    assert "need 600 days of bars" in error["msg"]
    unknown = server.call(
        "POST", "/api/campaigns/run", {"sessions": 1, "test_period_days": 1, "rule": "x"}
    )
    assert unknown.status == 422 and unknown.body["detail"][0]["loc"] == ["body", "rule"]
    assert dump(server.db) == before
    assert server.call("GET", "/api/campaigns?campaign_id=nope").status == 404


def test_campaign_requests_are_validated(server: ApiServer) -> None:
    reply = server.call("POST", "/api/campaigns/run", {"sessions": 0, "test_period_days": 4})
    assert reply.status == 422 and reply.body["detail"][0]["loc"] == ["body", "sessions"]
