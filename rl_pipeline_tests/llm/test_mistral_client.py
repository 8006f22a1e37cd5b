"""The chat client and the tiny test models: structured answers, garbage, and transport errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from rl_pipeline.mistral.client import chat_completion
from rl_pipeline.mistral.errors import ChatCompletionError
from rl_pipeline.mistral.manager import MistralServerManager
from rl_pipeline_tests.support.grammars import SIGNAL_GRAMMAR, SIGNAL_SCHEMA
from rl_pipeline_tests.support.processes import pick_free_port
from rl_pipeline_tests.support.tiny_gguf import SIGNAL_PREFER

PROMPTS = [
    [{"role": "user", "content": "ETHUSD fell 8% on heavy volume. LONG, SHORT or HOLD?"}],
    [
        {"role": "system", "content": "You are a cautious trader."},
        {"role": "user", "content": "EURUSD is flat. Decide."},
    ],
]


@pytest.mark.parametrize("signal", ["LONG", "SHORT", "HOLD"])
def test_steered_models_give_their_signal_whatever_the_prompt(
    manager: MistralServerManager, make_model: Callable[..., Path], signal: str
) -> None:
    # These fixtures are what MistralAI's tests reuse: one model per answer.
    model = make_model(signal.lower(), seed=3, prefer=SIGNAL_PREFER[signal])
    url = manager.start(model)["base_url"]
    try:
        for messages in PROMPTS:
            for constraint in ({"grammar": SIGNAL_GRAMMAR}, {"json_schema": SIGNAL_SCHEMA}):
                content, finish = chat_completion(url, messages, max_tokens=200, **constraint)
                assert finish == "stop", content
                assert json.loads(content)["signal"] == signal
    finally:
        manager.stop()


def test_client_survives_garbage_from_an_unsteered_model(
    manager: MistralServerManager, make_model: Callable[..., Path]
) -> None:
    # No bias at all: unconstrained output is random bytes, often not even valid UTF-8.
    model = make_model(
        "raw", seed=1, close_bias=0.0, quote_bias=0.0, prefer_bias=0.0, space_bias=0.0
    )
    url = manager.start(model)["base_url"]
    try:
        content, finish = chat_completion(url, PROMPTS[0], max_tokens=40)
        assert isinstance(content, str) and finish == "length"
        with pytest.raises(json.JSONDecodeError):
            json.loads(content)
    finally:
        manager.stop()


def test_client_errors_name_the_url() -> None:
    url = f"http://127.0.0.1:{pick_free_port()}"
    with pytest.raises(ChatCompletionError, match=f"cannot reach {url}/v1/chat/completions"):
        chat_completion(url, PROMPTS[0], timeout_s=2)
    with pytest.raises(ValueError, match="either grammar or json_schema"):
        chat_completion(url, PROMPTS[0], grammar='root ::= "x"', json_schema={})


def test_client_reports_http_errors(manager: MistralServerManager, tiny_model: Path) -> None:
    url = manager.start(tiny_model)["base_url"]
    try:
        with pytest.raises(ChatCompletionError, match="answered HTTP 400"):
            chat_completion(url, PROMPTS[0], grammar="root ::= this is not gbnf (")
    finally:
        manager.stop()
