"""The simulated market's participants: makers, the deep background orders, and takers.

Each function decides what one participant wants (its ladder, its side, its limit) from the
book and the fair value it sees; the event loop applies the decisions and writes the frames.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from gabagool.sim.book import (
    ASK,
    BACKGROUND_OWNER,
    BID,
    COARSE_TICK,
    FINE_TICK,
    FULL,
    WALL_OWNER,
    Book,
    Change,
)
from gabagool.sim.model import gauss_draws, logit, sigmoid
from gabagool.sim.params import MarketParams

# Stale deep orders are cancelled when the price comes this close and put back once it has
# moved twice as far away again (in thousandths).
BACKGROUND_CANCEL_DISTANCE = 30
BACKGROUND_RESTORE_DISTANCE = 60

Orders = dict[tuple[int, int], int]


# ---- makers ------------------------------------------------------------------------------


@dataclass
class Maker:
    """One market maker: a ladder around its own view of the fair value."""

    half_spread_ticks: float
    levels: int
    step_ticks: int
    lot_cents: int
    size_multipliers: list[list[float]]
    base_size: float
    mean_check_ms: float
    view_noise: float = 0.0
    center: float = -1.0
    dirty: bool = False


def new_maker(rng: random.Random, params: MarketParams) -> Maker:
    exp = math.exp
    multipliers = [[exp(g) for g in gauss_draws(rng, 0.0, 0.5, FULL + 1)] for _ in (BID, ASK)]
    return Maker(
        half_spread_ticks=rng.choice(params.half_spread_ticks),
        levels=rng.randint(3, 7),
        step_ticks=rng.choice((1, 1, 1, 2)),
        lot_cents=rng.choice((1, 500, 1000)),
        size_multipliers=multipliers,
        base_size=math.exp(rng.gauss(math.log(120.0), 0.6)),
        mean_check_ms=rng.uniform(*params.check_ms),
    )


def maker_view(maker: Maker, fair: float, rng: random.Random, params: MarketParams) -> float:
    """The maker's look at the shared fair value, through its own persistent noise."""
    maker.view_noise = params.view_persistence * maker.view_noise + rng.gauss(0.0, params.view_step)
    return sigmoid(logit(fair) + maker.view_noise)


def maker_tops(maker: Maker, tick: int) -> tuple[int, int]:
    center = maker.center * FULL
    half = maker.half_spread_ticks * tick
    top_bid = math.floor((center - half) / tick) * tick
    top_ask = math.ceil((center + half) / tick) * tick
    return top_bid, max(top_ask, top_bid + tick)


def lot(maker: Maker, side: int, price: int) -> int:
    # Sizes hang on the price, not the ladder position, so a ladder that shifts by one
    # tick changes two levels a side, not all of them.
    shares = maker.base_size * maker.size_multipliers[side][price]
    lots = max(1, round(shares * 100 / maker.lot_cents))
    return max(lots * maker.lot_cents, 500)


def maker_orders(book: Book, index: int, maker: Maker, tick: int) -> Orders:
    """The maker's ladder, less the levels that would cross the others' quotes."""
    top_bid, top_ask = maker_tops(maker, tick)
    others_bid = book.best_excluding(BID, index)
    others_ask = book.best_excluding(ASK, index)
    orders: Orders = {}
    step = maker.step_ticks * tick
    for k in range(maker.levels):
        bid = top_bid - k * step
        if bid >= tick and (others_ask is None or bid < others_ask):
            orders[(BID, bid)] = lot(maker, BID, bid)
        ask = top_ask + k * step
        if ask <= FULL - tick and (others_bid is None or ask > others_bid):
            orders[(ASK, ask)] = lot(maker, ASK, ask)
    return orders


# ---- deep orders and walls ---------------------------------------------------------------


