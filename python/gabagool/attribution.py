"""Where a window's money went: its fills split into locked pair profit, unpaired
settlement, sells, fees and (estimated) rebates, exactly, in pico-dollars.

Average-cost accounting over the fills, every division floored to a pico in one place so
that the parts add up to the settlement PnL to the pico:
- each side's bought notional `N_s` (fees apart), the cost of what was sold `floor(S_s N_s /
  B_s)`, the rest is what is held;
- the paired shares `h = min(q_up, q_down)` carry `floor(h held_cost_s / q_s)` of each side's
  held cost: locked = h x $1 - both paired costs;
- unpaired = what the excess pays at settlement ($1 a share if its side won) - the held cost
  not paired;
- sells = proceeds (fees apart) - the cost of what was sold; fees = - every fee paid.
Rebates are an estimate (the paper venue pays none, and the exchange shares its pool among
all makers): the pool's share (`rebate_rate`) of the taker fee our maker fills' counterparties
paid. They are shown beside the PnL, never added to it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

import msgspec

from gabagool.config import micros
from gabagool.types import PAYOUT_PICOS_PER_MICRO_SHARE, PICOS_PER_MICRO, Outcome
from gabagool.venues.base import Fill


@dataclass
class _Side:
    bought: int = 0  # micro-shares
    notional: int = 0  # pico-dollars paid, fees apart
    sold: int = 0
    proceeds: int = 0  # pico-dollars received, fees apart

    @property
    def qty(self) -> int:
        return self.bought - self.sold

    def sold_cost(self) -> int:
        return self.sold * self.notional // self.bought if self.bought else 0


@dataclass
class Ledger:
    """The fills of one window, in the order they happened."""

    up: _Side = field(default_factory=_Side)
    down: _Side = field(default_factory=_Side)
    fees: int = 0  # micro-dollars
    maker_fills: int = 0
    taker_fills: int = 0
    volume: int = 0  # micro-shares bought and sold
    volume_notional: int = 0  # pico-dollars
    max_unhedged: int = 0  # micro-shares of |delta|, the largest reached
    max_unhedged_cost: int = 0  # pico-dollars paid for the unpaired shares, the largest
    rebate_base: int = 0  # micro-dollars a taker would have paid on our maker fills

    def side(self, outcome: str) -> _Side:
        return self.up if outcome == "up" else self.down

    def add(self, fill: Fill, taker_fee: int = 0) -> None:
        self.add_trade(
            fill.outcome, fill.action, fill.price, fill.size, fill.fee, fill.maker, taker_fee
        )

    def add_trade(
        self,
        outcome: str,
        action: str,
        price: int,
        size: int,
        fee: int,
        maker: bool,
        taker_fee: int = 0,
    ) -> None:
        side = self.side(outcome)
        notional = price * size
        if action == "buy":
            side.bought += size
            side.notional += notional
        else:
            side.sold += size
            side.proceeds += notional
        self.fees += fee
        self.volume += size
        self.volume_notional += notional
        if maker:
            self.maker_fills += 1
            self.rebate_base += taker_fee
        else:
            self.taker_fills += 1
        delta = self.delta
        if abs(delta) > self.max_unhedged:
            self.max_unhedged = abs(delta)
        self.max_unhedged_cost = max(self.max_unhedged_cost, self.unhedged_cost())

    @property
    def delta(self) -> int:
        return self.up.qty - self.down.qty

    @property
    def hedged(self) -> int:
        return min(self.up.qty, self.down.qty)

    def _held_cost(self, side: _Side) -> int:
        return side.notional - side.sold_cost()

    def _paired_cost(self, side: _Side) -> int:
        qty = side.qty
        return self.hedged * self._held_cost(side) // qty if qty else 0

    def unhedged_cost(self) -> int:
        """Pico-dollars paid (fees apart) for the shares not paired: what settlement can lose."""
        return sum(self._held_cost(s) - self._paired_cost(s) for s in (self.up, self.down))


@dataclass(frozen=True)
class Split:
    """A window's settlement PnL in parts, pico-dollars; `total` is their sum."""

    locked: int
    unpaired: int
    sells: int
    fees: int
    rebates: int  # estimated, not in `total`

    @property
    def total(self) -> int:
        return self.locked + self.unpaired + self.sells + self.fees


