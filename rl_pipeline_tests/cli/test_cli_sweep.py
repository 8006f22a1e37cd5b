"""``rl-pipeline sweep run|show`` as a user runs them: progress with ETA, the ranked table with
the session's own point marked and the multiple-testing warning, the same JSON from run and
show, and refused grids that name the field and store nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rl_pipeline_tests.support.analytics_store import dump, make_session_store
from rl_pipeline_tests.support.cli import cli


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db, _ = make_session_store(tmp_path, periods=(5,))
    monkeypatch.setenv("RL_PIPELINE_DATA_DIR", str(db.parent))
    monkeypatch.setenv("RL_PIPELINE_DB", str(db))
    return db


def test_sweep_run_prints_progress_the_ranked_table_and_the_warning(store: Path) -> None:
    done = cli("sweep", "run", "--rule", "binary,hedge", "--learning-rate", "0.01,0.02",
               "--progress-every", "2")  # fmt: skip
    assert done.returncode == 0, done.stderr
    progress = [line for line in done.stderr.splitlines() if " points, " in line]
    assert [line.split(": ")[1].split(" ")[0] for line in progress] == ["2/4", "4/4"]
    assert all("ETA" in line for line in progress)
    lines = done.stdout.splitlines()
    assert lines[0].startswith("sweep sweep-") and "4 points on session" in lines[0]
    ranks = [line.split()[0] for line in lines if line.strip()[:1].isdigit()]
    assert ranks == ["1", "2", "3", "4"]
    assert sum("<- session" in line for line in lines) == 1
    assert "WARNING: 4 points were tried on the same session: the best of 4" in done.stdout

    as_json = cli("sweep", "run", "--threshold", "0.1,0.2", "--json")
    assert as_json.returncode == 0, as_json.stderr
    ran = json.loads(as_json.stdout)
    assert ran["points"] == 2 and ran["grid"]["threshold"] == [0.1, 0.2]
    shown = cli("sweep", "show", "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout) == ran
    earlier = cli("sweep", "show", lines[0].split()[1].rstrip(":"), "--top", "2")
    assert earlier.returncode == 0 and "... 2 more (--top 0 shows all)" in earlier.stdout


def test_a_refused_sweep_names_the_field_and_stores_nothing(store: Path) -> None:
    before = dump(store)
    bounds = cli("sweep", "run", "--min-weight", "0.05,0.5", "--max-weight", "0.3")
    assert bounds.returncode == 1
    assert "rejected, nothing stored: min_weight: min_weight must be <= max_weight" in bounds.stderr
    rule = cli("sweep", "run", "--rule", "binary,nope")
    assert rule.returncode == 1 and "rejected, nothing stored: rule: unknown rule 'nope'" in (
        rule.stderr
    )
    rate = cli("sweep", "run", "--learning-rate", "0")
    assert rate.returncode == 1 and "learning_rate: Input should be greater than 0" in rate.stderr
    word = cli("sweep", "run", "--threshold", "0.1,x")
    assert word.returncode == 2 and "'--threshold': 'x' is not a finite number" in word.stderr
    unknown = cli("sweep", "run", "nope")
    assert unknown.returncode == 1 and "session 'nope' does not exist" in unknown.stderr
    assert dump(store) == before
    none = cli("sweep", "show")
    assert none.returncode == 1 and "no sweep has run yet" in none.stderr
