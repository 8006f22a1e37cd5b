"""``MistralServerResource``: the local Mistral server for Dagster assets and ops.

Lazy on purpose: ``dagster job execute`` initialises every resource of a job a second time in the
parent process after the run, so nothing may start at initialisation. The server starts on the first
``ensure_server()`` call (or a healthy one already running is reused), and teardown stops only a
server this resource instance started - also when the run fails or is interrupted. A server it
starts is owned by the step process (PR_SET_PDEATHSIG), so even a killed run leaves no orphan.
"""

from __future__ import annotations

import dagster as dg
from pydantic import PrivateAttr

from rl_pipeline import paths
from rl_pipeline.config import MistralConfig
from rl_pipeline.mistral.manager import MistralServerManager, ServerStatus

_DEFAULTS = MistralConfig()


class MistralServerResource(dg.ConfigurableResource):
    """The Mistral (llama-server) server, started on first use; fields mirror MistralConfig."""

    model_path: str | None = None
    server_binary: str | None = None
    host: str = _DEFAULTS.host
    port: int = _DEFAULTS.port
    start_timeout_s: float = _DEFAULTS.start_timeout_s
    stop_grace_s: float = _DEFAULTS.stop_grace_s
    ctx_size: int = _DEFAULTS.ctx_size

    _manager: MistralServerManager | None = PrivateAttr(default=None)
    _started_pid: int | None = PrivateAttr(default=None)
    _log: object = PrivateAttr(default=None)

    def mistral_config(self) -> MistralConfig:
        return MistralConfig(
            model_path=self.model_path,
            server_binary=self.server_binary,
            host=self.host,
            port=self.port,
            start_timeout_s=self.start_timeout_s,
            stop_grace_s=self.stop_grace_s,
            ctx_size=self.ctx_size,
        )

    def _get_manager(self) -> MistralServerManager:
        if self._manager is None:
            self._manager = MistralServerManager(self.mistral_config(), paths.run_dir())
        return self._manager

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # Deliberately starts nothing (see the module docstring).
        self._log = context.log

    def ensure_server(self) -> str:
        """Base URL of a healthy server: the running one, or one started now and owned by us.

        Raises ``MistralServerError`` (model missing, port taken, start failed...) with nothing
        left running.
        """
        result = self._get_manager().start(self.model_path, self.port, shared=False)
        if not result["already_running"]:
            self._started_pid = result["pid"]
            self._info(f"started Mistral server pid {result['pid']} at {result['base_url']}")
        return result["base_url"]

    def status(self) -> ServerStatus:
        """The server's status, checked against the live process (starts nothing)."""
        return self._get_manager().status()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._started_pid is None:
            return
        # With pid= the manager leaves alone a server that someone else started after ours.
        result = self._get_manager().stop(pid=self._started_pid)
        self._started_pid = None
        self._info(result["message"])

    def _info(self, message: str) -> None:
        if self._log is not None:
            self._log.info(message)  # type: ignore[attr-defined]
