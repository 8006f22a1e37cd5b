"""Run config of a reinforcement session: a Dagster view of :class:`SessionConfig`, derived from
it field by field (nested sections, descriptions and all), so every session field is reachable
from run config and a field added to ``SessionConfig`` appears here by itself.

Every field is optional: a field the run config names overrides the active stored
configuration (``rl-pipeline config import``), every other field keeps the stored value.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Optional

import dagster as dg
from pydantic import BaseModel, Field, create_model

from rl_pipeline.config import SessionConfig

SECTION_DESCRIPTIONS = {
    "costs": "Trading costs of every simulated fill.",
    "backtest": "Capital, trade size, annualisation and history loaded before the test period.",
    "weights": "The reinforcement rule turning closed trades into weight changes.",
    "models": "Parameters of each model.",
    "ensemble": "How the weighted signals become a position.",
    "mistral": "The llama-server behind MistralAI.",
}


def _is_section(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _leaf_type(annotation: Any) -> Any:
    """The Dagster-friendly type of one leaf field (tuples become lists; ``X | None`` is X,
    since every run-config field is optional anyway)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _leaf_type(args[0])
    if origin is tuple:
        return list[typing.get_args(annotation)[0]]
    if origin is typing.Literal:
        # Dagster has no optional Literal; the choices are in the description and SessionConfig
        # validates the value.
        return type(typing.get_args(annotation)[0])
    return annotation


def _description(field: Any, default: Any) -> str:
    text = field.description or ""
    if typing.get_origin(field.annotation) is typing.Literal:
        choices = " | ".join(map(str, typing.get_args(field.annotation)))
        text = f"{text}; one of {choices}" if text else f"one of {choices}"
    shown = list(default) if isinstance(default, tuple) else default
    suffix = f"default {shown!r}; unset = the active stored configuration's value"
    return f"{text} ({suffix})" if text else suffix


def run_config_class(model: type[BaseModel], name: str) -> type[dg.Config]:
    """A ``dg.Config`` mirroring ``model``: the same nested sections and field names, every
    leaf optional (None = not named by the run config)."""
    fields: dict[str, Any] = {}
    for field_name, field in model.model_fields.items():
        annotation = field.annotation
        if _is_section(annotation):
            section = run_config_class(annotation, f"{name}_{field_name}")
            fields[field_name] = (
                section,
                Field(
                    default_factory=section,
                    description=SECTION_DESCRIPTIONS.get(field_name)
                    or (annotation.__doc__ or field_name).strip(),
                ),
            )
            continue
        default = field.get_default(call_default_factory=True)
        fields[field_name] = (
            Optional[_leaf_type(annotation)],  # noqa: UP045 - Dagster reads typing.Optional
            Field(None, description=_description(field, default)),
        )
    return create_model(name, __base__=dg.Config, __doc__=model.__doc__, **fields)


def named_fields(config: BaseModel) -> dict[str, Any]:
    """The fields a run config named, nested; unnamed (None) leaves and empty sections left out."""
    named: dict[str, Any] = {}
    for field_name in type(config).model_fields:
        value = getattr(config, field_name)
        if isinstance(value, BaseModel):
            inner = named_fields(value)
            if inner:
                named[field_name] = inner
        elif value is not None:
            named[field_name] = value
    return named


_SessionRunConfigBase = run_config_class(SessionConfig, "SessionRunConfigBase")


class SessionRunConfig(_SessionRunConfigBase):  # type: ignore[misc, valid-type]
    """Session parameters, overriding the active stored configuration field by field. The
    session id is the run's partition key; a session requested through the API, the CLI or a
    sensor takes its full configuration from its request instead."""

    def overrides(self) -> dict[str, Any]:
        return named_fields(self)
