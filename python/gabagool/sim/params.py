"""The simulated market's tunable figures, in one place (calibration in docs/SIMULATOR.md).

`MarketParams()` is the calibrated default; backtests vary it (`volatility_scale`,
`informed_scale`) to check that a strategy does not live on one setting.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MarketParams:
    # -- the underlying
    volatility_scale: float = 1.0
    """Multiplies every asset's annual volatility."""

    # -- the makers' shared view: P(Up) from the true price, plus a sentiment noise in logit
    # space, an AR(1) step every 0.5 s (persistence, innovation s.d.)
    consensus_persistence: float = 0.97
    consensus_step: float = 0.005
    # each maker's own look at it (AR(1) at each look)
    view_persistence: float = 0.8
    view_step: float = 0.005
    makers: tuple[int, int] = (3, 5)
    # half spreads in ticks around the maker's centre; 0 quotes the two ticks around it
    half_spread_ticks: tuple[float, ...] = (0.5, 0.5, 0.5, 1.0, 1.0, 2.0)
    check_ms: tuple[float, float] = (8000.0, 20000.0)
    """Each maker's mean time between looks at the fair value is drawn in this range."""
    requote_ticks: float = 2.0
    """A maker re-quotes when its view moved this many ticks since it last quoted."""
    refresh_probability: float = 0.05
    refill_mean_ms: float = 1500.0

    # -- takers
    noise_takers_per_minute: float = 6.0
    noise_lean: float = 0.8
    """Noise takers buy Up with probability (1 - lean) / 2 + lean x P(Up): they lean with
    the fair value (0: a coin flip, 1: always the likely side)."""
    informed_probability: float = 0.25
    """Chance that an informed taker looks at the book at a 0.5 s model step."""
    informed_scale: float = 1.0
    """Multiplies `informed_probability` (a robustness knob for backtests)."""
    informed_edge: int = 5
    """Thousandths of a dollar an informed taker wants per share, after its taker fee."""
    informed_pays_fee: bool = True
    """False: the taker ignores its fee (the uncalibrated simulator's behaviour)."""


# The simulator before calibration (2026-12), kept so the calibration script can show both.
UNCALIBRATED = MarketParams(
    volatility_scale=0.45 / 0.28,  # BTC was 45% a year
    consensus_step=0.03,
    view_step=0.02,
    half_spread_ticks=(1.0, 1.0, 1.0, 2.0, 2.0, 3.0),
    check_ms=(4000.0, 10000.0),
    requote_ticks=1.0,
    noise_lean=0.4,
    informed_probability=0.15,
    informed_edge=15,
    informed_pays_fee=False,
)
