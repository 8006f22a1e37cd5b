"""Launching, watching and killing the server process and its process group (Linux)."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from rl_pipeline.mistral import procfs
from rl_pipeline.mistral.errors import MistralServerError, PortInUseError

_PR_SET_PDEATHSIG = 1

# Servers launched by this process, so that whoever checks on them here can reap them (a zombie
# would otherwise linger until the Popen object is collected).
_children: dict[int, subprocess.Popen[bytes]] = {}


def check_port_free(host: str, port: int) -> None:
    """Raise ``PortInUseError`` if something already listens on ``host:port``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # The server sets SO_REUSEADDR too: connections in TIME_WAIT must not count as "in use".
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUseError(
                    f"port {port} on {host} is already in use by another program; "
                    "stop it or choose another port (--port)"
                ) from exc
            raise PortInUseError(f"cannot bind {host}:{port}: {exc.strerror}") from exc


def _die_with_parent_preexec() -> Callable[[], None]:
    """A ``preexec_fn`` that makes the child get SIGKILL when its parent dies.

    libc and prctl are looked up here, before fork: the child must only make the system call.
    PR_SET_PDEATHSIG fires when the *thread* that forked exits, so an owning caller must start the
    server from a thread that lives as long as the server should.
    """
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


def launch(cmd: Sequence[str], log_path: Path, *, die_with_parent: bool) -> subprocess.Popen[bytes]:
    """Start ``cmd`` in a new session/process group, stdout and stderr to ``log_path``."""
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            list(cmd),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Own process group: stop/timeout kill the whole group, and a Ctrl-C in the terminal
            # that ran `rl-pipeline mistral start` does not reach a shared server.
            start_new_session=True,
            preexec_fn=_die_with_parent_preexec() if die_with_parent else None,
        )
    _children[proc.pid] = proc
    return proc


def reap(pid: int) -> None:
    """Collect the exit status of our own exited child ``pid`` (no-op for other processes)."""
    proc = _children.get(pid)
    if proc is not None and proc.poll() is not None:
        del _children[pid]


def wait_gone(pid: int, timeout_s: float) -> bool:
    """Wait until ``pid`` has exited (a zombie counts as exited); True if it did in time."""
    deadline = time.monotonic() + timeout_s
    while True:
        reap(pid)
        if not procfs.is_alive(pid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


def kill_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def kill_and_reap(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process group led by ``proc`` and wait for it (start failed or timed out)."""
    if proc.returncode is None:  # once reaped, its group id may already belong to someone else
        kill_group(proc.pid, signal.SIGKILL)
        proc.wait()
    _children.pop(proc.pid, None)


def terminate(pid: int, pgid: int, ticks: int, grace_s: float) -> bool:
    """SIGTERM the group, SIGKILL it after ``grace_s``; True if SIGKILL was needed.

    Signals go to the group only while its leader is verifiably our process, so a recycled pid or
    group id is never hit.
    """
    kill_group(pgid, signal.SIGTERM)
    if wait_gone(pid, grace_s):
        return False
    if procfs.is_same_process(pid, ticks):
        kill_group(pgid, signal.SIGKILL)
    if not wait_gone(pid, 10.0):
        raise MistralServerError(f"server pid {pid} survived SIGKILL for 10 s")
    return True


def log_tail(log_path: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of the server log, for error messages."""
    try:
        data = log_path.read_bytes()[-16384:]
    except OSError:
        return f"(no log at {log_path})"
    return "\n".join(data.decode(errors="replace").splitlines()[-lines:])
