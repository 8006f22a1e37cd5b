"""Process and port helpers for tests that run real servers."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

from rl_pipeline.mistral import procfs


def pick_free_port() -> int:
    """A port nothing listens on right now (the kernel's choice)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def servers_of(path: Path | str) -> list[int]:
    """Live processes whose command line mentions ``path`` (a model file or its folder)."""
    return procfs.find_processes(str(path))


def wait_until(predicate: Callable[[], bool], timeout_s: float = 5.0) -> bool:
    """Poll ``predicate`` until true or ``timeout_s`` passed; returns its last value."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def processes_with_env(name: str, value: str) -> list[int]:
    """Live processes (of this user) whose environment has ``name=value``: every process a
    server started inherits it, wherever it was re-parented."""
    wanted = f"{name}={value}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        if not procfs.is_alive(int(entry.name)):
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if wanted in environ.split(b"\0"):
            found.append(int(entry.name))
    return found