def split(ledger: Ledger, winner: str | None, rebate_rate_ppm: int) -> Split:
    """The parts of the settlement PnL; an unknown winner pays nothing on the excess."""
    up, down = ledger.up, ledger.down
    h = ledger.hedged
    paired = ledger._paired_cost(up) + ledger._paired_cost(down)
    locked = h * PAYOUT_PICOS_PER_MICRO_SHARE - paired
    excess_payout = 0
    if winner in ("up", "down"):
        excess_payout = (ledger.side(winner).qty - h) * PAYOUT_PICOS_PER_MICRO_SHARE
    unpaired = excess_payout - ledger.unhedged_cost()
    sells = sum(s.proceeds - s.sold_cost() for s in (up, down))
    return Split(
        locked=locked,
        unpaired=unpaired,
        sells=sells,
        fees=-ledger.fees * PICOS_PER_MICRO,
        rebates=ledger.rebate_base * rebate_rate_ppm,  # micro$ x ppm = pico$
    )


def ledger_of(fills: Iterable[tuple[Fill, int]]) -> Ledger:
    """A ledger from (fill, taker fee of the same fill) pairs, in order."""
    ledger = Ledger()
    for fill, taker_fee in fills:
        ledger.add(fill, taker_fee)
    return ledger


class TakerFees(Protocol):
    def fee(self, price: int, size: int, maker: bool) -> int: ...


class Attribution(msgspec.Struct, frozen=True, kw_only=True):
    """A window's fills summed up: the settlement PnL's parts (pico-dollars, `Split`'s) and
    the activity behind them."""

    locked: int
    unpaired: int
    sells: int
    fees: int
    rebates: int  # estimated, not in the PnL
    maker_fills: int
    taker_fills: int
    volume: int  # micro-shares bought and sold
    volume_notional: int  # pico-dollars
    max_unhedged: int  # micro-shares: the largest |delta| reached
    max_unhedged_cost: int  # pico-dollars: the most paid for unpaired shares at once


class StandingFill(Protocol):
    """A fill as the window journals it (`engine.core.FillEntry`)."""

    @property
    def outcome(self) -> Outcome: ...
    @property
    def side(self) -> str: ...
    @property
    def price(self) -> int: ...
    @property
    def size(self) -> int: ...
    @property
    def fee(self) -> int: ...
    @property
    def maker(self) -> bool: ...


def attribute(
    fills: Iterable[StandingFill], fees: TakerFees, winner: Outcome | None, rebate_rate_ppm: int
) -> Attribution:
    """The attribution of a window's standing fills, in order; `fees` prices what a taker
    paid on our maker fills (the base of the estimated rebate)."""
    ledger = Ledger()
    for f in fills:
        taker_fee = fees.fee(f.price, f.size, False) if f.maker else 0
        ledger.add_trade(f.outcome, f.side, f.price, f.size, f.fee, f.maker, taker_fee)
    parts = split(ledger, winner, rebate_rate_ppm)
    return Attribution(
        locked=parts.locked,
        unpaired=parts.unpaired,
        sells=parts.sells,
        fees=parts.fees,
        rebates=parts.rebates,
        maker_fills=ledger.maker_fills,
        taker_fills=ledger.taker_fills,
        volume=ledger.volume,
        volume_notional=ledger.volume_notional,
        max_unhedged=ledger.max_unhedged,
        max_unhedged_cost=ledger.max_unhedged_cost,
    )


def rebate_rate_ppm(fee_schedule: object) -> int:
    """The schedule's rebate share of taker fees, in ppm: recordings and the simulator carry
    it; a bare header may not (0)."""
    return micros(Decimal(getattr(fee_schedule, "rebate_rate", "0") or "0"), "rebate_rate")
