"""The registry of update rules: one module per rule, found by name (``weights.rule``).

A further rule is one module (a plugin, see ``rl_pipeline.registry``) with an ``UpdateRule``
subclass and a ``register_rule`` call."""

from __future__ import annotations

from rl_pipeline.registry import Registry, RegistryError
from rl_pipeline.rl.rules.base import UpdateRule
from rl_pipeline.rl.rules.binary import BinaryRule
from rl_pipeline.rl.rules.fixed_share import FixedShareRule
from rl_pipeline.rl.rules.hedge import HedgeRule
from rl_pipeline.rl.rules.pnl_scaled import PnlScaledRule

RULES: Registry[UpdateRule] = Registry("rule")


def register_rule(rule: UpdateRule) -> UpdateRule:
    """Register an instance of an ``UpdateRule`` subclass under its ``name``."""
    if not isinstance(rule, UpdateRule):
        raise RegistryError(f"register_rule takes an UpdateRule, got {type(rule).__name__}")
    return RULES.register(rule.name, rule)


for _rule in (BinaryRule(), PnlScaledRule(), HedgeRule(), FixedShareRule()):
    register_rule(_rule)


def rule_names() -> tuple[str, ...]:
    return RULES.names()


def get_rule(name: str) -> UpdateRule:
    return RULES.get(name)


__all__ = ["RULES", "UpdateRule", "get_rule", "register_rule", "rule_names"]
