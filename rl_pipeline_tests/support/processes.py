"""Process and port helpers for tests that run real servers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from rl_pipeline.mistral import procfs


def popen_interruptible(args: list[str], **kwargs) -> subprocess.Popen:
    """``subprocess.Popen`` whose child takes SIGINT (and, for Dagster's commands, SIGTERM) with
    its default action even where the tests run with SIGINT ignored (a background job of a
    non-interactive shell): a child inherits an ignored signal, and dagster then makes SIGTERM
    do what SIGINT does. A signal handled here is reset to its default in the child at exec."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return subprocess.Popen(args, **kwargs)
    finally:
        signal.signal(signal.SIGINT, previous)


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
