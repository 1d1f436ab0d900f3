"""The simulated Up book, kept as each owner's orders; the Down book is its mirror.

Prices are integers in thousandths of a dollar (the finest tick the markets use), sizes
integers in hundredths of a share (the wire's size precision).
"""

from __future__ import annotations

FULL = 1000
COARSE_TICK = 10
FINE_TICK = 1
# The exchange switches a market to the 0.001 tick once its price passes 0.96 or 0.04.
FINE_TICK_ABOVE = 960
FINE_TICK_BELOW = 40

BID, ASK = 0, 1

# Owners that are not makers (makers are 0, 1, ...).
BACKGROUND_OWNER = 1_000
WALL_OWNER = 1_001

_STALE = -1  # no price is negative

Change = tuple[int, int, int]
"""(side, price, new level total) of one level."""


class Book:
    """The Up book as the sum of its owners' orders; the Down book is its mirror."""

    def __init__(self) -> None:
        self.levels: tuple[dict[int, int], dict[int, int]] = ({}, {})
        self.orders: dict[int, dict[tuple[int, int], int]] = {}
        # each side's best price, found again only after the side changed (`_STALE`)
        self._best: list[int | None] = [_STALE, _STALE]

    def best(self, side: int) -> int | None:
        best = self._best[side]
        if best == _STALE:
            prices = self.levels[side]
            best = (max(prices) if side == BID else min(prices)) if prices else None
            self._best[side] = best
        return best

    def mid(self) -> float | None:
        bid, ask = self.best(BID), self.best(ASK)
        return None if bid is None or ask is None else (bid + ask) / 2

    def best_excluding(self, side: int, owner: int) -> int | None:
        own = self.orders.get(owner, {})
        levels = self.levels[side]
        best = self.best(side)
        if best is None:
            return None
        if levels[best] > own.get((side, best), 0):
            return best  # the best level holds others' orders: it is theirs too
        prices = [p for p, total in levels.items() if total > own.get((side, p), 0)]
        if not prices:
            return None
        return max(prices) if side == BID else min(prices)

    def replace(self, owner: int, new: dict[tuple[int, int], int]) -> list[Change]:
        """Swap an owner's orders; the level changes come shrinking first, so that no prefix
        of them crosses the book when the final book does not."""
        old = self.orders.get(owner, {})
        shrink: list[Change] = []
        grow: list[Change] = []
        for key in sorted(old.keys() | new.keys()):
            before, after = old.get(key, 0), new.get(key, 0)
            if before == after:
                continue
            side, price = key
            level = self.levels[side]
            self._best[side] = _STALE
            total = level.get(price, 0) + after - before
            if total:
                level[price] = total
            else:
                level.pop(price, None)
            (shrink if after < before else grow).append((side, price, total))
        self.orders[owner] = dict(new)
        shrink.sort()
        grow.sort()
        return shrink + grow

    def take(self, side: int, price: int, size: int) -> int:
        """Remove up to `size` at one level, makers before the deep orders; returns the amount."""
        taken = 0
        for owner in sorted(self.orders):
            if taken == size:
                break
            orders = self.orders[owner]
            resting = orders.get((side, price), 0)
            if not resting:
                continue
            part = min(resting, size - taken)
            taken += part
            if part == resting:
                del orders[(side, price)]
            else:
                orders[(side, price)] = resting - part
        level = self.levels[side]
        self._best[side] = _STALE
        remaining = level[price] - taken
        if remaining:
            level[price] = remaining
        else:
            del level[price]
        return taken
