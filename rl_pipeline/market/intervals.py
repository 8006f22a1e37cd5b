"""Bar interval and trading calendar of a symbol's bars, and what the interval-dependent
defaults of a session become for them (the README's "defaults per bar interval" table).

The interval is the median gap between consecutive bars (so gaps, weekends and halted days do
not change it), snapped to a usual interval when within 10 %. The calendar is ``24/7`` when
bars fall on Saturdays (UTC), else ``exchange`` (trading days only: stocks, futures, FX).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from rl_pipeline.config import (
    LGBMAIConfig,
    MistralAIConfig,
    SessionConfig,
    TradingAIConfig,
    WalkForwardConfig,
)

SECONDS_PER_DAY = 86_400
USUAL_INTERVALS = (60, 300, 900, 1800, 3600, 14_400, 86_400, 604_800)
CALENDAR_24_7 = "24/7"
CALENDAR_EXCHANGE = "exchange"
DAYS_PER_YEAR = {CALENDAR_24_7: 365, CALENDAR_EXCHANGE: 252}
# A 24/7 market has a seventh of its bars on Saturdays; an exchange none (a stray one at most).
SATURDAY_SHARE_24_7 = 0.02


@dataclass(frozen=True)
class BarProfile:
    """How a symbol's bars are spaced: interval, calendar and bars per trading day."""

    interval_seconds: int
    calendar: str
    bars_per_day: float

    @property
    def interval_name(self) -> str:
        return interval_name(self.interval_seconds)


HOURLY_24_7 = BarProfile(3600, CALENDAR_24_7, 24.0)


def interval_name(seconds: int) -> str:
    if seconds % SECONDS_PER_DAY == 0:
        return f"{seconds // SECONDS_PER_DAY}d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0:
        return f"{seconds // 60}min"
    return f"{seconds}s"


def detect_profile(ts: np.ndarray) -> BarProfile | None:
    """The profile of one symbol's sorted bar times (epoch seconds); None below two bars."""
    ts = np.asarray(ts, dtype=np.int64)
    if len(ts) < 2:
        return None
    gaps = np.diff(ts)
    gaps = gaps[gaps > 0]
    if gaps.size == 0:
        return None
    interval = int(np.median(gaps))
    for usual in USUAL_INTERVALS:
        if abs(interval - usual) <= 0.1 * usual:
            interval = usual
            break
    days = ts // SECONDS_PER_DAY
    # 1970-01-01 was a Thursday: day index + 4, modulo 7, is 0 on Sundays, 6 on Saturdays.
    saturday_share = float(np.mean((days + 4) % 7 == 6))
    calendar = CALENDAR_24_7 if saturday_share >= SATURDAY_SHARE_24_7 else CALENDAR_EXCHANGE
    bars_per_day = len(ts) / len(np.unique(days))
    return BarProfile(interval, calendar, round(float(bars_per_day), 3))


@dataclass(frozen=True)
class IntervalDefaults:
    """What the interval-dependent defaults become for one row of the table."""

    name: str
    max_interval_seconds: int
    horizon_bars: int
    fast_window: int
    slow_window: int
    train_window_days: int
    retrain_every_days: int
    min_train_rows: int
    min_child_samples: int
    history_days: int


# One row per interval class, the first whose bound holds. Hourly bars get the defaults this
# project always had (90-day window, weekly refit, 24-bar label, 500 rows, TradingAI 24/96).
DEFAULTS_TABLE: tuple[IntervalDefaults, ...] = (
    IntervalDefaults("1-4 min", 240, 60, 30, 120, 5, 1, 500, 200, 7),
    IntervalDefaults("5-30 min", 1800, 48, 24, 96, 20, 2, 500, 200, 25),
    IntervalDefaults("1-4 h", 14_400, 24, 24, 96, 90, 7, 500, 200, 120),
    IntervalDefaults("daily and longer", 10**9, 5, 10, 40, 730, 30, 250, 20, 760),
)


def defaults_for(profile: BarProfile) -> IntervalDefaults:
    return next(r for r in DEFAULTS_TABLE if profile.interval_seconds <= r.max_interval_seconds)


def expected_train_rows(profile: BarProfile, train_window_days: int) -> float:
    """Rows a training window of that many calendar days holds on this calendar."""
    trading_days = train_window_days * DAYS_PER_YEAR[profile.calendar] / 365
    return trading_days * profile.bars_per_day


def resolved_values(profile: BarProfile) -> dict[str, Any]:
    """Every interval-dependent default for ``profile`` (nested like SessionConfig). The minimum
    of training rows is the table's, but never more than half the rows its window can hold (an
    exchange-hours file has fewer bars a day than a 24/7 one)."""
    row = defaults_for(profile)
    min_rows = min(
        row.min_train_rows,
        max(10, math.floor(0.5 * expected_train_rows(profile, row.train_window_days))),
    )
    walk_forward = {
        "train_window_days": row.train_window_days,
        "retrain_every_days": row.retrain_every_days,
        "horizon_bars": row.horizon_bars,
        "min_train_rows": min_rows,
    }
    return {
        "backtest": {
            "periods_per_year": DAYS_PER_YEAR[profile.calendar],
            "history_days": row.history_days,
        },
        "models": {
            "trading_ai": {"fast_window": row.fast_window, "slow_window": row.slow_window},
            "lava_ai": walk_forward,
            "lgbm_ai": {**walk_forward, "min_child_samples": row.min_child_samples},
            "mistral_ai": {"decision_every_bars": row.horizon_bars},
        },
    }


def _fill(values: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    for key, default in defaults.items():
        if isinstance(default, dict):
            out[key] = _fill(out.get(key) or {}, default)
        elif out.get(key) is None:
            out[key] = default
    return out


def resolve_config(config: SessionConfig, profile: BarProfile) -> SessionConfig:
    """``config`` with every interval-dependent field left unset (None) filled for ``profile``;
    fields the user set stay as they are."""
    filled = _fill(config.model_dump(), resolved_values(profile))
    return SessionConfig.model_validate(filled)


def fill_section(section: Any, profile: BarProfile = HOURLY_24_7) -> Any:
    """One model's config section with its unset fields filled for ``profile``: for a model
    built outside a session, which assumes hourly 24/7 bars."""
    models = resolved_values(profile)["models"]
    if isinstance(section, LGBMAIConfig):
        defaults = models["lgbm_ai"]
    elif isinstance(section, WalkForwardConfig):
        defaults = models["lava_ai"]
    elif isinstance(section, TradingAIConfig):
        defaults = models["trading_ai"]
    elif isinstance(section, MistralAIConfig):
        defaults = models["mistral_ai"]
    else:
        return section
    unset = {k: v for k, v in defaults.items() if getattr(section, k) is None}
    return section.model_copy(update=unset) if unset else section


def session_profile(profiles: dict[str, BarProfile]) -> BarProfile:
    """The profile a session of several symbols runs with: the longest interval among them
    (the fewest bars per day), 24/7 if any symbol trades around the clock."""
    longest = max(profiles.values(), key=lambda p: (p.interval_seconds, -p.bars_per_day))
    calendar = (
        CALENDAR_24_7
        if any(p.calendar == CALENDAR_24_7 for p in profiles.values())
        else CALENDAR_EXCHANGE
    )
    return BarProfile(longest.interval_seconds, calendar, longest.bars_per_day)
