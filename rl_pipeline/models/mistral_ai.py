"""MistralAI: asks the local LLM server for a JSON decision at each decision point (every
``decision_every_bars`` per symbol) and holds it until the next one. Answers are cached by prompt
hash and model file hash, so a rerun is reproducible and makes no LLM calls."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rl_pipeline.config import MistralAIConfig
from rl_pipeline.market.intervals import fill_section
from rl_pipeline.mistral.client import chat_completion
from rl_pipeline.mistral.errors import ChatCompletionError
from rl_pipeline.models.base import Availability, ModelContext, Signals, TradingModel
from rl_pipeline.models.mistral_prompt import (
    SYSTEM_PROMPT,
    answer_grammar,
    decision_rows,
    market_summary,
    parse_answer,
)


@dataclass
class LLMStats:
    decisions: int = 0
    llm_calls: int = 0
    cache_hits: int = 0
    invalid_answers: int = 0
    problems: dict[str, int] = field(default_factory=dict)


class MistralAI(TradingModel):
    model_id = "mistral_ai"

    def __init__(self, params: MistralAIConfig, context: ModelContext) -> None:
        self.params = fill_section(params)
        self.context = context
        self.trained = []
        self.stats = LLMStats()

    def availability(self) -> Availability:
        if self.context.llm is None:
            return Availability(False, self.context.llm_unavailable_reason)
        return Availability(True)

    def describe(self) -> dict[str, Any]:
        llm = self.context.llm
        return {
            "kind": "llm_json_decision",
            **self.params.model_dump(),
            "model_path": llm.model_path if llm else None,
            "model_sha256": llm.model_sha256 if llm else None,
            "llm_stats": self.stats.__dict__,
        }

    def request(self, summary: str) -> dict[str, Any]:
        p = self.params
        return {
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": summary},
            ],
            "grammar": answer_grammar(p.max_reason_chars),
            "max_tokens": p.max_tokens,
            "temperature": p.temperature,
            "seed": p.seed,
        }

    def ask(self, request: dict[str, Any]) -> tuple[str, str]:
        """(content, finish_reason) from the cache, or from the server (then cached)."""
        llm, cache = self.context.llm, self.context.answer_cache
        assert llm is not None
        key = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
        if cache is not None:
            stored = cache.get(key, llm.model_sha256)
            if stored is not None:
                self.stats.cache_hits += 1
                answer = json.loads(stored)
                return answer["content"], answer["finish_reason"]
        self.stats.llm_calls += 1
        content, finish_reason = chat_completion(
            llm.base_url,
            request["messages"],
            grammar=request["grammar"],
            max_tokens=request["max_tokens"],
            temperature=request["temperature"],
            seed=request["seed"],
            timeout_s=self.params.request_timeout_s,
        )
        if cache is not None:
            cache.put(
                key,
                llm.model_sha256,
                request["messages"][-1]["content"],
                json.dumps({"content": content, "finish_reason": finish_reason}),
            )
        return content, finish_reason

    def predict(self, features: pd.DataFrame, decide: np.ndarray) -> Signals:
        n = len(features)
        codes = pd.factorize(features["symbol"])[0]
        asked = decision_rows(codes, decide, self.params.decision_every_bars)
        decided_signal = np.zeros(n, dtype=np.int8)
        decided_conf = np.zeros(n)
        when = pd.to_datetime(features["ts"].to_numpy()[asked], unit="s", utc=True)
        columns = [
            "close",
            "f_ret_1",
            "f_ret_12",
            "f_ret_24",
            "f_ret_72",
            "f_sma_gap_24",
            "f_sma_gap_96",
            "f_rsi",
            "f_vol_24",
        ]
        rows = features.iloc[asked][columns].to_dict("records")
        symbols = features["symbol"].to_numpy()[asked]
        for i, row, symbol, t in zip(asked, rows, symbols, when, strict=True):
            summary = market_summary(str(symbol), t.strftime("%Y-%m-%d %H:%M"), row)
            try:
                content, finish_reason = self.ask(self.request(summary))
            except ChatCompletionError as exc:
                content, finish_reason = "", f"error: {exc}"
            parsed = parse_answer(content, finish_reason, self.params.max_reason_chars)
            self.stats.decisions += 1
            if not parsed.valid:
                self.stats.invalid_answers += 1
                key = parsed.problem.split(":")[0]
                self.stats.problems[key] = self.stats.problems.get(key, 0) + 1
            decided_signal[i] = parsed.signal
            decided_conf[i] = parsed.confidence
        return Signals(*hold_until_next(codes, decide, asked, decided_signal, decided_conf))


def hold_until_next(
    codes: np.ndarray,
    decide: np.ndarray,
    asked: np.ndarray,
    signal: np.ndarray,
    confidence: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Each decided bar carries the answer of the latest decision point of its symbol."""
    n = len(codes)
    source = np.full(n, -1)
    source[asked] = asked
    source = np.where(decide, source, -1)
    series = pd.Series(np.where(source >= 0, source, np.nan))
    filled = series.groupby(codes).ffill().to_numpy()
    take = decide & ~np.isnan(filled)
    out_signal = np.zeros(n, dtype=np.int8)
    out_conf = np.zeros(n)
    src = filled[take].astype(np.int64)
    out_signal[take] = signal[src]
    out_conf[take] = confidence[src]
    return out_signal, out_conf
