"""``/api/sweeps`` on a real server: run a sweep on the latest session's stored signals, read it
back, and refuse a grid or a session it cannot run (422 naming the field, 404 for an unknown
session; the store unchanged)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rl_pipeline.store import ai_models
from rl_pipeline.store.connection import open_store
from rl_pipeline_tests.support.analytics_store import dump, make_session_store
from rl_pipeline_tests.support.api_server import ApiServer, api_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ApiServer, list[str]]]:
    db, ids = make_session_store(tmp_path_factory.mktemp("api-sweeps"), periods=(5,))
    with api_server(db.parent) as running:
        yield running, ids


def test_run_a_sweep_and_read_it_back(server: tuple[ApiServer, list[str]]) -> None:
    api, (session_id,) = server
    conn = open_store(api.db)
    live = ai_models.live_weights(conn)
    report_pnl = conn.execute(
        "SELECT json_extract(report, '$.ensemble_report.ensembles.adaptive.total_pnl') "
        "FROM session_reports WHERE session_id = ?",
        (session_id,),
    ).fetchone()[0]
    sessions = conn.execute("SELECT COUNT(*) FROM reinforcement_sessions").fetchone()[0]
    conn.close()
    body = {"rule": ["binary", "hedge"], "learning_rate": [0.01, 0.02], "threshold": [0.1, 0.15]}
    reply = api.call("POST", "/api/sweeps/run", body)
    assert reply.status == 200, reply
    ran = reply.body
    assert ran["session_id"] == session_id and ran["points"] == 8 == len(ran["table"])
    assert [row["rank"] for row in ran["table"]] == list(range(1, 9))
    assert "8 points were tried" in ran["warning"]
    own = next(row for row in ran["table"] if row["point"] == ran["session_point"])
    assert own["total_pnl"] == report_pnl
    conn = open_store(api.db)
    assert ai_models.live_weights(conn) == live
    assert conn.execute("SELECT COUNT(*) FROM reinforcement_sessions").fetchone()[0] == sessions
    conn.close()
    assert api.call("GET", "/api/sweeps").body == ran
    assert api.call("GET", f"/api/sweeps?sweep_id={ran['sweep_id']}").body == ran


@pytest.mark.parametrize(
    ("body", "loc", "message"),
    [
        ({"min_weight": [0.5], "max_weight": [0.3]}, ["body", "min_weight"], "<= max_weight"),
        ({"rule": ["nope"]}, ["body", "rule"], "unknown rule 'nope'"),
        ({"learning_rate": [0.01, 0]}, ["body", "learning_rate", 1], "greater than 0"),
        ({"threshold": [2]}, ["body", "threshold", 0], "less than or equal to 1"),
        ({"session_id": "nope"}, None, "session 'nope' does not exist"),
        (
            {
                "learning_rate": [0.001 * k for k in range(1, 81)],
                "threshold": [0.01 * k for k in range(1, 81)],
            },
            ["body", "points"],
            "6400 points, at most 5000",
        ),
    ],
)
def test_a_refused_sweep_names_the_field_and_changes_nothing(
    server: tuple[ApiServer, list[str]], body: dict, loc: list | None, message: str
) -> None:
    api, _ = server
    before = dump(api.db)
    reply = api.call("POST", "/api/sweeps/run", body)
    if loc is None:
        assert reply.status == 404 and message in reply.body["detail"]
    else:
        assert reply.status == 422, reply
        [error] = reply.body["detail"]
        assert error["loc"] == loc and message in error["msg"]
    assert dump(api.db) == before


def test_an_unknown_sweep_is_404(server: tuple[ApiServer, list[str]]) -> None:
    api, _ = server
    assert api.call("GET", "/api/sweeps?sweep_id=nope").status == 404
