"""Per-model performance metrics (docs/SEMANTICS.md), and the registry of metrics.

Every metric of a model or an ensemble is a registered ``MetricSpec``: the six of the
specification's ``performance_metrics`` table (``stored``: they are its columns, fixed) and any
further one a plugin registers (``register_metric``), which the session report shows (JSON, text
and HTML) beside them but no table stores."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields

import numpy as np

from rl_pipeline.backtest.trades import EquityCurve
from rl_pipeline.registry import Registry, RegistryError

SECONDS_PER_DAY = 86_400

# (closed trades' pnl, equity curve, periods per year) -> the value
MetricFunction = Callable[[np.ndarray, EquityCurve, int], "float | int | None"]


@dataclass(frozen=True)
class MetricSpec:
    """One metric. ``label`` heads its column in the text and HTML reports; ``fmt`` formats a
    value there (a format spec: ``.2%``, ``,.2f``); None values show as n/a."""

    name: str
    compute: MetricFunction
    description: str
    label: str = ""
    fmt: str = ".4g"
    stored: bool = False  # a column of the specification's performance_metrics table


METRICS: Registry[MetricSpec] = Registry("metric")


def register_metric(spec: MetricSpec) -> MetricSpec:
    if not isinstance(spec, MetricSpec):
        raise RegistryError(f"register_metric takes a MetricSpec, got {type(spec).__name__}")
    if spec.stored and spec.name not in _STORED:
        raise RegistryError(
            f"metric {spec.name!r}: stored is only for the performance_metrics columns "
            f"({', '.join(_STORED)}); a further metric goes to the report"
        )
    return METRICS.register(spec.name, spec)


def extra_metrics() -> tuple[MetricSpec, ...]:
    """The registered metrics beyond the specification's table (the report shows them)."""
    return tuple(m for m in METRICS.entries() if not m.stored)


@dataclass(frozen=True)
class PerformanceMetrics:
    """The specification's six (the ``performance_metrics`` columns) and ``extra``: each further
    registered metric by name."""

    total_trades: int
    win_rate: float
    total_pnl: float
    avg_trade_pnl: float
    sharpe_ratio: float | None
    max_drawdown: float
    extra: dict[str, float | int | None] = field(default_factory=dict)

    def as_dict(self) -> dict:
        stored = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        return {**stored, **self.extra}


_STORED = tuple(f.name for f in fields(PerformanceMetrics) if f.name != "extra")


def max_drawdown(curve: EquityCurve) -> float:
    """Largest fall from a running peak, as a positive fraction of that peak."""
    values = np.concatenate(([curve.starting_capital], curve.equity))
    peaks = np.maximum.accumulate(values)
    return float(np.max((peaks - values) / peaks))


def daily_returns(curve: EquityCurve) -> np.ndarray:
    """Returns of the curve's last value on each UTC day; day 0 is the starting capital."""
    if len(curve.ts) == 0:
        return np.zeros(0)
    day = curve.ts // SECONDS_PER_DAY
    last_of_day = np.ones(len(day), dtype=bool)
    last_of_day[:-1] = day[1:] != day[:-1]
    values = np.concatenate(([curve.starting_capital], curve.equity[last_of_day]))
    return values[1:] / values[:-1] - 1.0


def sharpe_ratio(curve: EquityCurve, periods_per_year: int) -> float | None:
    """Annualised Sharpe of daily returns, risk-free 0; None below two returns or zero spread."""
    returns = daily_returns(curve)
    if len(returns) < 2:
        return None
    spread = float(np.std(returns, ddof=1))
    if spread == 0.0 or not math.isfinite(spread):
        return None
    return float(np.mean(returns) / spread * math.sqrt(periods_per_year))


def _total_pnl(pnl: np.ndarray) -> float:
    return float(np.sum(pnl)) if len(pnl) else 0.0


def _win_rate(pnl: np.ndarray, curve: EquityCurve, periods_per_year: int) -> float:
    return float(np.count_nonzero(pnl > 0) / len(pnl)) if len(pnl) else 0.0


def _avg_trade_pnl(pnl: np.ndarray, curve: EquityCurve, periods_per_year: int) -> float:
    return _total_pnl(pnl) / len(pnl) if len(pnl) else 0.0


for _spec in (
    MetricSpec("total_trades", lambda pnl, c, p: len(pnl), "closed trades", "trades", ">d", True),
    MetricSpec("win_rate", _win_rate, "share of trades with pnl > 0", "win rate", ".2%", True),
    MetricSpec("total_pnl", lambda pnl, c, p: _total_pnl(pnl), "sum of pnl", "pnl", ",.2f", True),
    MetricSpec("avg_trade_pnl", _avg_trade_pnl, "total_pnl / trades", "avg pnl", ",.2f", True),
    MetricSpec(
        "sharpe_ratio",
        lambda pnl, curve, periods: sharpe_ratio(curve, periods),
        "annualised Sharpe of daily returns",
        "sharpe",
        ".2f",
        True,
    ),
    MetricSpec(
        "max_drawdown",
        lambda pnl, curve, periods: max_drawdown(curve),
        "largest fall from a running peak",
        "max dd",
        ".2%",
        True,
    ),
):
    register_metric(_spec)


def compute_metrics(
    pnl: np.ndarray, curve: EquityCurve, periods_per_year: int
) -> PerformanceMetrics:
    """Every registered metric of these trades and this curve."""
    values = {m.name: m.compute(pnl, curve, periods_per_year) for m in METRICS.entries()}
    return PerformanceMetrics(
        **{k: v for k, v in values.items() if k in _STORED},
        extra={k: v for k, v in values.items() if k not in _STORED},
    )


def format_metric(spec: MetricSpec, value: float | int | None) -> str:
    return "n/a" if value is None else format(value, spec.fmt)
