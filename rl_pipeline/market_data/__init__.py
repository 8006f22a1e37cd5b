"""Use case package: the user's market data (the market domain itself is :mod:`rl_pipeline.market`).

- ``import_market_data``, ``list_market_data``, ``delete_market_data`` (:mod:`.data`);
- ``import_bar_files`` (the all-or-nothing CSV/Parquet importer, :mod:`.importer`);
- ``process_inbox`` (files dropped into the inbox, :mod:`.inbox`);
- ``init_store`` (migrations and the embedded default data, :mod:`.setup`).
"""

from rl_pipeline.lazy_exports import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "import_market_data": "data",
        "list_market_data": "data",
        "delete_market_data": "data",
        "import_bar_files": "importer",
        "process_inbox": "inbox",
        "init_store": "setup",
    },
)
