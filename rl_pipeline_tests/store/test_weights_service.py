"""The weight manager: validation that changes nothing on rejection, the records of an accepted
change, and two real processes setting weights at once."""

from __future__ import annotations

import json
import math
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from rl_pipeline.store import sessions
from rl_pipeline.store.ai_models import live_weights as live
from rl_pipeline.store.connection import open_store
from rl_pipeline.weights.live import WeightValidationError, get_weights, set_weights
from rl_pipeline_tests.support.store_state import dump

SEED = {"trading_ai": 0.25, "lava_ai": 0.35, "lgbm_ai": 0.40, "mistral_ai": 0.0}
GOOD = {"trading_ai": 0.1, "lava_ai": 0.2, "lgbm_ai": 0.3, "mistral_ai": 0.4}


def test_get_weights_is_the_api_view(conn: sqlite3.Connection) -> None:
    view = get_weights(conn)
    assert view.weights == SEED
    body = view.as_api()
    assert list(body) == [
        "trading_ai_weight",
        "lava_ai_weight",
        "lgbm_ai_weight",
        "mistral_ai_weight",
        "last_updated",
    ]
    assert body["lava_ai_weight"] == 0.35
    assert body["last_updated"].endswith("Z") and "T" in body["last_updated"]


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        (
            {**GOOD, "lava_ai": -0.1},
            [("lava_ai", "Input should be greater than or equal to 0")],
        ),
        ({**GOOD, "lava_ai": math.nan}, [("lava_ai", "Input should be a finite number")]),
        ({**GOOD, "lgbm_ai": math.inf}, [("lgbm_ai", "Input should be a finite number")]),
        ({**GOOD, "trading_ai": 1.5}, [("trading_ai", "Input should be less than or equal to 1")]),
        ({**GOOD, "trading_ai": True}, [("trading_ai", "Input should be a valid number")]),
        ({**GOOD, "trading_ai": "0.1"}, [("trading_ai", "Input should be a valid number")]),
        ({**GOOD, "gpt_ai": 0.0}, [("gpt_ai", "unknown model")]),
        (
            {"trading_ai": 0.5, "lava_ai": 0.5},
            [("lgbm_ai", "Field required"), ("mistral_ai", "Field required")],
        ),
        (
            {**GOOD, "lava_ai": 0.25},
            [("trading_ai+lava_ai+lgbm_ai+mistral_ai", "must sum to 1 (within 1e-06), got 1.05")],
        ),
        (
            {**GOOD, "lava_ai_weight": 0.2},
            [("lava_ai_weight", "lava_ai given twice")],
        ),
    ],
    ids=[
        "negative",
        "nan",
        "infinity",
        "above-1",
        "bool",
        "string",
        "unknown",
        "missing",
        "wrong-sum",
        "duplicate",
    ],
)
def test_rejected_weights_change_nothing(
    conn: sqlite3.Connection, weights: dict, expected: list[tuple[str, str]]
) -> None:
    before = dump(conn)
    with pytest.raises(WeightValidationError) as caught:
        set_weights(conn, weights)
    errors = caught.value.errors
    assert [e["field"] for e in errors] == [field for field, _ in expected]
    for error, (field, rule) in zip(errors, expected, strict=True):
        assert rule in error["rule"]
        assert f"{field}: " in str(caught.value)
    assert dump(conn) == before


def test_every_bad_field_is_listed_with_api_names(conn: sqlite3.Connection) -> None:
    before = dump(conn)
    with pytest.raises(WeightValidationError) as caught:
        set_weights(
            conn,
            {"trading_ai_weight": -1, "lava_ai_weight": math.nan, "bogus_weight": 0.1},
        )
    assert {(e["field"], e["rule"].split(" (")[0]) for e in caught.value.errors} == {
        ("bogus_weight", "unknown model"),
        ("trading_ai_weight", "Input should be greater than or equal to 0"),
        ("lava_ai_weight", "Input should be a finite number"),
        ("lgbm_ai_weight", "Field required"),
        ("mistral_ai_weight", "Field required"),
    }
    assert dump(conn) == before


def test_accepted_change_is_recorded_in_one_synthetic_session(conn: sqlite3.Connection) -> None:
    view = set_weights(conn, {f"{m}_weight": w for m, w in GOOD.items()}, source="api")
    assert view.weights == GOOD == live(conn)

    history = conn.execute(
        "SELECT session_id, model_id, old_weight, new_weight, reason FROM model_weight_history "
        "ORDER BY rowid"
    ).fetchall()
    assert [(r[1], r[2], r[3], r[4]) for r in history] == [
        (m, SEED[m], GOOD[m], "manual") for m in GOOD
    ]
    session_id = history[0][0]
    assert session_id.startswith("manual-") and {r[0] for r in history} == {session_id}
    row = conn.execute(
        "SELECT status, test_period_days, configuration FROM reinforcement_sessions "
        "WHERE session_id = ?",
        (session_id,),
    ).fetchone()
    configuration = json.loads(row["configuration"])
    assert (row["status"], row["test_period_days"]) == ("completed", 0)
    assert configuration["kind"] == "manual_weight_change"
    assert configuration["weights_before"] == SEED and configuration["weights_after"] == GOOD
    assert configuration["source"] == "api" and configuration["requested"] == GOOD
    # A weight change is not a reinforcement session: 'session show' keeps showing real ones.
    assert sessions.latest_session_id(conn) is None

    versions = conn.execute(
        "SELECT model_id, version_number, kind, weight, session_id FROM model_versions "
        "ORDER BY model_id"
    ).fetchall()
    assert sorted((r[0], r[1], r[2], r[3], r[4]) for r in versions) == sorted(
        (m, 1, "manual", w, session_id) for m, w in GOOD.items()
    )


