"""The public face of the Rust core: books, frames, position, fees and the strategy scan.

Everything here is exact: prices in micro-dollars, sizes in micro-shares, money in
pico-dollars, fees in micro-dollars (see `gabagool._core` for each signature). Errors are
the classes of `gabagool.errors`, re-exported here.
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
    accumulate,
    buy_within_rule,
    equalize,
    flatten,
    format_micros,
    parse_price,
    parse_size,
    risk_metrics,
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
    "accumulate",
    "buy_within_rule",
    "equalize",
    "flatten",
    "format_micros",
    "parse_price",
    "parse_size",
    "risk_metrics",
    "worst_buy_cost",
]
