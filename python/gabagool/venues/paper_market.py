"""The paper venue's market of one window, synchronously: no Trio, no clock, no I/O.

See `gabagool.venues.paper` for the matching rules.
"""

from __future__ import annotations

import msgspec

from gabagool import _core
from gabagool.types import (
    MICROS,
    PAYOUT_PICOS_PER_MICRO_SHARE,
    PICOS_PER_MICRO,
    BookSide,
    Outcome,
    describe_order,
    short,
)
from gabagool.venues.base import (
    Accepted,
    BookUpdate,
    BookView,
    Cancelled,
    CancelRejected,
    Filled,
    OrderReport,
    OrderRequest,
    Rejected,
    RejectReason,
    Settled,
    VenueEvent,
    WindowHeader,
)


class _Resting(msgspec.Struct, kw_only=True):
    client_id: str
    venue_id: str
    request: OrderRequest
    remaining: int
    queue_ahead: int  # micro-shares ahead of it at its price when it was placed


class PaperMarket:
    """One window on the paper venue (`SimulatedMarket`): it matches against the window's
    books as `book` shows them (the engine's own, read and never written: a frame is parsed
    once, and the venue sees what the engine sees); every call returns the events it caused,
    at once and in order.

    Matching is `PaperExchange`'s (see the module docstring): takers walk the books and pay
    the fee schedule, post-only bids that would cross are refused, resting bids fill from
    trades at or through their price once the size ahead of them has traded. Ids are made
    from the engine's client ids, so a window's fills depend only on its inputs.
    """

    def __init__(
        self, header: WindowHeader, book: BookView, *, min_order_size: int | None = None
    ) -> None:
        self.market_id = header.condition_id
        self.market = book
        schedule = header.fee_schedule
        self.fees = _core.FeeSchedule.parse(schedule.rate, schedule.exponent, schedule.taker_only)
        market_min = _core.parse_size(header.min_order_size)
        self.min_order_size = max(market_min, min_order_size or 0)
        self.resting: dict[str, _Resting] = {}
        self.taken: dict[tuple[str, str, int], int] = {}
        self.cash = 0  # pico-dollars: proceeds minus costs and fees
        self.winner: str | None = None
        self._fills = 0

    # ---- market data -------------------------------------------------------------------

    def on_book(self, update: BookUpdate) -> list[VenueEvent]:
        """What a frame the books just applied changed: takers' consumed liquidity is
        forgotten where a best price moved, trades fill resting orders, a resolution
        settles. (A frame the books refused changed nothing: the venue hears nothing.)"""
        events: list[VenueEvent] = []
        changed = update.changed
        if self.taken and changed:
            for key in [k for k in self.taken if changed & (1 if k[0] == "up" else 2)]:
                del self.taken[key]
        if self.resting:
            for outcome, price, size, _side in update.trades:
                self._match_trade(outcome, price, size, events)
        if update.resolved is not None and self.winner is None:
            self.winner = update.resolved
            events.append(Settled(market_id=self.market_id, winner=update.resolved))
        return events

    # ---- orders ------------------------------------------------------------------------

    def submit(self, request: OrderRequest) -> list[VenueEvent]:
        client_id = request.client_id
        venue_id = f"paper-{client_id}"
        problem = self._invalid(request)
        if problem:
            return [self._rejected(client_id, "invalid", problem)]
        if request.order_type != "GTC":
            return self._take(venue_id, request, request.size)
        market = self.market
        outcome = request.outcome
        if request.action == "buy":
            opposite = market.best_ask(outcome)
            crosses = opposite is not None and request.price >= opposite[0]
            side: BookSide = "bid"
            beyond = request.price + market.tick(outcome)
        else:
            opposite = market.best_bid(outcome)
            crosses = opposite is not None and request.price <= opposite[0]
            side = "ask"
            beyond = request.price - market.tick(outcome)
        events: list[VenueEvent] = []
        remaining = request.size
        if crosses:
            if request.post_only:
                return [
                    self._rejected(
                        client_id,
                        "post_only_cross",
                        f"post-only {describe(request)} would cross",
                    )
                ]
            events = self._take(venue_id, request, request.size, rest=True)
            remaining = request.size - sum(e.size for e in events if isinstance(e, Filled))
            if remaining <= 0:
                return events
        else:
            events.append(self._accepted(client_id, venue_id, resting=True))
        at_price = market.depth_within(outcome, side, request.price)
        if 0 < beyond < MICROS:
            at_price -= market.depth_within(outcome, side, beyond)
        self.resting[client_id] = _Resting(
            client_id=client_id,
            venue_id=venue_id,
            request=request,
            remaining=remaining,
            queue_ahead=at_price,
        )
        return events

    def cancel(self, client_id: str) -> list[VenueEvent]:
        if self.resting.pop(client_id, None) is None:
            return [
                CancelRejected(market_id=self.market_id, client_id=client_id, reason="not resting")
            ]
        return [Cancelled(market_id=self.market_id, client_id=client_id, reason="requested")]

    def cancel_all(self) -> list[VenueEvent]:
        events: list[VenueEvent] = [
            Cancelled(market_id=self.market_id, client_id=c, reason="requested")
            for c in self.resting
        ]
        self.resting.clear()
        return events

    def reconcile(self) -> list[OrderReport]:
        return [
            OrderReport(
                client_id=o.client_id, venue_id=o.venue_id, request=o.request, remaining=o.remaining
            )
            for o in self.resting.values()
        ]

    def payout(self, winner: str, qty_up: int, qty_down: int) -> int:
        """Pay $1 a winning share into `cash`; returns the payout in pico-dollars."""
        payout = (qty_up if winner == "up" else qty_down) * PAYOUT_PICOS_PER_MICRO_SHARE
        self.cash += payout
        return payout

    # ---- matching ----------------------------------------------------------------------

    def _invalid(self, request: OrderRequest) -> str:
        if request.market_id != self.market_id:
            return f"unknown market {request.market_id!r}"
        if not 0 < request.price < MICROS:
            return f"price {short(request.price)} outside (0, 1)"
        tick = self.market.tick(request.outcome)  # the tick changes near 0 and 1
        if request.price % tick:
            return f"price {short(request.price)} not on tick {short(tick)}"
        if request.size < self.min_order_size:
            return f"size {short(request.size)} below minimum {short(self.min_order_size)}"
        if request.post_only and request.order_type != "GTC":
            return f"post-only is for GTC orders, not {request.order_type}"
        return ""

    def _available(self, outcome: Outcome, side: BookSide) -> list[tuple[int, int]]:
        levels = self.market.levels(outcome, side)
        if not self.taken:
            return levels
        out = []
        for price, size in levels:
            left = size - self.taken.get((outcome, side, price), 0)
            if left > 0:
                out.append((price, left))
        return out

    def _take(
        self, venue_id: str, request: OrderRequest, size: int, *, rest: bool = False
    ) -> list[VenueEvent]:
        """A taker (or the crossing part of a GTC): walk the book up to the limit."""
        buy = request.action == "buy"
        side: BookSide = "ask" if buy else "bid"
        levels = self._available(request.outcome, side)
        within = [(p, s) for p, s in levels if (p <= request.price if buy else p >= request.price)]
        if request.order_type == "FOK" and sum(s for _, s in within) < size:
            available = sum(s for _, s in within)
            return [
                self._rejected(
                    request.client_id,
                    "unfillable",
                    f"FOK {short(size)} unfillable: {short(available)} within "
                    f"{short(request.price)}",
                )
            ]
        events: list[VenueEvent] = [self._accepted(request.client_id, venue_id, resting=rest)]
        remaining = size
        for price, available in within:
            if remaining == 0:
                break
            take = min(available, remaining)
            remaining -= take
            key = (request.outcome, side, price)
            self.taken[key] = self.taken.get(key, 0) + take
            fee = self.fees.fee(price, take, False)
            events.append(self._fill(venue_id, request, price, take, fee, maker=False))
        if remaining and not rest:
            events.append(
                Cancelled(
                    market_id=self.market_id,
                    client_id=request.client_id,
                    reason=f"{request.order_type} remainder unfilled",
                )
            )
        return events

    def _match_trade(self, outcome: str, price: int, size: int, events: list[VenueEvent]) -> None:
        candidates = [
            o
            for o in self.resting.values()
            if o.request.outcome == outcome
            and (
                o.request.price >= price if o.request.action == "buy" else o.request.price <= price
            )
        ]
        if not candidates:
            return
        if len(candidates) > 1:
            # price priority: better-priced orders of ours fill first (a stable sort: then age)
            candidates.sort(
                key=lambda o: -o.request.price if o.request.action == "buy" else o.request.price
            )
        available = size
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
            fee = self.fees.fee(order.request.price, take, True)
            events.append(
                self._fill(
                    order.venue_id, order.request, order.request.price, take, fee, maker=True
                )
            )
            if order.remaining == 0:
                del self.resting[order.client_id]

    def _fill(
        self, venue_id: str, request: OrderRequest, price: int, size: int, fee: int, *, maker: bool
    ) -> Filled:
        notional = price * size
        if request.action == "buy":
            self.cash -= notional + fee * PICOS_PER_MICRO
        else:
            self.cash += notional - fee * PICOS_PER_MICRO
        self._fills += 1
        return Filled(
            market_id=self.market_id,
            client_id=request.client_id,
            venue_id=venue_id,
            fill_id=f"{venue_id}-f{self._fills}",
            outcome=request.outcome,
            side=request.action,
            price=price,
            size=size,
            fee=fee,
            maker=maker,
        )

    def _accepted(self, client_id: str, venue_id: str, *, resting: bool) -> Accepted:
        return Accepted(
            market_id=self.market_id, client_id=client_id, venue_id=venue_id, resting=resting
        )

    def _rejected(self, client_id: str, reason: RejectReason, detail: str) -> Rejected:
        return Rejected(market_id=self.market_id, client_id=client_id, reason=reason, detail=detail)


def describe(request: OrderRequest) -> str:
    return describe_order(request.action, request.outcome, request.size, request.price)
