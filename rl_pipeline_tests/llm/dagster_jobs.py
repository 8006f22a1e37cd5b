"""Jobs for the MistralServerResource tests, run with the real CLI:
``dagster job execute -f rl_pipeline_tests/llm/dagster_jobs.py -j <job> -c run.yaml``.

Each op appends one JSON line to ``record_file``: its process, the server it used and every server
process of the test's model alive at that moment (which must be exactly that one).
"""

# No `from __future__ import annotations`: Dagster reads the op annotations at definition time.
import json
import os
import time

import dagster as dg

from rl_pipeline.dagster_defs.resources.mistral_server import MistralServerResource
from rl_pipeline.mistral import procfs
from rl_pipeline.mistral.client import chat_completion


class StepConfig(dg.Config):
    record_file: str
    fail: bool = False
    sleep_s: float = 0.0


def _record(config: StepConfig, mistral: MistralServerResource, event: str) -> None:
    status = mistral.status()
    line = {
        "event": event,
        "step_pid": os.getpid(),
        "server_pid": status["pid"],
        "servers": procfs.find_processes(mistral.model_path or "<no model>"),
    }
    with open(config.record_file, "a") as handle:
        handle.write(json.dumps(line) + "\n")


@dg.op
def ask(config: StepConfig, mistral: MistralServerResource) -> str:
    url = mistral.ensure_server()
    assert mistral.ensure_server() == url  # a second call reuses it
    content, _ = chat_completion(
        url, [{"role": "user", "content": "Say {}"}], grammar='root ::= "{" "}"', max_tokens=8
    )
    assert content == "{}", content
    _record(config, mistral, "asked")
    if config.fail:
        raise RuntimeError("planned failure after starting the server")
    if config.sleep_s:
        _record(config, mistral, "sleeping")
        time.sleep(config.sleep_s)
    return url


@dg.op
def ask_again(config: StepConfig, mistral: MistralServerResource, url: str) -> None:
    mistral.ensure_server()
    _record(config, mistral, "asked_again")


_resources = {"mistral": MistralServerResource()}


@dg.job(resource_defs=_resources, executor_def=dg.in_process_executor)
def mistral_in_process_job() -> None:
    ask_again(ask())


@dg.job(resource_defs=_resources)  # default multiprocess executor: one process per step
def mistral_multiprocess_job() -> None:
    ask_again(ask())


defs = dg.Definitions(jobs=[mistral_in_process_job, mistral_multiprocess_job])
