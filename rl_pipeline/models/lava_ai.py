"""LavaAI: a scikit-learn pipeline (standardise, then logistic regression) on the engineered
features, predicting the direction over the next ``horizon_bars``; trained walk-forward."""

from __future__ import annotations

import io
from typing import Any

from rl_pipeline.config import LavaAIConfig
from rl_pipeline.market.intervals import fill_section
from rl_pipeline.models.base import ModelContext
from rl_pipeline.models.walk_forward import WalkForwardClassifier


class LavaAI(WalkForwardClassifier):
    model_id = "lava_ai"
    artifact_suffix = ".joblib"
    fit_modules = ("sklearn.linear_model", "sklearn.pipeline", "sklearn.preprocessing")

    def __init__(self, params: LavaAIConfig, context: ModelContext | None = None) -> None:
        super().__init__(params, context)
        self.params: LavaAIConfig = fill_section(params)

    @classmethod
    def estimator_for(cls, params: LavaAIConfig) -> Any:
        # Imported here: a session whose fits run on workers never loads scikit-learn itself.
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler

        return Pipeline(
            [
                ("scale", StandardScaler()),
                (
                    "classify",
                    LogisticRegression(
                        C=params.inverse_regularisation,
                        max_iter=500,
                        random_state=params.seed,
                    ),
                ),
            ]
        )

    @classmethod
    def serialize_estimator(cls, estimator: Any) -> bytes:
        import joblib

        buffer = io.BytesIO()
        joblib.dump(estimator, buffer)
        return buffer.getvalue()
