"""The plain-Python way the original design would do it: Decimal prices and a dict per side.

Used only by the benchmarks, as the yardstick the Rust core is measured against.
"""

from __future__ import annotations

from decimal import Decimal

ONE = Decimal(1)


class DecimalBook:
    """One token's book: {price: size} dicts, best prices by max/min over the keys."""

    def __init__(self) -> None:
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}

    def apply_snapshot(self, bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> None:
        self.bids = {Decimal(p): Decimal(s) for p, s in bids if Decimal(s) != 0}
        self.asks = {Decimal(p): Decimal(s) for p, s in asks if Decimal(s) != 0}

    def set_level(self, side: str, price: str, size: str) -> None:
        levels = self.bids if side == "bid" else self.asks
        p, s = Decimal(price), Decimal(size)
        if s == 0:
            levels.pop(p, None)
        else:
            levels[p] = s

    def best_bid(self) -> Decimal | None:
        return max(self.bids) if self.bids else None

    def best_ask(self) -> Decimal | None:
        return min(self.asks) if self.asks else None

    def depth_within(self, bound: Decimal) -> Decimal:
        return sum((s for p, s in self.asks.items() if p <= bound), Decimal(0))


def taker_fee(price: Decimal, size: Decimal, rate: Decimal) -> Decimal:
    fee = size * rate * price * (ONE - price)
    return fee.quantize(Decimal("0.00001"), rounding="ROUND_FLOOR")


def may_add(
    side: str,
    other: str,
    books: dict[str, DecimalBook],
    qty: dict[str, Decimal],
    trade_size: Decimal,
    max_delta: Decimal,
) -> bool:
    """The delta cap and the liquidity rule (the other side can still be bought)."""
    delta = qty[side] + trade_size - qty[other]
    other_ask = books[other].best_ask()
    liquid = other_ask is not None and books[other].depth_within(
        other_ask + Decimal("0.02")
    ) >= 3 * trade_size
    return abs(delta) <= max_delta and liquid


def scan_maker(
    up: DecimalBook,
    down: DecimalBook,
    qty: dict[str, Decimal],
    cost: dict[str, Decimal],
    target: Decimal,
    entry_max: Decimal,
    trade_size: Decimal,
    max_delta: Decimal,
    tick: Decimal,
) -> list[tuple[str, Decimal, Decimal]]:
    """The accumulator's maker decision: the post-only bid each side may rest, in closed form."""
    intents = []
    books = {"up": up, "down": down}
    for side, other in (("up", "down"), ("down", "up")):
        book = books[side]
        bid, ask = book.best_bid(), book.best_ask()
        if bid is None or ask is None:
            continue
        bound = target - cost[other] / qty[other] if qty[other] > 0 else entry_max
        price = min((bound / tick).to_integral_value(rounding="ROUND_FLOOR") * tick,
                    bid + tick, ask - tick)
        fits = may_add(side, other, books, qty, trade_size, max_delta)
        if price > 0 and fits:
            intents.append((side, price, trade_size))
    return intents


def scan(
    up: DecimalBook,
    down: DecimalBook,
    qty: dict[str, Decimal],
    cost: dict[str, Decimal],
    target: Decimal,
    entry_max: Decimal,
    trade_size: Decimal,
    max_delta: Decimal,
    rate: Decimal,
) -> list[tuple[str, Decimal, Decimal]]:
    """The accumulator's taker decision (opening and pairing rules, delta cap, liquidity)."""
    intents = []
    books = {"up": up, "down": down}
    for side, other in (("up", "down"), ("down", "up")):
        ask = books[side].best_ask()
        if ask is None:
            continue
        fee_per_share = taker_fee(ask, trade_size, rate) / trade_size
        if qty[other] > 0:
            allowed = ask + fee_per_share + cost[other] / qty[other] <= target
        else:
            allowed = ask + fee_per_share <= entry_max
        fits = may_add(side, other, books, qty, trade_size, max_delta)
        if allowed and fits:
            intents.append((side, ask, trade_size))
    return intents
