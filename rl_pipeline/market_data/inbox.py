"""Use case: files dropped into the incoming folder are validated and imported, or moved aside
with their error — never silently dropped."""

from __future__ import annotations

import logging
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from rl_pipeline.market.validation import BarValidationError
from rl_pipeline.market_data.importer import READERS, import_bar_file
from rl_pipeline.store.bars import BarConflictError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InboxOutcome:
    imported: list[str]
    rejected: dict[str, str]


def pending_files(inbox: Path) -> list[Path]:
    if not inbox.is_dir():
        return []
    return sorted(p for p in inbox.iterdir() if p.is_file() and p.suffix.lower() in READERS)


def reject(inbox: Path, path: Path, reason: str) -> str:
    """Move a file to ``rejected/`` with ``<name>.error.txt`` giving the reason."""
    target = inbox / "rejected"
    target.mkdir(exist_ok=True)
    shutil.move(path, target / path.name)
    (target / f"{path.name}.error.txt").write_text(reason + "\n")
    return reason


def process_inbox(conn: sqlite3.Connection, inbox: Path) -> InboxOutcome:
    """Import every pending file; good ones go to ``imported/``, bad ones to ``rejected/`` with a
    ``<name>.error.txt`` beside them."""
    imported, rejected = [], {}
    for path in pending_files(inbox):
        try:
            result = import_bar_file(conn, path)
        except (BarValidationError, BarConflictError) as exc:
            rejected[path.name] = reject(inbox, path, str(exc))
            continue
        except Exception as exc:  # noqa: BLE001 - one bad file never stops the files after it
            log.exception("inbox file %s failed", path.name)
            rejected[path.name] = reject(inbox, path, f"{type(exc).__name__}: {exc}")
            continue
        target = inbox / "imported"
        target.mkdir(exist_ok=True)
        shutil.move(path, target / path.name)
        imported.append(f"{result.file} ({result.rows} bars)")
    return InboxOutcome(imported, rejected)
