"""One window's backtest result: exact integers inside, decimal strings when shown."""

from __future__ import annotations

from fractions import Fraction

import msgspec

from gabagool.backtest.fair import fair_json
from gabagool.backtest.spec import WindowSpec
from gabagool.engine.backtest_loop import FairRecord
from gabagool.types import MICROS, PICOS


class WindowResult(msgspec.Struct, frozen=True, kw_only=True):
    """Money in pico-dollars, sizes in micro-shares (see `to_json` for what people read)."""

    spec: WindowSpec
    slug: str
    winner: str | None
    settled: bool
    pnl: int  # settlement PnL (0 when unsettled)
    locked: int
    unpaired: int
    sells: int
    fees: int  # negative: paid
    rebates: int  # estimated, not in pnl
    qty_up: int
    qty_down: int
    hedged: int
    delta: int  # final
    pair_cost: tuple[int, int] | None  # exact fraction of dollars, fees included
    fills: int
    maker_fills: int
    taker_fills: int
    volume: int  # micro-shares bought and sold
    volume_notional: int  # pico-dollars
    max_unhedged: int  # micro-shares of |delta|, the largest reached
    max_unhedged_cost: int  # pico-dollars paid for unpaired shares, the largest reached
    orders_placed: int
    orders_rejected: int
    rule_breaches: int
    halted: str  # why the window halted ("" if it did not)
    fair: FairRecord | None = None  # the underlying as the core held it (None: reference off)

    @property
    def pair_cost_fraction(self) -> Fraction | None:
        return Fraction(*self.pair_cost) if self.pair_cost is not None else None


def dollars(picos: int | Fraction, places: int = 6) -> str:
    """Pico-dollars (or an exact fraction of them) as dollars, truncated toward zero."""
    value = Fraction(picos) / PICOS
    return decimal(value, places)


def shares(micros: int | Fraction, places: int = 2) -> str:
    return decimal(Fraction(micros) / MICROS, places)


def decimal(value: Fraction, places: int = 6) -> str:
    scaled = abs(value.numerator) * 10**places // value.denominator
    sign = "-" if value < 0 and scaled else ""
    whole, frac = divmod(scaled, 10**places)
    return f"{sign}{whole}.{frac:0{places}d}" if places else f"{sign}{whole}"


def to_json(result: WindowResult) -> dict[str, object]:
    """The window as people read it: dollars and shares as decimal strings."""
    pair = result.pair_cost_fraction
    return {
        "window": result.spec.label,
        "file": result.spec.file or None,
        "seed": result.spec.seed if not result.spec.file else None,
        "asset": result.spec.asset,
        "start": result.spec.start,
        "variant": result.spec.variant or None,
        "slug": result.slug,
        "winner": result.winner,
        "settled": result.settled,
        "pnl": dollars(result.pnl),
        "locked": dollars(result.locked),
        "unpaired": dollars(result.unpaired),
        "sells": dollars(result.sells),
        "fees": dollars(result.fees),
        "rebates_estimated": dollars(result.rebates),
        "qty_up": shares(result.qty_up),
        "qty_down": shares(result.qty_down),
        "paired": shares(result.hedged),
        "final_delta": shares(result.delta),
        "pair_cost": decimal(pair, 4) if pair is not None else None,
        "fills": result.fills,
        "maker_fills": result.maker_fills,
        "taker_fills": result.taker_fills,
        "volume_shares": shares(result.volume),
        "volume_usd": dollars(result.volume_notional, 2),
        "max_unhedged_shares": shares(result.max_unhedged),
        "max_unhedged_usd": dollars(result.max_unhedged_cost, 2),
        "orders_placed": result.orders_placed,
        "orders_rejected": result.orders_rejected,
        "rule_breaches": result.rule_breaches,
        "halted": result.halted or None,
        "fair": fair_json(result.fair),
    }
