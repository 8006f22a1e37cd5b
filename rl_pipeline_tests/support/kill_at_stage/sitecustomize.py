"""Test-only: put this folder on PYTHONPATH and set RL_PIPELINE_TEST_KILL_AT_STAGE=<stage>, and
any Python process that runs a session SIGKILLs itself right after recording that stage (the
crash a user gets from ``kill -9`` or the OOM killer, at a point the test chooses)."""

import os
import signal

STAGE = os.environ.get("RL_PIPELINE_TEST_KILL_AT_STAGE")

if STAGE:
    from rl_pipeline.store import sessions

    _record = sessions.set_stage

    def _set_stage_then_die(conn, session_id, stage):
        _record(conn, session_id, stage)
        if stage == STAGE:
            os.kill(os.getpid(), signal.SIGKILL)

    sessions.set_stage = _set_stage_then_die
