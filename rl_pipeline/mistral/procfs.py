"""What ``/proc`` says about a process: alive, its start time, its command line (Linux only)."""

from __future__ import annotations

from pathlib import Path

PROC = Path("/proc")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may itself contain spaces or ')'.
    return text[text.rindex(")") + 2 :].split()


def start_ticks(pid: int) -> int | None:
    """Field 22 of ``/proc/<pid>/stat`` (start time in clock ticks since boot); None if gone.

    Together with the pid it identifies one process: a reused pid has a later start time.
    """
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None  # fields[0] is field 3 (state)


def is_alive(pid: int) -> bool:
    """The process exists and is not a zombie (an exited child its parent has not reaped yet)."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def cmdline(pid: int) -> list[str]:
    """The argv of a live process, or ``[]``."""
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def is_same_process(pid: int, ticks: int | None, binary: str | None = None) -> bool:
    """``pid`` is alive, started at ``ticks`` and (if given) runs ``binary`` as argv[0]."""
    if not is_alive(pid) or ticks is None or start_ticks(pid) != ticks:
        return False
    if binary is None:
        return True
    argv = cmdline(pid)
    return bool(argv) and argv[0] == binary


def find_processes(needle: str) -> list[int]:
    """Pids of live processes whose command line contains ``needle`` (used by tests and checks)."""
    pids = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        if is_alive(pid) and any(needle in arg for arg in cmdline(pid)):
            pids.append(pid)
    return sorted(pids)
