"""MistralAI's answer validation: anything malformed becomes HOLD with confidence 0."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rl_pipeline.models.mistral_ai import hold_until_next
from rl_pipeline.models.mistral_prompt import decision_rows, market_summary, parse_answer


def answer(**fields) -> str:
    return json.dumps(fields)


def test_valid_answers() -> None:
    long = parse_answer(answer(signal="LONG", confidence=0.7, reason="trend"), "stop", 80)
    assert (long.signal, long.confidence, long.valid) == (1, 0.7, True)
    short = parse_answer(answer(signal="SHORT", confidence=1, reason=""), "stop", 80)
    assert (short.signal, short.confidence) == (-1, 1.0)
    hold = parse_answer(answer(signal="HOLD", confidence=0.9, reason="flat"), "stop", 80)
    assert (hold.signal, hold.confidence, hold.valid) == (0, 0.0, True)


@pytest.mark.parametrize(
    ("content", "finish", "problem"),
    [
        (answer(signal="LONG", confidence=0.5, reason="x"), "length", "cut off"),
        ('{"signal": "LONG", "confidence": 0.5, "reason": "x', "stop", "not JSON"),
        (answer(signal="BUY", confidence=0.5, reason="x"), "stop", "not LONG, SHORT or HOLD"),
        (answer(signal="LONG", confidence=1.5, reason="x"), "stop", "outside [0, 1]"),
        (answer(signal="LONG", confidence=-0.1, reason="x"), "stop", "outside [0, 1]"),
        (answer(signal="LONG", confidence="high", reason="x"), "stop", "not a number"),
        (answer(signal="LONG", confidence=True, reason="x"), "stop", "not a number"),
        (answer(confidence=0.5, signal="LONG", reason="x"), "stop", "keys must be exactly"),
        (answer(signal="LONG", confidence=0.5, reason="a\nb"), "stop", "control characters"),
        (answer(signal="LONG", confidence=0.5, reason="x" * 81), "stop", "length limit"),
        ("[1, 2]", "stop", "keys must be exactly"),
    ],
)
def test_invalid_answers_become_hold(content: str, finish: str, problem: str) -> None:
    parsed = parse_answer(content, finish, 80)
    assert (parsed.signal, parsed.confidence, parsed.valid) == (0, 0.0, False)
    assert problem in parsed.problem


def test_decision_points_and_holding() -> None:
    codes = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1])
    decide = np.array([0, 1, 1, 1, 1, 0, 1, 1, 1], dtype=bool)
    asked = decision_rows(codes, decide, every=2)
    assert asked.tolist() == [1, 3, 6, 8]
    signal = np.zeros(9, dtype=np.int8)
    conf = np.zeros(9)
    signal[[1, 3, 6, 8]] = [1, -1, 1, 0]
    conf[[1, 3, 6, 8]] = [0.5, 0.6, 0.7, 0.0]
    held_signal, held_conf = hold_until_next(codes, decide, asked, signal, conf)
    assert held_signal.tolist() == [0, 1, 1, -1, -1, 0, 1, 1, 0]
    np.testing.assert_allclose(held_conf, [0, 0.5, 0.5, 0.6, 0.6, 0, 0.7, 0.7, 0])


def test_summary_is_deterministic_and_uses_only_the_row() -> None:
    row = {
        "close": 101.5,
        "f_ret_1": 0.001,
        "f_ret_12": -0.02,
        "f_ret_24": 0.03,
        "f_ret_72": float("nan"),
        "f_sma_gap_24": 0.01,
        "f_sma_gap_96": -0.005,
        "f_rsi": 55.123,
        "f_vol_24": 0.004,
    }
    text = market_summary("SYN-BTC", "2026-01-01 00:00", row)
    assert text == market_summary("SYN-BTC", "2026-01-01 00:00", dict(row))
    assert "72h n/a" in text and "RSI(14): 55.1" in text and "12h -2.00%" in text
