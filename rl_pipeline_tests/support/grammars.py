"""GBNF grammars and JSON schemas used by tests against a real llama-server."""

from __future__ import annotations

# The trading decision {"signal": LONG|SHORT|HOLD, "confidence": number, "reason": string}.
SIGNAL_GRAMMAR = r"""
root ::= "{" ws signal-kv "," ws confidence-kv "," ws reason-kv ws "}"
signal-kv ::= "\"signal\":" ws signal
confidence-kv ::= "\"confidence\":" ws number
reason-kv ::= "\"reason\":" ws string
signal ::= "\"LONG\"" | "\"SHORT\"" | "\"HOLD\""
number ::= ("0" | "1") ("." [0-9] [0-9]?)?
string ::= "\"" [^"\\\x00-\x1f]* "\""
ws ::= [ \t\n]?
"""

SIGNAL_SCHEMA = {
    "type": "object",
    "properties": {
        "signal": {"enum": ["LONG", "SHORT", "HOLD"]},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "reason": {"type": "string"},
    },
    "required": ["signal", "confidence", "reason"],
    "additionalProperties": False,
}
