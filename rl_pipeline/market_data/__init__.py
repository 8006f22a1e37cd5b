"""Use case package: the user's market data (the market domain itself is :mod:`rl_pipeline.market`).

- ``import_market_data``, ``list_market_data``, ``delete_market_data`` (:mod:`.data`);
- ``import_bar_files`` (the all-or-nothing CSV/Parquet importer, :mod:`.importer`);
- ``process_inbox`` (files dropped into the inbox, :mod:`.inbox`);
- ``init_store`` (migrations and the embedded default data, :mod:`.setup`).
"""

from importlib import import_module
from typing import Any

_PUBLIC = {
    "import_market_data": "data",
    "list_market_data": "data",
    "delete_market_data": "data",
    "import_bar_files": "importer",
    "process_inbox": "inbox",
    "init_store": "setup",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(import_module(f"{__name__}.{_PUBLIC[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
