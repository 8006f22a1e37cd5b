"""The LLM answer cache: a rerun of a session asks the server nothing it has asked before."""

from __future__ import annotations

import sqlite3

from rl_pipeline.store.connection import transaction


class SqliteAnswerCache:
    """Answers keyed by (prompt sha256, model file sha256); counts hits and misses."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.hits = 0
        self.misses = 0

    def get(self, prompt_sha256: str, model_sha256: str) -> str | None:
        row = self.conn.execute(
            "SELECT answer FROM llm_answers WHERE prompt_sha256 = ? AND model_sha256 = ?",
            (prompt_sha256, model_sha256),
        ).fetchone()
        if row is None:
            self.misses += 1
            return None
        self.hits += 1
        return row[0]

    def put(self, prompt_sha256: str, model_sha256: str, prompt: str, answer: str) -> None:
        with transaction(self.conn):
            self.conn.execute(
                "INSERT OR REPLACE INTO llm_answers (prompt_sha256, model_sha256, prompt, answer) "
                "VALUES (?, ?, ?, ?)",
                (prompt_sha256, model_sha256, prompt, answer),
            )
