"""LavaAI and LGBMAI: walk-forward training, fixed seeds, saved and versioned artifacts."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
from pathlib import Path

import joblib
import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from rl_pipeline.config import LavaAIConfig, LGBMAIConfig, SessionConfig
from rl_pipeline.features.technical import build_features
from rl_pipeline.models.base import ModelContext
from rl_pipeline.models.lava_ai import LavaAI
from rl_pipeline.models.lgbm_ai import LGBMAI
from rl_pipeline.models.walk_forward import fit_chunk, forward_labels
from rl_pipeline.session import stages as stages
from rl_pipeline.store.model_versions import list_versions

DAY = 86_400
MODELS = [
    (LavaAI, LavaAIConfig(retrain_every_days=3, min_train_rows=200)),
    (LGBMAI, LGBMAIConfig(retrain_every_days=3, min_train_rows=200, n_estimators=30)),
]


@pytest.fixture(scope="module")
def features(small_bars: pd.DataFrame) -> pd.DataFrame:
    return build_features(small_bars)


def decided(features: pd.DataFrame, days: int = 10) -> np.ndarray:
    ts = features["ts"].to_numpy()
    return ts > ts.max() - days * DAY


def test_forward_labels_stay_within_their_symbol() -> None:
    frame = pd.DataFrame(
        {"symbol": ["A", "A", "A", "B", "B"], "ts": [0, 1, 2, 0, 1], "close": [1, 2, 1, 5, 6.0]}
    )
    label, end = forward_labels(frame, 1)
    assert label.tolist() == [1, 0, 0, 1, 0]
    assert end.tolist() == [1, 2, -1, 1, -1]


@pytest.mark.parametrize(("cls", "params"), MODELS)
def test_each_fit_uses_only_labels_known_before_its_chunk(cls, params, features, tmp_path) -> None:
    model = cls(params, ModelContext("s", artifacts_dir=tmp_path))
    decide = decided(features)
    signals = model.predict(features, decide)
    assert len(model.trained) >= 3
    assert set(np.unique(signals.signal[decide])) <= {-1, 0, 1}
    assert (signals.signal[~decide] == 0).all()
    # Change every close from a chunk's first bar on (features left alone): the labels the
    # chunk's model could learn from would change if it peeked, its predictions must not.
    ts = features["ts"].to_numpy()
    step = params.retrain_every_days * DAY
    rng = np.random.default_rng(0)
    for artifact in model.trained[:3]:
        later = ts >= artifact.cutoff_ts
        broken = features.copy()
        broken.loc[later, "close"] = broken.loc[later, "close"] * rng.uniform(0.5, 1.5, later.sum())
        again = cls(params, ModelContext("s")).predict(broken, decide)
        chunk = decide & later & (ts < artifact.cutoff_ts + step)
        assert chunk.any()
        np.testing.assert_array_equal(again.signal[chunk], signals.signal[chunk])
        np.testing.assert_array_equal(again.confidence[chunk], signals.confidence[chunk])


@pytest.mark.parametrize(("cls", "params"), MODELS)
def test_fixed_seeds_give_identical_models(cls, params, features, tmp_path) -> None:
    decide = decided(features)
    a = cls(params, ModelContext("a", artifacts_dir=tmp_path / "a"))
    b = cls(params, ModelContext("b", artifacts_dir=tmp_path / "b"))
    sa, sb = a.predict(features, decide), b.predict(features, decide)
    np.testing.assert_array_equal(sa.signal, sb.signal)
    np.testing.assert_array_equal(sa.confidence, sb.confidence)


@pytest.mark.parametrize(("cls", "params"), MODELS)
def test_artifacts_are_saved_with_their_sha256_and_load_back(cls, params, features, tmp_path):
    model = cls(params, ModelContext("s", artifacts_dir=tmp_path))
    model.predict(features, decided(features))
    for artifact in model.trained:
        data = Path(artifact.path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == artifact.sha256
        assert artifact.metrics["train_rows"] == artifact.train_rows >= params.min_train_rows
    last = model.trained[-1].path
    if cls is LavaAI:
        restored = joblib.load(last)
        assert restored.predict_proba(np.zeros((1, restored.n_features_in_))).shape == (1, 2)
    else:
        booster = lgb.Booster(model_file=last)
        assert booster.num_trees() > 0


@pytest.mark.parametrize(("cls", "params"), MODELS)
def test_recorded_training_accuracy_is_the_saved_models_accuracy_on_its_training_rows(
    cls, params, features
):
    # LGBMAI reads it from LightGBM's own training scores instead of predicting again: it must
    # be exactly what the saved model predicts for the rows it was fitted on.
    plan = cls(params).plan(features, decided(features))
    assert len(plan.fits) >= 3
    for task in plan.fits:
        artifact, _, accuracy = fit_chunk(task)
        x_train = task.x[task.train_rows]
        if cls is LavaAI:
            predicted = joblib.load(io.BytesIO(artifact)).predict(x_train)
        else:
            predicted = (lgb.Booster(model_str=artifact.decode()).predict(x_train) > 0.5) * 1
        assert accuracy == np.mean(predicted == task.y_train)
        assert 0.5 < accuracy < 1.0  # a real fit of noisy labels: neither chance nor a copy


def test_a_session_records_every_trained_model_as_a_version(small_store: sqlite3.Connection):
    config = SessionConfig(test_period_days=10, backtest={"history_days": 30})
    summary = stages.run_session(small_store, config, publish=True)
    # The session's own 'session' versions (one per model) come after these.
    versions = [v for v in list_versions(small_store) if v["kind"] == "trained"]
    by_model = {m: [v for v in versions if v["model_id"] == m] for m in ("lava_ai", "lgbm_ai")}
    for model_id, rows in by_model.items():
        assert len(rows) >= 2, model_id
        assert [r["version_number"] for r in rows] == list(range(1, len(rows) + 1))
        assert rows[0]["parent_version_id"] is None
        assert [r["parent_version_id"] for r in rows[1:]] == [r["version_id"] for r in rows[:-1]]
        for r in rows:
            assert r["session_id"] == summary.session_id and r["kind"] == "trained"
            digest = hashlib.sha256(Path(r["artifact_path"]).read_bytes()).hexdigest()
            assert r["artifact_sha256"] == digest
            assert json.loads(r["parameters"])["seed"] == 7
            assert "train_accuracy" in json.loads(r["metrics"])
    assert not [v for v in versions if v["model_id"] == "trading_ai"]


def test_a_failed_session_leaves_no_versions_and_no_artifacts(small_store: sqlite3.Connection):
    small_store.execute(
        "CREATE TRIGGER refuse_metrics BEFORE INSERT ON performance_metrics "
        "BEGIN SELECT RAISE(ABORT, 'no'); END"
    )
    with pytest.raises(sqlite3.IntegrityError):
        stages.run_session(
            small_store, SessionConfig(test_period_days=10), session_id="gone", publish=True
        )
    assert list_versions(small_store) == []
    assert not stages.session_artifacts_dir("gone").exists()
