"""The server's state file and the lock that serialises start/stop across processes."""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

from rl_pipeline.mistral.errors import LockTimeoutError

STATE_FILE = "mistral_server.json"
LOCK_FILE = "mistral_server.lock"
LOG_FILE = "mistral_server.log"

SHARED = "shared"


@dataclasses.dataclass(frozen=True)
class ServerState:
    """What a manager records about the server it launched."""

    pid: int
    pgid: int
    port: int
    host: str
    model_path: str
    binary: str
    started_at: str  # ISO 8601, UTC
    proc_start_ticks: int  # /proc/<pid>/stat field 22: tells our process from a reused pid
    owner: str | int  # SHARED, or the pid of the process whose death takes the server down
    owner_start_ticks: int | None
    log_path: str

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> ServerState:
        data = json.loads(text)
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in fields})


class StateFileError(ValueError):
    """The state file exists but cannot be parsed."""


def read_state(path: Path) -> ServerState | None:
    """The recorded state, None when there is no file; ``StateFileError`` when it is corrupt."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    try:
        return ServerState.from_json(text)
    except (ValueError, TypeError) as exc:
        raise StateFileError(f"unreadable state file {path}: {exc}") from exc


def write_state(path: Path, state: ServerState) -> None:
    """Write atomically, so a reader never sees half a file."""
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(state.to_json())
    os.replace(tmp, path)


def remove_state(path: Path) -> None:
    path.unlink(missing_ok=True)


@contextlib.contextmanager
def exclusive_lock(path: Path, timeout_s: float) -> Iterator[None]:
    """``flock`` on ``path``: one start/stop at a time across every process on the machine."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() > deadline:
                    raise LockTimeoutError(
                        f"another process has held {path} for more than {timeout_s:.0f} s "
                        "(a server start or stop in progress)"
                    ) from exc
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
