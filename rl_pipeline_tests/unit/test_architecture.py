"""The architecture as a checked contract: the import-linter contracts in pyproject.toml hold
(core without adapters, adapters apart, store at the bottom, no import cycles), and SQLite SQL
is written only under store/."""

from __future__ import annotations

import ast
import subprocess

from rl_pipeline_tests.conftest import PROJECT_ROOT, VENV_BIN

PACKAGE = PROJECT_ROOT / "rl_pipeline"
# DuckDB SQL: analytics over the store, and the file reader of the importer.
DUCKDB_MODULES = {"rl_pipeline/market_data/importer.py"}
SQL_CALLS = {"execute", "executemany", "executescript"}


def test_import_contracts_hold() -> None:
    done = subprocess.run(
        [str(VENV_BIN / "lint-imports")],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert "4 kept, 0 broken" in done.stdout


def sql_calls_outside_the_store() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PROJECT_ROOT).as_posix()
        if relative.startswith(("rl_pipeline/store/", "rl_pipeline/analytics/")):
            continue
        if relative in DUCKDB_MODULES:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in SQL_CALLS
            ):
                found.append(f"{relative}:{node.lineno}")
    return found


def test_sqlite_sql_lives_only_in_the_store() -> None:
    assert sql_calls_outside_the_store() == []
