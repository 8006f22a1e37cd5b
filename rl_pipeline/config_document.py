"""The whole system configuration as one versioned JSON document (config export/import).

``{"schema_version": 1, "session": <SessionConfig>, "weights": {model_id: weight}}``: the session
part is the one typed session configuration; the weights part is the live weight of each model.
Both are strict (no unknown keys, no strings for numbers) so a document means exactly one thing;
read documents with :func:`parse_document` (strictness must be asked for at validation time to
reach the nested ``SessionConfig``, whose own models are lax).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator
from pydantic_core import PydanticCustomError

from rl_pipeline.config import MODEL_IDS, SessionConfig

SCHEMA_VERSION = 1


class _WeightVectorBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


# One weight per registered model, all required. A weight is a finite real in [0, 1]; the sum
# rule depends on which models are active, so it is checked by the weight manager against the
# store, not here.
WeightVector = create_model(
    "WeightVector",
    __base__=_WeightVectorBase,
    __doc__="One weight per model, every registered model required.",
    **{m: (float, Field(ge=0, le=1, allow_inf_nan=False)) for m in MODEL_IDS},
)


class SystemConfig(BaseModel):
    """The document that ``rl-pipeline config export`` writes and ``config import`` reads."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    schema_version: int = Field(ge=1)
    session: SessionConfig
    weights: WeightVector

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value > SCHEMA_VERSION:
            raise PydanticCustomError(
                "future_schema_version",
                "schema version {version} is newer than this program reads ({supported}); "
                "upgrade rl_pipeline to import it",
                {"version": value, "supported": SCHEMA_VERSION},
            )
        return value


def parse_document(text: str | bytes) -> SystemConfig:
    """Validate a JSON document strictly; raises pydantic's ``ValidationError``."""
    return SystemConfig.model_validate_json(text, strict=True)
