"""The paper exchange: simulated matching against the live book, with the market's fees.

Takers (FAK/FOK) walk the opposite side level by level, pay the taker fee of each level and
consume what they take: the paper exchange keeps what it took per level and offers only the
rest until the feed next updates that token's book (the core's books are never edited here,
so the feed's consistency checks stay meaningful); what was taken from one token's book is
not taken from its mirror. Post-only makers that would cross are refused; others rest
behind the size already at their price when placed and fill from trades printed at or
through it once that queue is gone (cancels ahead of them are not seen, which errs late);
makers pay nothing.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Sequence

import trio

from gabagool.venues.base import (
    Fill,
    FillHandler,
    MarketSpec,
    OpenOrder,
    OrderAck,
    OrderRequest,
    Trade,
)
from gabagool.venues.paper_market import PaperMarket

ONE_DOLLAR_MICROS = 1_000_000


class PaperError(ValueError):
    """An order the paper exchange cannot even consider (unknown market, bad price)."""


class _Book:
    def __init__(self, spec: MarketSpec, on_fill: FillHandler) -> None:
        self.spec = spec
        self.on_fill = on_fill
        self.resting: dict[str, OpenOrder] = {}
        # (outcome, book side, price) -> micro-shares taken since the feed last updated it
        self.taken: dict[tuple[str, str, int], int] = {}

    def available(self, outcome: str, side: str) -> list[tuple[int, int]]:
        levels = self.spec.market.levels(outcome, side)
        if not self.taken:
            return levels
        out = []
        for price, size in levels:
            left = size - self.taken.get((outcome, side, price), 0)
            if left > 0:
                out.append((price, left))
        return out


class PaperExchange:
    """Implements `Exchange`; also keeps a cash ledger (pico-dollars) to check the engine's PnL."""

    def __init__(self, *, latency: float = 0.0, session: str | None = None) -> None:
        self.latency = latency  # seconds of Trio time before an order or cancel takes effect
        self._books: dict[str, _Book] = {}
        # the journal keys orders and fills by id: a restarted engine's paper exchange must
        # not hand out the ids of the one that crashed, so each instance has its own prefix
        self.session = session if session is not None else secrets.token_hex(6)
        self._ids = itertools.count(1)
        self._fill_seq = itertools.count(1)
        self.cash = 0  # pico-dollars: proceeds and payouts minus costs and fees
        self.settled: dict[str, str] = {}

    # ---- Exchange --------------------------------------------------------------------

    def register_market(self, spec: MarketSpec, on_fill: FillHandler) -> None:
        self._books[spec.market_id] = _Book(spec, on_fill)

    def unregister_market(self, market_id: str) -> None:
        book = self._books.pop(market_id, None)
        if book is not None and book.resting:
            raise PaperError(f"market {market_id} unregistered with {len(book.resting)} resting")

    async def place(self, order: OrderRequest) -> OrderAck:
        if self.latency:
            await trio.sleep(self.latency)
        book = self._book(order.market_id)
        order_id = f"paper-{self.session}-{next(self._ids)}"
        problem = self._invalid(book.spec, order)
        if problem:
            return OrderAck(order_id=order_id, accepted=False, resting=False, reason=problem)
        if order.order_type == "GTC":
            return self._rest(book, order_id, order)
        return self._take(book, order_id, order)

    async def cancel(self, order_id: str) -> bool:
        if self.latency:
            await trio.sleep(self.latency)
        for book in self._books.values():
            if book.resting.pop(order_id, None) is not None:
                return True
        return False

    async def cancel_all(self, market_id: str | None = None) -> int:
        if self.latency:
            await trio.sleep(self.latency)
        books = [self._book(market_id)] if market_id is not None else self._books.values()
        count = 0
        for book in books:
            count += len(book.resting)
            book.resting.clear()
        return count

    def open_orders(self, market_id: str | None = None) -> list[OpenOrder]:
        books = [self._book(market_id)] if market_id is not None else self._books.values()
        return [order for book in books for order in book.resting.values()]

    def observe(self, market_id: str, changed: int, trades: Sequence[Trade]) -> None:
        book = self._books.get(market_id)
        if book is None:
            return
        if book.taken and changed:
            for key in [k for k in book.taken if changed & (1 if k[0] == "up" else 2)]:
                del book.taken[key]
        if book.resting:
            for outcome, price, size, _side in trades:
                self._match_trade(book, outcome, price, size)

    # ---- settlement ------------------------------------------------------------------

    def settle(self, market_id: str, winner: str, qty_up: int, qty_down: int) -> int:
        """Pay $1 per winning share; returns the payout in pico-dollars."""
        if winner not in ("up", "down"):
            raise PaperError(f"winner {winner!r} is neither 'up' nor 'down'")
        if market_id in self.settled:
            raise PaperError(f"market {market_id} already settled ({self.settled[market_id]})")
        book = self._books.get(market_id)
        if book is not None and book.resting:
            raise PaperError(f"market {market_id} settled with {len(book.resting)} resting")
        self.settled[market_id] = winner
        payout = (qty_up if winner == "up" else qty_down) * ONE_DOLLAR_MICROS
        self.cash += payout
        return payout

    # ---- matching --------------------------------------------------------------------

    def _book(self, market_id: str) -> _Book:
        try:
            return self._books[market_id]
        except KeyError:
            raise PaperError(f"unknown market {market_id!r}") from None

    @staticmethod
    def _invalid(spec: MarketSpec, order: OrderRequest) -> str:
        if not 0 < order.price < ONE_DOLLAR_MICROS:
            return f"price {order.price} outside (0, 1000000)"
        tick = spec.market.tick(order.outcome)  # the tick changes near 0 and 1
        if order.price % tick:
            return f"price {order.price} not on tick {tick}"
        if order.size < spec.min_order_size:
            return f"size {order.size} below minimum {spec.min_order_size}"
        if order.post_only and order.order_type != "GTC":
            return f"post-only is for GTC orders, not {order.order_type}"
        return ""

    def _rest(self, book: _Book, order_id: str, order: OrderRequest) -> OrderAck:
        market = book.spec.market
        if order.action == "buy":
            opposite = market.best_ask(order.outcome)
            crosses = opposite is not None and order.price >= opposite[0]
            side, beyond = "bid", order.price + market.tick(order.outcome)
        else:
            opposite = market.best_bid(order.outcome)
            crosses = opposite is not None and order.price <= opposite[0]
            side, beyond = "ask", order.price - market.tick(order.outcome)
        if crosses:
            if order.post_only:
                return OrderAck(
                    order_id=order_id,
                    accepted=False,
                    resting=False,
                    reason=f"post-only {order.action} at {order.price} would cross",
                    post_only_cross=True,
                )
            ack = self._take(book, order_id, order)
            remaining = order.size - ack.filled
            if remaining <= 0:
                return ack
        else:
            remaining = order.size
        at_price = market.depth_within(order.outcome, side, order.price)
        if 0 < beyond < ONE_DOLLAR_MICROS:
            at_price -= market.depth_within(order.outcome, side, beyond)
        book.resting[order_id] = OpenOrder(
            order_id=order_id, request=order, remaining=remaining, queue_ahead=at_price
        )
        return OrderAck(
            order_id=order_id, accepted=True, resting=True, filled=order.size - remaining
        )

    def _take(self, book: _Book, order_id: str, order: OrderRequest) -> OrderAck:
        fees = book.spec.fees
        side = "ask" if order.action == "buy" else "bid"
        levels = book.available(order.outcome, side)
        if order.order_type == "FOK":
            available = sum(
                size
                for price, size in levels
                if (price <= order.price if order.action == "buy" else price >= order.price)
            )
            if available < order.size:
                return OrderAck(
                    order_id=order_id,
                    accepted=False,
                    resting=False,
                    reason=f"FOK {order.size} unfillable: {available} within {order.price}",
                )
        remaining = order.size
        fills: list[Fill] = []
        for price, size in levels:
            if remaining == 0:
                break
            if (order.action == "buy" and price > order.price) or (
                order.action == "sell" and price < order.price
            ):
                break
            take = min(size, remaining)
            remaining -= take
            key = (order.outcome, side, price)
            book.taken[key] = book.taken.get(key, 0) + take
            fills.append(
                self._fill(
                    book, order_id, order, price, take, fees.fee(price, take, False), maker=False
                )
            )
        for fill in fills:
            book.on_fill(fill)
        return OrderAck(
            order_id=order_id, accepted=True, resting=False, filled=order.size - remaining
        )

    def _fill(
        self,
        book: _Book,
        order_id: str,
        order: OrderRequest,
        price: int,
        size: int,
        fee: int,
        *,
        maker: bool,
    ) -> Fill:
        notional = price * size  # pico-dollars
        if order.action == "buy":
            self.cash -= notional + fee * ONE_DOLLAR_MICROS
        else:
            self.cash += notional - fee * ONE_DOLLAR_MICROS
        return Fill(
            fill_id=f"{order_id}-f{next(self._fill_seq)}",
            order_id=order_id,
            client_id=order.client_id,
            market_id=order.market_id,
            outcome=order.outcome,
            action=order.action,
            price=price,
            size=size,
            fee=fee,
            maker=maker,
            rule=order.rule,
        )

    def _match_trade(self, book: _Book, outcome: str, price: int, size: int) -> None:
        # runs in the feed task for every trade while an order rests, before the scan the
        # frame wakes: a plain loop, and no sort for the usual one candidate
        candidates = []
        for o in book.resting.values():
            request = o.request
            if request.outcome == outcome and (
                request.price >= price if request.action == "buy" else request.price <= price
            ):
                candidates.append(o)
        if not candidates:
            return
        if len(candidates) > 1:
            # price priority: better-priced orders of ours fill first
            candidates.sort(
                key=lambda o: -o.request.price if o.request.action == "buy" else o.request.price
            )
        available = size
        fills: list[Fill] = []
        for order in candidates:
            if available <= 0:
                break
            if order.request.price == price and order.queue_ahead:
                consumed = min(order.queue_ahead, available)
                order.queue_ahead -= consumed
                available -= consumed
                if available <= 0:
                    break
            take = min(order.remaining, available)
            available -= take
            order.remaining -= take
            fee = book.spec.fees.fee(order.request.price, take, True)
            fills.append(
                self._fill(
                    book, order.order_id, order.request, order.request.price, take, fee, maker=True
                )
            )
            if order.remaining == 0:
                del book.resting[order.order_id]
        for fill in fills:
            book.on_fill(fill)


__all__ = ["PaperError", "PaperExchange", "PaperMarket"]
