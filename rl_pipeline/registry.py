"""The registries: the one source of the models, the update rules and the metrics, and the
plugins that add to them.

Three registries, each the single list its readers iterate:

- models: :data:`MODELS` here (``register_model``), read by the configuration (``models.<id>``
  sections, the config document's weights), the CLI (``weights set --<id>``), the API (the
  weights bodies), the store (an ``ai_models`` row for each) and the session (which models run);
- update rules: ``rl_pipeline.rl.rules`` (``register_rule``), read by ``weights.rule``, the CLI's
  ``--rule`` choices, the API's rule enum and the report's tournament;
- metrics: ``rl_pipeline.backtest.metrics`` (``register_metric``), read by every per-model and
  per-ensemble measurement and by the report (JSON, text and HTML).

A plugin is a module listed in ``RL_PIPELINE_PLUGINS`` (comma separated, importable names); it is
imported once, after the built-in entries and before any schema is built, and registers its
entries when imported. It must not import ``rl_pipeline.config`` (or anything built from it) at
import time: the configuration is built from the registries, after the plugins.

This module imports nothing of the project: every layer may read it.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

PLUGINS_ENV = "RL_PIPELINE_PLUGINS"
# The modules that register the built-in entries: imported before any plugin, so the built-in
# entries come first in every listing whichever registry is read first.
BUILTIN_MODULES = (
    "rl_pipeline.rl.rules",
    "rl_pipeline.backtest.metrics",
    "rl_pipeline.builtin_models",
)
# ai_models.model_type's CHECK constraint in the specification's DDL: a model reuses one of them.
AI_MODEL_TYPES = ("trading", "lava", "lgbm", "mistral")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")

T = TypeVar("T")


class RegistryError(ValueError):
    """A registration that cannot be accepted, or a name nobody registered."""


class Registry(Generic[T]):
    """Named entries in registration order. Reading it loads the plugins first; once a schema
    has been built from it, it is sealed: a later registration would not be seen by that schema,
    so it is refused."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._sealed_by: str | None = None

    def register(self, name: str, entry: T) -> T:
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise RegistryError(
                f"{self.kind} name {name!r}: must be lower case letters, digits and underscores, "
                "starting with a letter"
            )
        if name in self._entries:
            raise RegistryError(f"{self.kind} {name!r} is registered already")
        if self._sealed_by is not None:
            raise RegistryError(
                f"{self.kind} {name!r} registered after {self._sealed_by} was built from the "
                f"{self.kind} registry: register it in a plugin module listed in {PLUGINS_ENV}, "
                "which must not import rl_pipeline.config"
            )
        self._entries[name] = entry
        return entry

    def seal(self, by: str) -> None:
        """``by`` (e.g. 'the configuration schema') now depends on the entries as they are."""
        if self._sealed_by is None:
            self._sealed_by = by

    def names(self) -> tuple[str, ...]:
        load_plugins()
        return tuple(self._entries)

    def entries(self) -> tuple[T, ...]:
        load_plugins()
        return tuple(self._entries.values())

    def get(self, name: str) -> T:
        load_plugins()
        try:
            return self._entries[name]
        except KeyError:
            raise RegistryError(
                f"unknown {self.kind} {name!r}; registered: {', '.join(self._entries)}"
            ) from None

    def __contains__(self, name: object) -> bool:
        load_plugins()
        return name in self._entries

    @contextmanager
    def temporarily(self, name: str, entry: T) -> Iterator[T]:
        """For tests in one process: ``entry`` is registered until the block ends, even in a
        sealed registry (the schemas built already do not know it)."""
        load_plugins()
        if name in self._entries:
            raise RegistryError(f"{self.kind} {name!r} is registered already")
        self._entries[name] = entry
        try:
            yield entry
        finally:
            del self._entries[name]


_plugins_state = "not loaded"  # -> "loading" -> "loaded"


def plugin_modules() -> tuple[str, ...]:
    """The plugin modules named in ``RL_PIPELINE_PLUGINS``."""
    return tuple(p.strip() for p in os.environ.get(PLUGINS_ENV, "").split(",") if p.strip())


def load_plugins() -> None:
    """Import the built-in entries' modules, then every plugin module, once per process."""
    global _plugins_state
    if _plugins_state != "not loaded":
        return
    _plugins_state = "loading"
    try:
        for module in BUILTIN_MODULES:
            importlib.import_module(module)
        for module in plugin_modules():
            try:
                importlib.import_module(module)
            except ImportError as exc:
                raise RegistryError(
                    f"{PLUGINS_ENV}: cannot import plugin {module!r}: {exc}"
                ) from exc
    finally:
        _plugins_state = "loaded"


# -- models ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelSpec:
    """One model. ``model`` is its class (or any callable, or ``"package.module:Class"``,
    imported when a session first builds it), called as ``model(section, context)``:
    ``section`` is the session's ``models.<model_id>`` configuration (an instance of
    ``section``; None when the model has no section) and ``context`` the session's
    ``ModelContext``.

    ``model_name`` and ``model_type`` fill its ``ai_models`` row (the store adds the row when
    missing, at ``seed_weight``: keep 0 so the live weights still sum to 1); ``model_type`` must
    be one of the specification's types."""

    model_id: str
    model_name: str
    model_type: str
    model: Callable[..., Any] | str
    section: type | None = None
    seed_weight: float = 0.0
    summary: str = ""

    def __post_init__(self) -> None:
        where = f"model {self.model_id!r}"
        if self.model_type not in AI_MODEL_TYPES:
            raise RegistryError(
                f"{where}: model_type {self.model_type!r} is not one of ai_models.model_type's "
                f"types ({', '.join(AI_MODEL_TYPES)})"
            )
        if not 0.0 <= self.seed_weight <= 1.0:
            raise RegistryError(f"{where}: seed_weight must be in [0, 1]")
        if not self.model_name:
            raise RegistryError(f"{where}: model_name must not be empty")

    @property
    def option(self) -> str:
        """The CLI option of its weight (``--lava-ai``)."""
        return "--" + self.model_id.replace("_", "-")

    @property
    def weight_field(self) -> str:
        """The API field of its weight (``lava_ai_weight``)."""
        return f"{self.model_id}_weight"

    def model_class(self) -> Callable[..., Any]:
        if not isinstance(self.model, str):
            return self.model
        module, _, name = self.model.partition(":")
        return getattr(importlib.import_module(module), name)


MODELS: Registry[ModelSpec] = Registry("model")


def register_model(spec: ModelSpec) -> ModelSpec:
    if not isinstance(spec, ModelSpec):
        raise RegistryError(f"register_model takes a ModelSpec, got {type(spec).__name__}")
    return MODELS.register(spec.model_id, spec)


def model_ids() -> tuple[str, ...]:
    return MODELS.names()


def model_specs() -> tuple[ModelSpec, ...]:
    return MODELS.entries()
