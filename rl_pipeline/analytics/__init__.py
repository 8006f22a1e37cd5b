"""Analytics on DuckDB, reading the canonical SQLite store in place (never a copy).

Plain core: the HTTP API, the CLI and the notebook call these same functions.
"""
