"""LGBMAI: a LightGBM classifier of forward direction, trained walk-forward with fixed seeds and
LightGBM's deterministic mode, so a rerun gives the same trees."""

from __future__ import annotations

from typing import Any

import numpy as np

from rl_pipeline.config import LGBMAIConfig
from rl_pipeline.market.intervals import fill_section
from rl_pipeline.models.base import ModelContext
from rl_pipeline.models.walk_forward import WalkForwardClassifier


class LGBMAI(WalkForwardClassifier):
    model_id = "lgbm_ai"
    artifact_suffix = ".lgbm.txt"
    fit_cost_per_row = 6.0  # boosted trees take about six times a logistic regression's time
    fit_modules = ("lightgbm",)

    def __init__(self, params: LGBMAIConfig, context: ModelContext | None = None) -> None:
        super().__init__(params, context)
        self.params: LGBMAIConfig = fill_section(params)

    @classmethod
    def estimator_for(cls, p: LGBMAIConfig) -> Any:
        # Imported here: a session whose fits run on workers never loads LightGBM itself.
        import lightgbm as lgb

        return lgb.LGBMClassifier(
            n_estimators=p.n_estimators,
            learning_rate=p.learning_rate,
            num_leaves=p.num_leaves,
            min_child_samples=p.min_child_samples,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.8,
            random_state=p.seed,
            deterministic=True,
            force_row_wise=True,
            n_jobs=1,
            verbose=-1,
        )

    @classmethod
    def fit_estimator(cls, estimator: Any, x_train: np.ndarray, y_train: np.ndarray) -> float:
        # The training accuracy is read from the scores LightGBM keeps for its training rows
        # while it boosts (the booster drops them when training ends): predicting the training
        # rows again took about a sixth of each fit. P(up) > 0.5 is predict()'s own rule.
        predicted_up: list[np.ndarray] = []

        def read_training_scores(up: np.ndarray, _: Any) -> tuple[str, float, bool]:
            predicted_up.append(up > 0.5)
            return "unused", 0.0, True

        def at_last_round(env: Any) -> None:
            if env.iteration == env.end_iteration - 1:
                env.model.eval_train(read_training_scores)

        estimator.fit(x_train, y_train, callbacks=[at_last_round])
        return float((predicted_up[0] == (y_train == estimator.classes_[1])).mean())

    @classmethod
    def serialize_estimator(cls, estimator: Any) -> bytes:
        # The text save_model writes (model_to_string appends the same pandas_categorical line).
        return estimator.booster_.model_to_string().encode()
