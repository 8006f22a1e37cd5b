"""Use case package: the system configuration document (export, import, the active session
configuration, its mirror file).

- ``export_config``, ``import_config``, ``active_session_config`` (:mod:`.store`);
- ``write_mirror`` (:mod:`.mirror`).
"""

from rl_pipeline.lazy_exports import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "export_config": "store",
        "import_config": "store",
        "active_session_config": "store",
        "write_mirror": "mirror",
    },
)
