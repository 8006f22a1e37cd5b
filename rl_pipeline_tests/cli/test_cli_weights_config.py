"""``rl-pipeline weights|models|config`` through the installed console script."""

from __future__ import annotations

import json
import re
from pathlib import Path

from rl_pipeline.store.connection import open_store
from rl_pipeline_tests.support.cli import cli
from rl_pipeline_tests.support.store_state import dump as store_dump


def dump(db_path: Path) -> str:
    conn = open_store(db_path)
    try:
        return store_dump(conn)
    finally:
        conn.close()


def test_weights_set_show_versions_and_rollback(db_path: Path) -> None:
    done = cli(
        "weights", "set", "--trading-ai", "0.2", "--lava-ai", "0.2", "--lgbm-ai", "0.4",
        "--mistral-ai", "0", "--normalise",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "lgbm_ai     0.500000" in done.stdout

    shown = cli("weights", "show", "--json")
    assert shown.returncode == 0, shown.stderr
    body = json.loads(shown.stdout)
    assert body["trading_ai_weight"] == 0.25 and body["lgbm_ai_weight"] == 0.5
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["last_updated"])
    # The API's spelling works too (the same weights again: nothing is written).
    spelled = cli(
        "weights", "set", "--trading-ai", "0.1", "--lava-ai", "0.1", "--lgbm-ai", "0.2",
        "--mistral-ai", "0", "--normalize",
    )  # fmt: skip
    assert spelled.returncode == 0 and "lgbm_ai     0.500000" in spelled.stdout, spelled.stderr

    cli("weights", "set", "--trading-ai", "0.4", "--lava-ai", "0.3", "--lgbm-ai", "0.2",
        "--mistral-ai", "0.1")  # fmt: skip
    rolled = cli("models", "rollback", "lgbm_ai", "1")
    assert rolled.returncode == 0, rolled.stderr
    assert "lgbm_ai rolled back to lgbm_ai-v1" in rolled.stdout
    assert "lgbm_ai     0.200000 -> 0.500000" in rolled.stdout

    listed = cli("models", "versions", "lgbm_ai", "--json")
    assert listed.returncode == 0, listed.stderr
    versions = json.loads(listed.stdout)
    assert [
        (v["version_number"], v["kind"], v["weight"], v["parent_version_id"]) for v in versions
    ] == [
        (1, "manual", 0.5, None),
        (2, "manual", 0.2, "lgbm_ai-v1"),
        (3, "rollback", 0.5, "lgbm_ai-v2"),
    ]
    table = cli("models", "versions", "lgbm_ai")
    assert "lgbm_ai-v3      rollback  0.500000 lgbm_ai-v2" in table.stdout
    conn = open_store(db_path)
    reasons = [r[0] for r in conn.execute("SELECT reason FROM model_weight_history ORDER BY rowid")]
    # History rows only for weights that changed: 2 (trading_ai, mistral_ai kept theirs) + 4.
    assert reasons.count("manual") == 6 and reasons.count("rollback") == 4


def test_rejected_cli_requests_exit_non_zero_and_change_nothing(db_path: Path) -> None:
    open_store(db_path).close()
    before = dump(db_path)
    bad = cli("weights", "set", "--trading-ai", "nan", "--lava-ai", "1.5", "--lgbm-ai", "0.2")
    assert bad.returncode == 1
    assert "--trading-ai: Input should be a finite number" in bad.stderr
    assert "--lava-ai: Input should be less than or equal to 1" in bad.stderr
    assert "--mistral-ai: Field required" in bad.stderr
    wrong_sum = cli(
        "weights", "set", "--trading-ai", "0.5", "--lava-ai", "0.5", "--lgbm-ai", "0.5",
        "--mistral-ai", "0",
    )  # fmt: skip
    assert wrong_sum.returncode == 1
    assert "must sum to 1 (within 1e-06), got 1.5; --normalise scales them" in wrong_sum.stderr
    missing = cli("models", "rollback", "lava_ai", "3")
    assert missing.returncode == 1 and "lava_ai has no version 3" in missing.stderr
    unknown = cli("models", "versions", "gpt_ai")
    assert unknown.returncode == 1 and "unknown model 'gpt_ai'" in unknown.stderr
    assert dump(db_path) == before


def test_config_export_import_round_trip(
    db_path: Path, tmp_path: Path, isolated_data_dir: Path
) -> None:
    exported = tmp_path / "config.json"
    done = cli("config", "export", "--output", str(exported))
    assert done.returncode == 0, done.stderr
    document = json.loads(exported.read_text())
    document["session"]["test_period_days"] = 7
    document["weights"] = {"trading_ai": 0.5, "lava_ai": 0.5, "lgbm_ai": 0.0, "mistral_ai": 0.0}
    exported.write_text(json.dumps(document))

    imported = cli("config", "import", str(exported))
    assert imported.returncode == 0, imported.stderr
    assert "configuration version 1 active" in imported.stdout
    again = cli("config", "export")
    assert json.loads(again.stdout) == document
    mirrored = isolated_data_dir / "config" / "active_config.json"
    assert mirrored.read_text() == again.stdout

    from_stdin = cli("config", "import", "-", stdin=again.stdout)
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert "configuration version 2 active" in from_stdin.stdout
    assert "weights changed: none" in from_stdin.stdout


def test_config_import_rejections(db_path: Path, tmp_path: Path) -> None:
    open_store(db_path).close()
    before = dump(db_path)
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema_version": 9, "session": {"costs": {"fee_bps": -1}}, "x": 1}')
    done = cli("config", "import", str(bad))
    assert done.returncode == 1
    for line in (
        "schema_version: schema version 9 is newer",
        "session.costs.fee_bps: Input should be greater than or equal to 0",
        "weights: Field required",
        "x: Extra inputs are not permitted",
    ):
        assert line in done.stderr
    assert "no such file" in cli("config", "import", str(tmp_path / "none.json")).stderr
    directory = cli("config", "import", str(tmp_path))
    assert directory.returncode == 1 and "not a regular file" in directory.stderr
    assert cli("config", "import", "-", stdin="{oops").returncode == 1
    assert dump(db_path) == before