@dataclass
class Background:
    """Stale deep orders far from the price, and last-resort walls at the extremes."""

    orders: Orders = field(default_factory=dict)
    active: set[tuple[int, int]] = field(default_factory=set)
    walls: Orders = field(default_factory=dict)

    @classmethod
    def build(cls, rng: random.Random, book: Book) -> Background:
        background = cls()
        for side, low, high in ((BID, 2, 45), (ASK, 55, 98)):
            for _ in range(rng.randint(8, 18)):
                price = rng.randint(low, high) * COARSE_TICK
                size = round(math.exp(rng.gauss(math.log(2000.0), 1.2)) * 100)
                background.orders[(side, price)] = max(size, 500)
        background.walls = {
            (BID, COARSE_TICK): round(math.exp(rng.uniform(11.0, 15.0)) * 100),
            (ASK, FULL - COARSE_TICK): round(math.exp(rng.uniform(11.0, 15.0)) * 100),
        }
        book.replace(WALL_OWNER, background.walls)
        return background

    def refresh(self, book: Book, fair: float) -> list[Change]:
        """Cancel deep orders the price came near, put back those it left; top the walls up."""
        fair_price = fair * FULL
        best_bid, best_ask = book.best(BID), book.best(ASK)
        active = set(self.active)
        for key in self.orders:
            side, price = key
            distance = fair_price - price if side == BID else price - fair_price
            if key in active and distance < BACKGROUND_CANCEL_DISTANCE:
                active.discard(key)
            elif key not in active and distance >= BACKGROUND_RESTORE_DISTANCE:
                crosses = (side == BID and best_ask is not None and price >= best_ask) or (
                    side == ASK and best_bid is not None and price <= best_bid
                )
                if not crosses:
                    active.add(key)
        changes: list[Change] = []
        if book.orders[WALL_OWNER] != self.walls:
            changes += book.replace(WALL_OWNER, self.walls)
        if active != self.active:
            self.active = active
            changes += book.replace(BACKGROUND_OWNER, {key: self.orders[key] for key in active})
        return changes

    def to_fine_tick(self, book: Book) -> None:
        """On the fine grid the walls move out to 0.001 and 0.999; the old ones at 0.01 and
        0.99 become ordinary deep orders, cancelled as the price nears them, or they would
        keep the makers from quoting past them."""
        coarse = self.walls
        self.walls = {
            (BID, FINE_TICK): coarse[(BID, COARSE_TICK)],
            (ASK, FULL - FINE_TICK): coarse[(ASK, FULL - COARSE_TICK)],
        }
        book.replace(WALL_OWNER, self.walls)
        for key, size in coarse.items():
            self.orders[key] = self.orders.get(key, 0) + size
            self.active.add(key)
        book.replace(BACKGROUND_OWNER, {key: self.orders[key] for key in self.active})


# ---- takers ------------------------------------------------------------------------------


def taker_size(rng: random.Random) -> int:
    shares = math.exp(rng.gauss(math.log(25.0), 1.0))
    if rng.random() < 0.05:
        shares *= 20
    return max(500, round(shares * 100))


def noise_taker(
    rng: random.Random, book: Book, fair: float, tick: int, lean: float
) -> tuple[int, int] | None:
    """(side of the Up book to take, limit): noise takers lean with the fair value, buying
    Up more often when Up is likely, and walk up to two ticks."""
    side = ASK if rng.random() < (1 - lean) / 2 + lean * fair else BID
    best = book.best(side)
    if best is None:
        return None
    slippage = 2 * tick
    return side, best + slippage if side == ASK else best - slippage


def fee_thousandths(price: int, rate: float, exponent: int) -> float:
    """The taker fee per share at `price`, in thousandths of a dollar (the model's float)."""
    p = price / FULL
    return FULL * rate * (p * (1 - p)) ** exponent


def informed_taker(
    book: Book, fair: float, params: MarketParams, rate: float, exponent: int
) -> tuple[int, int] | None:
    """(side, limit) when the book is off the fair value by more than the taker's edge, its
    fee included when it weighs it: it walks only the levels that still pay."""
    fair_price = fair * FULL
    edge = params.informed_edge

    def cost(price: int) -> float:
        return fee_thousandths(price, rate, exponent) if params.informed_pays_fee else 0.0

    if not params.informed_pays_fee:
        # the uncalibrated rule: act on a 1.5 cent gap, walk to within half of it
        fair_int = round(fair_price)
        best_bid, best_ask = book.best(BID), book.best(ASK)
        if best_ask is not None and fair_int - best_ask >= edge:
            return ASK, fair_int - edge // 2
        if best_bid is not None and best_bid - fair_int >= edge:
            return BID, fair_int + edge // 2
        return None
    best_bid, best_ask = book.best(BID), book.best(ASK)
    if best_ask is not None and fair_price - best_ask - cost(best_ask) >= edge:
        limit = best_ask
        while limit + 1 < FULL and fair_price - (limit + 1) - cost(limit + 1) >= edge:
            limit += 1
        return ASK, limit
    if best_bid is not None and best_bid - cost(best_bid) - fair_price >= edge:
        limit = best_bid
        while limit - 1 > 0 and (limit - 1) - cost(limit - 1) - fair_price >= edge:
            limit -= 1
        return BID, limit
    return None
