"""MistralAI's prompt, answer grammar and answer validation.

The grammar is written by hand because llama.cpp's JSON-schema conversion ignores numeric bounds
and lets raw newlines into strings: here the keys come in a fixed order, the confidence cannot
leave [0, 1], and the reason is short printable text.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np

SIGNALS = {"LONG": 1, "SHORT": -1, "HOLD": 0}

SYSTEM_PROMPT = (
    "You are a disciplined trading assistant. Given a compact market summary for one symbol, "
    'answer with JSON only: {"signal": "LONG"|"SHORT"|"HOLD", "confidence": a number '
    'from 0 to 1, "reason": a short reason}. Use HOLD when the evidence is weak.'
)


def answer_grammar(max_reason_chars: int) -> str:
    """GBNF for ``{"signal": ..., "confidence": ..., "reason": ...}``."""
    return "\n".join(
        [
            'root ::= "{" ws "\\"signal\\"" ws ":" ws signal ws "," ws "\\"confidence\\"" ws ":" '
            'ws confidence ws "," ws "\\"reason\\"" ws ":" ws reason ws "}"',
            'signal ::= "\\"LONG\\"" | "\\"SHORT\\"" | "\\"HOLD\\""',
            'confidence ::= "0" ("." [0-9] [0-9]?)? | "1" (".0" "0"?)?',
            f'reason ::= "\\"" char{{0,{max_reason_chars}}} "\\""',
            'char ::= [^"\\\\\\x00-\\x1f\\x7f]',
            "ws ::= [ ]?",
        ]
    )


def _pct(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{100 * value:+.2f}%"


def market_summary(symbol: str, when: str, row: dict[str, float]) -> str:
    """A compact, deterministic description of one symbol at one bar (bars at or before it)."""
    rsi = row.get("f_rsi", float("nan"))
    vol = row.get("f_vol_24", float("nan"))
    return "\n".join(
        [
            f"Symbol: {symbol} (hourly bars), time {when} UTC",
            f"Last close: {row['close']:.6g}",
            f"Returns: 1h {_pct(row['f_ret_1'])}, 12h {_pct(row['f_ret_12'])}, "
            f"24h {_pct(row['f_ret_24'])}, 72h {_pct(row['f_ret_72'])}",
            f"Close vs moving averages: 24h {_pct(row['f_sma_gap_24'])}, "
            f"96h {_pct(row['f_sma_gap_96'])}",
            f"RSI(14): {'n/a' if not math.isfinite(rsi) else f'{rsi:.1f}'}; hourly volatility "
            f"(24h): {_pct(vol)}",
            "Decide the position for the next hours.",
        ]
    )


@dataclass(frozen=True)
class ParsedAnswer:
    signal: int
    confidence: float
    reason: str
    valid: bool
    problem: str = ""


def hold(problem: str) -> ParsedAnswer:
    return ParsedAnswer(0, 0.0, "", False, problem)


def parse_answer(content: str, finish_reason: str, max_reason_chars: int) -> ParsedAnswer:
    """Validate an answer; anything incomplete, unparsable or out of range becomes HOLD with
    confidence 0 and says why."""
    if finish_reason == "length":
        return hold("cut off at max_tokens (finish_reason: length)")
    try:
        answer = json.loads(content)
    except ValueError as exc:
        return hold(f"not JSON: {exc}")
    if not isinstance(answer, dict) or list(answer) != ["signal", "confidence", "reason"]:
        return hold("keys must be exactly signal, confidence, reason")
    signal, confidence, reason = answer["signal"], answer["confidence"], answer["reason"]
    if signal not in SIGNALS:
        return hold(f"signal {signal!r} is not LONG, SHORT or HOLD")
    if isinstance(confidence, bool) or not isinstance(confidence, int | float):
        return hold("confidence is not a number")
    if not (math.isfinite(confidence) and 0 <= confidence <= 1):
        return hold(f"confidence {confidence!r} outside [0, 1]")
    if not isinstance(reason, str) or len(reason) > max_reason_chars:
        return hold("reason is not a string within the length limit")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in reason):
        return hold("reason contains control characters")
    value = SIGNALS[signal]
    return ParsedAnswer(value, float(confidence) if value else 0.0, reason, True)


def decision_rows(symbol_codes: np.ndarray, decide: np.ndarray, every: int) -> np.ndarray:
    """Indices of the decided bars where the LLM is asked: the first decided bar of each symbol
    and every ``every``-th decided bar after it."""
    idx = np.flatnonzero(decide)
    if idx.size == 0:
        return idx
    codes = symbol_codes[idx]
    first = np.r_[True, codes[1:] != codes[:-1]]
    group_start = np.maximum.accumulate(np.where(first, np.arange(idx.size), 0))
    return idx[(np.arange(idx.size) - group_start) % every == 0]
