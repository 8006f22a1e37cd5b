"""Use case package: the live weights and everything that changes them outside a session.

- ``get_weights``, ``set_weights`` (the weight manager, :mod:`.live`);
- ``learn_weights`` (a session's weights from its trades or periods, any rule, :mod:`.learning`);
- ``list_versions``, ``rollback`` (model versions, :mod:`.versions`);
- ``apply_weight_change_in`` (the one writer of manual changes, :mod:`.changes`).
"""

from importlib import import_module
from typing import Any

_PUBLIC = {
    "get_weights": "live",
    "set_weights": "live",
    "learn_weights": "learning",
    "list_versions": "versions",
    "rollback": "versions",
    "apply_weight_change_in": "changes",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(import_module(f"{__name__}.{_PUBLIC[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