def test_second_change_chains_history_and_versions(conn: sqlite3.Connection) -> None:
    set_weights(conn, GOOD)
    second = {"trading_ai": 0.4, "lava_ai": 0.3, "lgbm_ai": 0.2, "mistral_ai": 0.1}
    set_weights(conn, second)
    lava = conn.execute(
        "SELECT old_weight, new_weight FROM model_weight_history WHERE model_id = 'lava_ai' "
        "ORDER BY rowid"
    ).fetchall()
    assert [tuple(r) for r in lava] == [(0.35, 0.2), (0.2, 0.3)]
    rows = conn.execute(
        "SELECT version_id, parent_version_id, weight FROM model_versions "
        "WHERE model_id = 'lava_ai' ORDER BY version_number"
    ).fetchall()
    assert [tuple(r) for r in rows] == [
        ("lava_ai-v1", None, 0.2),
        ("lava_ai-v2", "lava_ai-v1", 0.3),
    ]


def test_setting_the_live_weights_again_writes_nothing(conn: sqlite3.Connection) -> None:
    set_weights(conn, GOOD)
    before = dump(conn)
    assert set_weights(conn, GOOD).weights == GOOD
    assert dump(conn) == before


def test_normalise_scales_the_active_weights(conn: sqlite3.Connection) -> None:
    with pytest.raises(WeightValidationError):
        set_weights(conn, {"trading_ai": 1, "lava_ai": 1, "lgbm_ai": 2, "mistral_ai": 0})
    view = set_weights(
        conn, {"trading_ai": 1, "lava_ai": 1, "lgbm_ai": 1, "mistral_ai": 1}, normalise=True
    )
    assert view.weights == {m: 0.25 for m in GOOD}
    before = dump(conn)
    with pytest.raises(WeightValidationError, match="cannot normalise: all active weights are 0"):
        set_weights(conn, {m: 0 for m in GOOD}, normalise=True)
    assert dump(conn) == before


def test_only_active_models_count_and_inactive_ones_hold_zero(conn: sqlite3.Connection) -> None:
    conn.execute("UPDATE ai_models SET is_active = FALSE WHERE model_id = 'mistral_ai'")
    before = dump(conn)
    with pytest.raises(WeightValidationError) as caught:
        set_weights(conn, GOOD)
    assert [e["field"] for e in caught.value.errors] == [
        "mistral_ai",
        "trading_ai+lava_ai+lgbm_ai",
    ]
    assert "inactive" in caught.value.errors[0]["rule"]
    assert dump(conn) == before
    view = set_weights(conn, {"trading_ai": 0.5, "lava_ai": 0.3, "lgbm_ai": 0.2, "mistral_ai": 0})
    assert view.weights["trading_ai"] == 0.5


WORKER = """
import json, os, sys, time
from pathlib import Path
from rl_pipeline.weights.live import set_weights
from rl_pipeline.store.connection import open_store

db, worker, ready = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
conn = open_store(db)
(ready / f"ready-{worker}").touch()
deadline = time.monotonic() + 60
while len(list(ready.glob("ready-*"))) < 2 and time.monotonic() < deadline:
    time.sleep(0.002)
for i in range(20):
    n = worker * 20 + i
    a, b, c = 0.10 + 0.001 * n, 0.20 + 0.002 * n, 0.30 - 0.001 * n
    set_weights(conn, {"trading_ai": a, "lava_ai": b, "lgbm_ai": c, "mistral_ai": 1 - a - b - c})
    time.sleep(0.005)  # think time between requests, so the two interleave
"""


def vector(n: int) -> dict[str, float]:
    a, b, c = 0.10 + 0.001 * n, 0.20 + 0.002 * n, 0.30 - 0.001 * n
    return {"trading_ai": a, "lava_ai": b, "lgbm_ai": c, "mistral_ai": 1 - a - b - c}


def test_two_processes_setting_weights_end_consistent(db_path: Path, tmp_path: Path) -> None:
    open_store(db_path).close()
    ready = tmp_path / "ready"
    ready.mkdir()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(db_path), str(k), str(ready)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in (0, 1)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err

    conn = open_store(db_path)
    final = live(conn)
    requested = [vector(n) for n in range(40)]
    assert abs(math.fsum(final.values()) - 1) < 1e-9
    assert final in requested  # one whole vector, never a mix of two

    # Every change is one session whose four rows are one whole requested vector ...
    changes: dict[str, dict[str, float]] = {}
    for session_id, model_id, new in conn.execute(
        "SELECT session_id, model_id, new_weight FROM model_weight_history ORDER BY rowid"
    ):
        changes.setdefault(session_id, {})[model_id] = new
    assert len(changes) == 40
    assert sorted(map(sorted, (c.items() for c in changes.values()))) == sorted(
        map(sorted, (v.items() for v in requested))
    )
    # ... and per model the history is an unbroken chain from the seed to the live weight.
    for model_id, seed in SEED.items():
        rows = conn.execute(
            "SELECT old_weight, new_weight, reason FROM model_weight_history WHERE model_id = ? "
            "ORDER BY rowid",
            (model_id,),
        ).fetchall()
        assert len(rows) == 40 and {r[2] for r in rows} == {"manual"}
        assert rows[0][0] == seed
        assert all(rows[i][0] == rows[i - 1][1] for i in range(1, 40))
        assert rows[-1][1] == final[model_id]
        versions = conn.execute(
            "SELECT version_number, version_id, parent_version_id, weight FROM model_versions "
            "WHERE model_id = ? ORDER BY version_number",
            (model_id,),
        ).fetchall()
        assert [v[0] for v in versions] == list(range(1, 41))
        assert all(versions[i][2] == versions[i - 1][1] for i in range(1, 40))
        assert versions[-1][3] == final[model_id]
