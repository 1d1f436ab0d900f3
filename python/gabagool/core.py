"""The public face of the Rust core: books, frames, position, fees, the strategy scan and the
fair value of Up from the reference price.

Everything here is exact: prices in micro-dollars, sizes in micro-shares, money in
pico-dollars, fees in micro-dollars, reference prices in atto-dollars (see `gabagool._core`
for each signature); the fair-value model is the core's one float computation, and it
returns micro-dollars. Errors are the classes of `gabagool.errors`, re-exported here.
"""

from gabagool._core import (
    Book,
    FeeSchedule,
    FrameSummary,
    Intent,
    Market,
    Position,
    Replay,
    RiskMetrics,
    StrategyParams,
    Volatility,
    WindowOpen,
    accumulate,
    buy_within_rule,
    equalize,
    fair_anchored,
    fair_model,
    flatten,
    format_micros,
    format_reference_price,
    parse_price,
    parse_reference_price,
    parse_size,
    risk_metrics,
    sim_price_change,
    worst_buy_cost,
)
from gabagool.errors import (
    BookError,
    CoreError,
    FrameError,
    ParamsError,
    ParseError,
    PositionError,
)

__all__ = [
    "Book",
    "BookError",
    "CoreError",
    "FeeSchedule",
    "FrameError",
    "FrameSummary",
    "Intent",
    "Market",
    "ParamsError",
    "ParseError",
    "Position",
    "PositionError",
    "Replay",
    "RiskMetrics",
    "StrategyParams",
    "Volatility",
    "WindowOpen",
    "accumulate",
    "buy_within_rule",
    "equalize",
    "fair_anchored",
    "fair_model",
    "flatten",
    "format_micros",
    "format_reference_price",
    "parse_price",
    "parse_reference_price",
    "parse_size",
    "risk_metrics",
    "sim_price_change",
    "worst_buy_cost",
]
