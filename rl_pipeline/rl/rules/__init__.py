"""The registry of update rules: one module per rule, found by name (``weights.rule``)."""

from __future__ import annotations

from rl_pipeline.rl.rules.base import UpdateRule
from rl_pipeline.rl.rules.binary import BinaryRule
from rl_pipeline.rl.rules.fixed_share import FixedShareRule
from rl_pipeline.rl.rules.hedge import HedgeRule
from rl_pipeline.rl.rules.pnl_scaled import PnlScaledRule

RULES: dict[str, UpdateRule] = {
    rule.name: rule for rule in (BinaryRule(), PnlScaledRule(), HedgeRule(), FixedShareRule())
}


def rule_names() -> tuple[str, ...]:
    return tuple(RULES)


def get_rule(name: str) -> UpdateRule:
    try:
        return RULES[name]
    except KeyError:
        raise ValueError(f"unknown rule {name!r}; registered: {', '.join(RULES)}") from None


__all__ = ["RULES", "UpdateRule", "get_rule", "rule_names"]
