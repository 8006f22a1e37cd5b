"""Use case package: the live weights and everything that changes them outside a session.

- ``get_weights``, ``set_weights`` (the weight manager, :mod:`.live`);
- ``learn_weights`` (a session's weights from its trades or periods, any rule, :mod:`.learning`);
- ``list_versions``, ``rollback`` (model versions, :mod:`.versions`);
- ``apply_weight_change_in`` (the one writer of manual changes, :mod:`.changes`).
"""

from rl_pipeline.lazy_exports import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "get_weights": "live",
        "set_weights": "live",
        "learn_weights": "learning",
        "list_versions": "versions",
        "rollback": "versions",
        "apply_weight_change_in": "changes",
    },
)
