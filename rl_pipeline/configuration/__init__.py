"""Use case package: the system configuration document (export, import, the active session
configuration, its mirror file).

- ``export_config``, ``import_config``, ``active_session_config`` (:mod:`.store`);
- ``write_mirror`` (:mod:`.mirror`).
"""

from importlib import import_module
from typing import Any

_PUBLIC = {
    "export_config": "store",
    "import_config": "store",
    "active_session_config": "store",
    "write_mirror": "mirror",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(import_module(f"{__name__}.{_PUBLIC[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
