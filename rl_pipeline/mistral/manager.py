"""``MistralServerManager``: start, stop and inspect one local llama-server from any process.

The truth is the live process, not the state file: every answer checks the recorded pid against
``/proc`` (start time and binary, so a reused pid is not "our server") and probes ``/health``.
Start and stop hold an exclusive file lock, so two processes never start two servers.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, TypedDict

from rl_pipeline import paths
from rl_pipeline.config import MistralConfig
from rl_pipeline.mistral import procfs
from rl_pipeline.mistral.binary import resolve_server_binary
from rl_pipeline.mistral.errors import (
    ModelNotConfiguredError,
    PortInUseError,
    ServerAlreadyRunningError,
    ServerExitedError,
    ServerUnhealthyError,
    StartTimeoutError,
)
from rl_pipeline.mistral.model_file import check_model_file
from rl_pipeline.mistral.process import (
    check_port_free,
    kill_and_reap,
    launch,
    log_tail,
    reap,
    terminate,
)
from rl_pipeline.mistral.state import (
    LOCK_FILE,
    LOG_FILE,
    SHARED,
    STATE_FILE,
    ServerState,
    StateFileError,
    exclusive_lock,
    read_state,
    remove_state,
    write_state,
)
from rl_pipeline.mistral.transport import base_url, probe_health

State = Literal["running", "stopped", "crashed"]

# One slot gets the whole context (the default splits --ctx-size between several slots); the web
# UI is of no use to the pipeline.
DEFAULT_EXTRA_ARGS: tuple[str, ...] = ("--parallel", "1", "--no-webui")
# llama-server's own message when its port is taken (it binds before loading the model).
_BIND_FAILURE = "couldn't bind HTTP server socket"


class StartResult(TypedDict):
    status: bool
    pid: int
    port: int
    base_url: str
    model_path: str
    already_running: bool


class StopResult(TypedDict):
    status: bool  # True when a server was stopped
    pid: int | None
    port: int | None
    forced: bool  # SIGKILL was needed after the grace period
    message: str


class ServerStatus(TypedDict):
    state: State
    healthy: bool
    pid: int | None
    port: int | None
    host: str | None
    base_url: str | None
    model_path: str | None
    started_at: str | None
    owner: str | int | None
    log_path: str | None
    detail: str


class MistralServerManager:
    """Start/stop/status of the local llama-server described by a ``MistralConfig``.

    ``state_dir`` holds the state, lock and log files (default ``paths.run_dir()``).
    """

    def __init__(
        self,
        config: MistralConfig | None = None,
        state_dir: str | Path | None = None,
        *,
        extra_args: Sequence[str] = DEFAULT_EXTRA_ARGS,
    ) -> None:
        self.config = config or MistralConfig()
        self.state_dir = Path(state_dir) if state_dir is not None else paths.run_dir()
        self.extra_args = tuple(extra_args)

    @property
    def state_path(self) -> Path:
        return self.state_dir / STATE_FILE

    @property
    def log_path(self) -> Path:
        return self.state_dir / LOG_FILE

    # -- start ------------------------------------------------------------------------------------

    def start(
        self,
        model_path: str | Path | None = None,
        port: int | None = None,
        timeout: float | None = None,
        *,
        shared: bool = False,
    ) -> StartResult:
        """Start the server and wait until ``/health`` answers 200; return it if already running.

        ``shared=False`` (the default) ties the server to the caller: it gets SIGKILL when the
        calling thread (or its whole process) dies, via PR_SET_PDEATHSIG. ``shared=True`` is for
        the CLI and the API, which start a server for others to use and exit; only the state file
        tracks it.
        Any failure leaves no server process behind.
        """
        timeout_s = float(timeout if timeout is not None else self.config.start_timeout_s)
        if timeout_s <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        # Another process may hold the lock for a whole start (its own timeout) plus a stop.
        lock_timeout = max(timeout_s, self.config.start_timeout_s) + self.config.stop_grace_s + 15
        with exclusive_lock(self.state_dir / LOCK_FILE, lock_timeout):
            current = self.status()
            if current["state"] == "running":
                return self._reuse(current, model_path, port, timeout_s)
            remove_state(self.state_path)  # a crashed or dead-owner record
            return self._launch(model_path, port, timeout_s, shared)

    def _reuse(
        self,
        current: ServerStatus,
        model_path: str | Path | None,
        port: int | None,
        timeout_s: float,
    ) -> StartResult:
        asked_model = str(Path(model_path).expanduser().resolve()) if model_path else None
        if (port is not None and port != current["port"]) or (
            asked_model is not None and asked_model != current["model_path"]
        ):
            raise ServerAlreadyRunningError(
                f"a Mistral server is already running (pid {current['pid']}, port "
                f"{current['port']}, model {current['model_path']}); stop it before starting one "
                f"with port {port or current['port']} and model "
                f"{asked_model or current['model_path']}"
            )
        url = current["base_url"] or ""
        deadline = time.monotonic() + timeout_s
        while not probe_health(url):
            if time.monotonic() >= deadline:
                raise ServerUnhealthyError(
                    f"the running Mistral server (pid {current['pid']}, port {current['port']}) "
                    f"did not answer {url}/health with 200 within {timeout_s:g} s; stop it and "
                    f"start again (log: {current['log_path']})"
                )
            time.sleep(0.1)
        return StartResult(
            status=True,
            pid=current["pid"] or 0,
            port=current["port"] or 0,
            base_url=url,
            model_path=current["model_path"] or "",
            already_running=True,
        )

    def _launch(
        self, model_path: str | Path | None, port: int | None, timeout_s: float, shared: bool
    ) -> StartResult:
        model_path = model_path or self.config.model_path
        if not model_path:
            raise ModelNotConfiguredError(
                "no model file given and none configured (mistral.model_path): pass a GGUF path, "
                "e.g. --model-path ~/models/mistral-7b-instruct-v0.2.Q4_K_M.gguf"
            )
        model = check_model_file(model_path)
        binary = resolve_server_binary(self.config.server_binary)
        host = self.config.host
        port = port or self.config.port
        check_port_free(host, port)

        self.state_dir.mkdir(parents=True, exist_ok=True)
        cmd = [
            str(binary),
            "--host",
            host,
            "--port",
            str(port),
            "-m",
            str(model),
            "--ctx-size",
            str(self.config.ctx_size),
            *self.extra_args,
        ]
        proc = launch(cmd, self.log_path, die_with_parent=not shared)
        url = base_url(host, port)
        try:
            # Recorded before waiting, so that other processes see a server that is loading.
            write_state(
                self.state_path,
                ServerState(
                    pid=proc.pid,
                    pgid=proc.pid,  # start_new_session: the server leads its own group
                    port=port,
                    host=host,
                    model_path=str(model),
                    binary=str(binary),
                    started_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    # Our unreaped child keeps its /proc entry even if it already exited.
                    proc_start_ticks=procfs.start_ticks(proc.pid) or 0,
                    owner=SHARED if shared else os.getpid(),
                    owner_start_ticks=None if shared else procfs.start_ticks(os.getpid()),
                    log_path=str(self.log_path),
                ),
            )
            self._wait_ready(proc, url, port, model, timeout_s)
        except BaseException:
            # Whatever went wrong (including Ctrl-C), leave nothing running and no stale record.
            kill_and_reap(proc)
            remove_state(self.state_path)
            raise
        return StartResult(
            status=True,
            pid=proc.pid,
            port=port,
            base_url=url,
            model_path=str(model),
            already_running=False,
        )

    def _wait_ready(self, proc, url: str, port: int, model: Path, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            code = proc.poll()
            if code is not None:
                raise self._exit_error(code, url, port, model)
            # Re-check liveness after a 200: it must be our server answering, not a program that
            # grabbed the port in the moment between our bind check and the launch.
            if probe_health(url, timeout=1.0) and proc.poll() is None:
                return
            if time.monotonic() >= deadline:
                kill_and_reap(proc)  # before reading the log, so the tail is complete
                tail = log_tail(self.log_path)
                raise StartTimeoutError(
                    f"llama-server (model {model}) did not become healthy at {url}/health within "
                    f"{timeout_s:g} s; its process group was killed. Last log lines "
                    f"({self.log_path}):\n{tail}",
                    tail,
                )
            time.sleep(0.05)

    def _exit_error(self, code: int, url: str, port: int, model: Path) -> Exception:
        tail = log_tail(self.log_path)
        if _BIND_FAILURE in tail:
            return PortInUseError(
                f"port {port} is already in use: llama-server could not bind {url} "
                f"(exit code {code}). Last log lines ({self.log_path}):\n{tail}"
            )
        how = f"signal {-code}" if code < 0 else f"exit code {code}"
        return ServerExitedError(
            f"llama-server exited during start ({how}) with model {model}. Last log lines "
            f"({self.log_path}):\n{tail}",
            code,
            tail,
        )

    # -- stop -------------------------------------------------------------------------------------

    def stop(self, pid: int | None = None) -> StopResult:
        """Stop the server: SIGTERM to its process group, SIGKILL after ``stop_grace_s``.

        Never raises when nothing runs: the result has ``status=False`` and says so (and clears a
        stale record). With ``pid``, stop only if the running server is that process, so a caller
        never stops a server someone else started after its own.
        """
        lock_timeout = self.config.start_timeout_s + self.config.stop_grace_s + 15
        with exclusive_lock(self.state_dir / LOCK_FILE, lock_timeout):
            current = self.status()
            if current["state"] != "running":
                remove_state(self.state_path)
                message = "Mistral server is not running"
                if current["state"] == "crashed":
                    message += f" (it had crashed: {current['detail']})"
                return StopResult(status=False, pid=None, port=None, forced=False, message=message)
            state = read_state(self.state_path)
            if state is None:  # cannot happen while we hold the lock, unless removed by hand
                return StopResult(
                    status=False, pid=None, port=None, forced=False, message="record vanished"
                )
            if pid is not None and pid != state.pid:
                return StopResult(
                    status=False,
                    pid=state.pid,
                    port=state.port,
                    forced=False,
                    message=f"the running Mistral server is pid {state.pid}, not {pid}: "
                    "left running",
                )
            grace = self.config.stop_grace_s
            forced = terminate(state.pid, state.pgid, state.proc_start_ticks, grace)
            remove_state(self.state_path)
            how = "killed (SIGKILL after SIGTERM grace period)" if forced else "stopped"
            return StopResult(
                status=True,
                pid=state.pid,
                port=state.port,
                forced=forced,
                message=f"Mistral server {how} (pid {state.pid}, port {state.port})",
            )

    # -- status -----------------------------------------------------------------------------------

    def status(self) -> ServerStatus:
        """running (our process is alive), stopped (nothing recorded), or crashed (recorded but
        gone). ``healthy`` is the ``/health`` probe of a running server."""
        try:
            state = read_state(self.state_path)
        except StateFileError as exc:
            return _status("crashed", detail=f"{exc}; start or stop will replace it")
        if state is None:
            return _status("stopped", detail="no Mistral server recorded")
        reap(state.pid)
        if procfs.is_same_process(state.pid, state.proc_start_ticks, state.binary):
            url = base_url(state.host, state.port)
            healthy = probe_health(url)
            detail = "ready" if healthy else f"{url}/health does not answer 200 (loading or stuck)"
            return _status("running", state, healthy=healthy, detail=detail)
        if isinstance(state.owner, int) and not procfs.is_same_process(
            state.owner, state.owner_start_ticks
        ):
            return _status(
                "stopped",
                state,
                detail=f"its owner process {state.owner} exited and the server died with it",
            )
        why = (
            f"pid {state.pid} now belongs to another program"
            if procfs.is_alive(state.pid)
            else f"server process {state.pid} is gone"
        )
        return _status(
            "crashed",
            state,
            detail=f"{why} but was never stopped (record: {self.state_path}; "
            f"log: {state.log_path})",
        )


def _status(
    state: State, record: ServerState | None = None, *, healthy: bool = False, detail: str
) -> ServerStatus:
    return ServerStatus(
        state=state,
        healthy=healthy,
        pid=record.pid if record else None,
        port=record.port if record else None,
        host=record.host if record else None,
        base_url=base_url(record.host, record.port) if record else None,
        model_path=record.model_path if record else None,
        started_at=record.started_at if record else None,
        owner=record.owner if record else None,
        log_path=record.log_path if record else None,
        detail=detail,
    )


def default_manager(config: MistralConfig | None = None) -> MistralServerManager:
    """The manager every adapter (CLI, API, Dagster) uses: state under ``paths.run_dir()``."""
    return MistralServerManager(config, paths.run_dir())


__all__ = [
    "MistralServerManager",
    "ServerStatus",
    "StartResult",
    "StopResult",
    "default_manager",
]
