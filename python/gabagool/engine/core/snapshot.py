"""`WindowSnapshot`: what a window is at one instant, immutable, for everyone but the window.

The summary and the view print them; none of them reads a window's internals, and none can
change a window through one. A full snapshot costs tens of microseconds (the books' tops,
what live orders may still spend, the fair value), so a window builds one only when it is
read; what the portfolio sums after every fill and each market second is a `WindowMark`,
the few numbers its caps and its daily loss read.
"""

from __future__ import annotations

from fractions import Fraction

import msgspec

from gabagool.attribution import Attribution
from gabagool.types import Outcome


class WindowSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    asset: str
    slug: str
    market_id: str
    start: int  # unix seconds
    end: int
    t_ns: int  # market time it was taken at
    mode: str  # the core's Mode value
    maker: bool
    blocked: str  # why no new order may be placed ("" when trading)
    halt_reason: str  # the window's own halt
    qty_up: int  # micro-shares
    qty_down: int
    cost_up: int  # pico-dollars, fees included
    cost_down: int
    realized: int  # pico-dollars, from sells
    fees_paid: int  # micro-dollars
    marked_pnl: int  # pico-dollars: pairs at $1, the excess at its best bid
    mark_at_bids: int  # pico-dollars: every share at its best bid (the summary's mark)
    committed: int  # pico-dollars at cost plus what live buys may still spend
    exposure: int  # micro-shares: the worst |delta| the live buys could leave
    resting: int  # orders that may rest on the venue now
    best_up: tuple[int | None, int | None]  # (bid, ask) micro-dollars
    best_down: tuple[int | None, int | None]
    fills: int
    maker_fills: int
    orders_placed: int
    orders_rejected: int
    rule_breaches: int
    frames: int
    bad_frames: int
    winner: Outcome | None
    settlement_pnl: int | None  # pico-dollars
    # the underlying (defaults: no reference feed)
    fair_up: int | None = None  # micro-dollars; fair_down = 1e6 - fair_up
    fair_age_ms: int | None = None  # since the reference price's last update
    fair_stale: bool = False
    reference_ticks: int = 0
    reference_open: int | None = None  # atto-dollars
    gate_blocks: int = 0  # accumulator buys the fair-value gate dropped or lowered
    stale_episodes: int = 0
    ours_winner: Outcome | None = None  # the reference's winner (TWAP at end vs open)
    resolution_disagrees: bool = False
    # where the money went (the unpaired part counts the excess as worthless until a winner)
    attribution: Attribution | None = None

    @property
    def delta(self) -> int:
        return self.qty_up - self.qty_down

    @property
    def hedged(self) -> int:
        return min(self.qty_up, self.qty_down)

    def avg(self, outcome: Outcome) -> Fraction | None:
        """Dollars a share, fees included."""
        qty, cost = (
            (self.qty_up, self.cost_up) if outcome == "up" else (self.qty_down, self.cost_down)
        )
        return Fraction(cost, qty * 1_000_000) if qty else None

    @property
    def pair_cost(self) -> Fraction | None:
        up, down = self.avg("up"), self.avg("down")
        return up + down if up is not None and down is not None else None

    @property
    def locked_profit(self) -> Fraction:
        pair = self.pair_cost
        if pair is None or not self.hedged:
            return Fraction(0)
        return Fraction(self.hedged, 1_000_000) * (1 - pair)


class WindowMark(msgspec.Struct, frozen=True, kw_only=True):
    """What the portfolio counts of a window at one instant (a `WindowSnapshot` has the same
    fields, and counts the same)."""

    market_id: str
    t_ns: int  # market time it was taken at
    qty_up: int  # micro-shares
    qty_down: int
    cost_up: int  # pico-dollars, fees included
    cost_down: int
    marked_pnl: int  # pico-dollars: pairs at $1, the excess at its best bid

    @property
    def delta(self) -> int:
        return self.qty_up - self.qty_down
