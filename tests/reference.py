"""Plain-Python reference math for fees, positions and the scan's rules, in `Fraction`s.

Written from DESIGN.md and POLYMARKET.md, independently of the Rust core, so the tests can
check the core's exact integers against a second computation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

MICRO = 1_000_000
PICO = 10**12
SIZE_STEP = 10_000  # 0.01 share: order sizes carry two decimals


def dollars(micros: int) -> Fraction:
    return Fraction(micros, MICRO)


def taker_fee(rate: int, exponent: int, price: int, size: int) -> int:
    """Micro-dollars: shares x rate x (p(1-p))^exponent, truncated to 5 decimals of $."""
    p = dollars(price)
    fee = dollars(size) * dollars(rate) * (p * (1 - p)) ** exponent
    return math.floor(fee * 100_000) * 10


def fee(rate: int, exponent: int, taker_only: bool, price: int, size: int, maker: bool) -> int:
    return 0 if maker and taker_only else taker_fee(rate, exponent, price, size)


@dataclass
class RefPosition:
    """Average-cost accounting in Fractions of dollars and shares.

    The one rounding rule of the core is modelled: a sell removes its share of the side's
    cost floored to a pico-dollar (so a full sell removes all of it).
    """

    qty: dict[str, Fraction] = field(
        default_factory=lambda: {"up": Fraction(0), "down": Fraction(0)}
    )
    cost: dict[str, Fraction] = field(
        default_factory=lambda: {"up": Fraction(0), "down": Fraction(0)}
    )
    realized: Fraction = Fraction(0)

    def buy(self, outcome: str, price: int, size: int, fee_micros: int) -> None:
        self.qty[outcome] += dollars(size)
        self.cost[outcome] += dollars(price) * dollars(size) + dollars(fee_micros)

    def sell(self, outcome: str, price: int, size: int, fee_micros: int) -> None:
        share = self.cost[outcome] * dollars(size) / self.qty[outcome]
        removed = Fraction(math.floor(share * PICO), PICO)
        self.qty[outcome] -= dollars(size)
        self.cost[outcome] -= removed
        self.realized += dollars(price) * dollars(size) - dollars(fee_micros) - removed

    def avg(self, outcome: str) -> Fraction | None:
        return self.cost[outcome] / self.qty[outcome] if self.qty[outcome] else None

    @property
    def pair_cost(self) -> Fraction | None:
        up, down = self.avg("up"), self.avg("down")
        return None if up is None or down is None else up + down

    @property
    def hedged(self) -> Fraction:
        return min(self.qty.values())

    @property
    def locked_profit(self) -> Fraction:
        pair = self.pair_cost
        return Fraction(0) if pair is None else self.hedged * (1 - pair)

    @property
    def total_cost(self) -> Fraction:
        return self.cost["up"] + self.cost["down"]

    @property
    def worst_case_pnl(self) -> Fraction:
        return min(self.qty.values()) - self.total_cost + self.realized

    @property
    def best_case_pnl(self) -> Fraction:
        return max(self.qty.values()) - self.total_cost + self.realized


def picos(amount: Fraction) -> int:
    """An amount of dollars that must be a whole number of pico-dollars, as an int."""
    scaled = amount * PICO
    assert scaled.denominator == 1, amount
    return int(scaled)


def buy_cost(
    rate: int, exponent: int, taker_only: bool, price: int, size: int, maker: bool
) -> Fraction:
    """Dollars paid for `size` at `price`, fee included."""
    return dollars(price) * dollars(size) + dollars(
        fee(rate, exponent, taker_only, price, size, maker)
    )


def per_share(
    rate: int, exponent: int, taker_only: bool, price: int, size: int, maker: bool
) -> Fraction:
    """Price plus the order's fee per share, in dollars: the quantity the rules bound."""
    return buy_cost(rate, exponent, taker_only, price, size, maker) / dollars(size)
