"""The order manager of one window: places, re-prices, cancels and books fills into Position.

Maker quotes are kept as one bid per outcome (`_wish` says whose), and a resting order is
kept only while it is exactly what is wished for (same price, no larger than the wished
size), since every replace loses queue position. Fills may arrive while `place` is still
running (paper takers), so orders are known by the engine's own client id before they are
sent.

With a journal, a fill is committed to the store before it touches the position: the
exchange's (synchronous) callback only queues it, and `book_fills` journals then applies
each in arrival order, after the order it belongs to was journaled.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import trio

from gabagool.engine.events import EngineEvents
from gabagool.engine.summary import decimal
from gabagool.venues.base import Exchange, Fill, OrderAck, OrderRequest

if TYPE_CHECKING:
    from gabagool.engine.journal import EngineJournal
    from gabagool.store.base import OrderStatus

OUTCOMES = ("up", "down")
ACCUMULATOR_RULES = frozenset({"opening", "pairing", "instant_pair"})
MICROS = 1_000_000


def other(outcome: str) -> str:
    return "down" if outcome == "up" else "up"


@dataclass(frozen=True)
class Placement:
    """The position as the order was placed: what its rule was checked against."""

    qty_self: int
    qty_other: int
    cost_other: int  # pico-dollars
    ms_to_end: int


@dataclass
class Order:
    client_id: str
    request: OrderRequest
    owner: str  # "accumulator" | "equalizer" | "risk"
    placement: Placement
    order_id: str = ""
    remaining: int = 0
    resting: bool = False


@dataclass(frozen=True)
class FillRecord:
    fill: Fill
    placement: Placement | None
    breach: bool  # the realised price broke the rule the order was placed under


@dataclass
class OrderStats:
    placed: int = 0
    rejected: int = 0
    post_only_crosses: int = 0
    cancelled: int = 0
    breaches: int = 0
    capped: int = 0  # buys not sent for want of room under the shared capital cap
    fills: list[FillRecord] = field(default_factory=list)


class OrderManager:
    def __init__(
        self,
        *,
        market_id: str,
        slug: str,
        exchange: Exchange,
        events: EngineEvents,
        position: Any,  # `_core.Position`, mutated only here
        params: Any,  # `_core.StrategyParams`
        ms_to_end: Callable[[], int],
        on_fill: Callable[[FillRecord], None],
        on_reject_storm: Callable[[], None],
        max_rejects_per_minute: int,
        blocked: Callable[[], str] = lambda: "",
        journal: EngineJournal | None = None,
        capital_gate: Callable[[OrderRequest], Awaitable[bool]] | None = None,
    ) -> None:
        self.market_id = market_id
        self.window_id = slug  # the journal's name of the window
        self.journal = journal
        self._capital_gate = capital_gate  # may a buy be sent within the shared capital cap
        self._unbooked: deque[Fill] = deque()  # reported, not yet journaled
        self._booking = _Lock()  # one booker at a time keeps fills in arrival order
        self._fill_arrived = trio.Event()
        self._capped = False
        self.exchange = exchange
        self.events = events
        self.position = position
        self.params = params
        self._ms_to_end = ms_to_end
        self._on_fill = on_fill
        self._on_reject_storm = on_reject_storm
        self._blocked = blocked  # why the window may not place orders now ("" if it may)
        self._max_rejects = max_rejects_per_minute
        self._ids = (f"{slug}-{n}" for n in itertools.count(1))
        self._lock = _Lock()
        self._wished: dict[str, dict[str, Any]] = {"accumulator": {}, "equalizer": {}, "risk": {}}
        self._rejects: deque[float] = deque()
        self.orders: dict[str, Order] = {}  # by client id, until done
        self.stats = OrderStats()
        self.replayed_fills = 0  # fills the journal already held: not counted again

    # ---- what the tasks call ---------------------------------------------------------

    async def act(
        self, owner: str, decide: Callable[[float], list[Any]], now: float | None = None
    ) -> None:
        """Rest `owner`'s GTC intents (replacing its earlier ones) and send the others now.

        `decide(now)` runs once the lock is held: waiting for the lock lets fills arrive, and a
        decision made before them would be stale. `now` is Trio's time: the caller's reading
        when it has one and the lock is free (no other task has run since), else read here.
        """
        # every scan passes here between a frame and its intents: a free lock costs no await
        if not self._lock.take_nowait():
            await self._lock.take()
            now = trio.current_time()  # other tasks ran meanwhile
        elif now is None:
            now = trio.current_time()
        try:
            intents = decide(now)
            self._wished[owner] = {i.outcome: i for i in intents if i.order_type == "GTC"}
            await self._reconcile()
            for intent in intents:
                if intent.order_type != "GTC":
                    await self._send(owner, intent)
        finally:
            self._lock.release()

    async def cancel_all(self, reason: str) -> int:
        """Cancel every resting order of the window and forget the wishes."""
        await self._lock.take()
        try:
            # inside the lock: a decision in flight must not leave a wish behind
            for wishes in self._wished.values():
                wishes.clear()
            resting = [o for o in self.orders.values() if o.resting]
            count = await self.exchange.cancel_all(self.market_id)
            # a fill reported before the cancel took effect completes its order, not a cancel
            await self.book_fills()
            for order in resting:
                await self._forget(order, reason)
            return count
        finally:
            self._lock.release()

    async def run_booking(self) -> None:
        """The window's task that journals and applies fills reported outside a placement
        (resting orders matched by the feed's trades)."""
        while True:
            await self._fill_arrived.wait()
            self._fill_arrived = trio.Event()
            await self.book_fills()

    async def book_fills(self) -> None:
        """Journal, then apply, every fill reported so far (no-op without a journal)."""
        if self.journal is None or not self._unbooked:
            return
        await self._booking.take()
        try:
            await self._book_locked()
        finally:
            self._booking.release()

    async def _book_locked(self) -> None:
        journal = self.journal
        assert journal is not None
        while self._unbooked:
            fill = self._unbooked[0]
            # shielded: a fill journaled must also be applied, and its order's end recorded
            with trio.CancelScope(shield=True):
                fresh = await journal.fill(self.window_id, fill)
                self._unbooked.popleft()
                if not fresh:
                    self.replayed_fills += 1
                    continue
                done = self._apply(fill)
                if done is not None:
                    await journal.order_status(done.order_id, "filled")

    def resting(self) -> list[Order]:
        return [o for o in self.orders.values() if o.resting]

    # ---- internals -------------------------------------------------------------------

    async def _reconcile(self) -> None:
        for outcome in OUTCOMES:
            owner, wish = self._wish(outcome)
            kept = False
            for order in [o for o in self.orders.values() if o.resting]:
                if order.request.outcome != outcome:
                    continue
                if (
                    not kept
                    and wish is not None
                    and order.request.action == wish.action
                    and order.request.price == wish.price
                    and order.remaining <= wish.size
                ):
                    kept = True
                    continue
                if await self.exchange.cancel(order.order_id):
                    await self._forget(order, "re-price")
                    continue
                await self.book_fills()  # filled meanwhile: its fill may be queued
                if order.client_id in self.orders:
                    # nothing rests any more, and no fill says why
                    await self._forget(order, "gone")
            if wish is not None and not kept:
                await self._send(owner, wish)

    def _wish(self, outcome: str) -> tuple[str, Any]:
        """The bid to rest on `outcome`: the equalizer's only where it bids higher (it raises
        the lagging side's bid up to `max_pair_cost`); else the accumulator's, whose rules
        are the stricter ones."""
        accumulator = self._wished["accumulator"].get(outcome)
        equalizer = self._wished["equalizer"].get(outcome)
        if equalizer is not None and (accumulator is None or equalizer.price > accumulator.price):
            return "equalizer", equalizer
        return "accumulator", accumulator

    async def _send(self, owner: str, intent: Any) -> None:
        if owner != "risk" and self._blocked():
            return  # a wish made before a halt or a pause; only liquidation trades now
        outcome = intent.outcome
        client_id = next(self._ids)
        request = OrderRequest(
            market_id=self.market_id,
            outcome=outcome,
            action=intent.action,
            price=intent.price,
            size=intent.size,
            order_type=intent.order_type,
            post_only=intent.post_only,
            rule=intent.rule,
            client_id=client_id,
        )
        if self._capital_gate is not None and request.action == "buy":
            if not await self._capital_gate(request):
                self.stats.capped += 1
                if not self._capped:  # reported once per spell: every scan would repeat it
                    self._capped = True
                    self.events.risk_action(
                        self.market_id,
                        "capital_cap",
                        f"{request.rule} buy {request.outcome} {request.size}@{request.price} "
                        "not sent: no room under the shared capital or unhedged cap",
                    )
                return
            self._capped = False
            if owner != "risk" and self._blocked():
                return  # halted while the reservation was made
        # no checkpoint from the gate to here: the next gate counts this order as outstanding,
        # and the placement is the position the order is sent against
        position = self.position
        placement = Placement(
            qty_self=position.qty_up if outcome == "up" else position.qty_down,
            qty_other=position.qty_down if outcome == "up" else position.qty_up,
            cost_other=position.cost_down if outcome == "up" else position.cost_up,
            ms_to_end=self._ms_to_end(),
        )
        order = Order(client_id, request, owner, placement, remaining=intent.size)
        self.orders[client_id] = order
        if self.journal is None:
            ack = await self._place(order)
        else:
            # fills reported during the placement wait until the order itself is journaled
            await self._booking.take()
            try:
                ack = await self._place(order)
                status: OrderStatus = (
                    "rejected" if not ack.accepted else "open" if ack.resting else "pending"
                )
                with trio.CancelScope(shield=True):
                    await self.journal.order_placed(self.window_id, request, ack, status)
                    await self._book_locked()
            finally:
                self._booking.release()
        if not ack.accepted:
            self.orders.pop(client_id, None)
            self._rejected(ack)
            return
        self.stats.placed += 1
        order.resting = ack.resting and order.remaining > 0
        if not order.resting and self.orders.pop(client_id, None) is not None:
            if self.journal is not None:
                # a taker's unfilled remainder dies with it
                with trio.CancelScope(shield=True):
                    await self.journal.order_status(
                        ack.order_id, "cancelled", f"{request.order_type} remainder unfilled"
                    )

    async def _place(self, order: Order) -> OrderAck:
        ack = await self.exchange.place(order.request)
        self.events.order_placed(order.request, ack)
        order.order_id = ack.order_id
        return ack

    def _rejected(self, ack: OrderAck) -> None:
        self.stats.rejected += 1
        if ack.post_only_cross:
            # a race with the book, not an error of ours: the next scan re-prices
            self.stats.post_only_crosses += 1
            return
        now = trio.current_time()
        self._rejects.append(now)
        while self._rejects and self._rejects[0] < now - 60:
            self._rejects.popleft()
        if len(self._rejects) > self._max_rejects:
            self._rejects.clear()
            self._on_reject_storm()

    async def _forget(self, order: Order, reason: str) -> None:
        if self.orders.pop(order.client_id, None) is not None:
            order.resting = False
            self.stats.cancelled += 1
            self.events.order_cancelled(self.market_id, order.order_id, reason)
            if self.journal is not None:
                with trio.CancelScope(shield=True):
                    await self.journal.order_status(order.order_id, "cancelled", reason)

    def handle_fill(self, fill: Fill) -> None:
        """The exchange's fill callback: without a journal, book it now; with one, queue it
        for `book_fills`, which journals it first."""
        if self.journal is None:
            self._apply(fill)
            return
        self._unbooked.append(fill)
        self._fill_arrived.set()

    def _apply(self, fill: Fill) -> Order | None:
        """Book a fill into the position, check its rule, tell the window; returns its order
        when this fill completed it."""
        done = None
        order = self.orders.get(fill.client_id)
        position = self.position
        up = fill.outcome == "up"
        before = Holding(
            qty_self=position.qty_up if up else position.qty_down,
            cost_self=position.cost_up if up else position.cost_down,
            qty_other=position.qty_down if up else position.qty_up,
            cost_other=position.cost_down if up else position.cost_up,
        )
        if fill.action == "buy":
            position.buy(fill.outcome, fill.price, fill.size, fill.fee)
        else:
            position.sell(fill.outcome, fill.price, fill.size, fill.fee)
        if order is not None:
            # the wish this order answered was made for the position before the fill: the
            # other owner's next reconcile must not re-send it
            self._wished.get(order.owner, {}).pop(fill.outcome, None)
            order.remaining -= fill.size
            if order.remaining <= 0:
                self.orders.pop(fill.client_id, None)
                order.resting = False
                done = order
        breach = not realised_within_rule(fill, before, self.params)
        record = FillRecord(fill, order.placement if order else None, breach)
        self.stats.fills.append(record)
        if breach:
            self.stats.breaches += 1
            self.events.risk_action(
                self.market_id,
                "rule_breach",
                f"{fill.rule} fill {fill.outcome} {fill.size}@{fill.price} fee {fill.fee}",
            )
        self.events.fill(fill, position.delta, decimal(position.pair_cost, 4))
        self._on_fill(record)
        return done

    def buying(self) -> tuple[int, int]:
        """Micro-shares the live buy orders may still add to Up and to Down."""
        up = down = 0
        for order in self.orders.values():
            if order.request.action == "buy" and order.remaining > 0:
                if order.request.outcome == "up":
                    up += order.remaining
                else:
                    down += order.remaining
        return up, down

    def outstanding_buys(self, fee: Callable[[OrderRequest, int], int]) -> int:
        """Pico-dollars the window's live buy orders may still spend: `fee(request, size)`
        bounds the fee (micro-dollars) of `size` more."""
        total = 0
        for order in self.orders.values():
            request = order.request
            if request.action == "buy" and order.remaining > 0:
                total += request.price * order.remaining + fee(request, order.remaining) * MICROS
        return total


class _Lock:
    """A FIFO lock taken at once when free. `async with trio.Lock` yields to the scheduler
    even then (a full round of other tasks between a frame and its decision), and its
    `acquire_nowait` registers the owner to break the lock should its task exit holding it;
    the holders here release in a `finally`, so a flag and a parking lot do."""

    __slots__ = ("_held", "_lot")

    def __init__(self) -> None:
        self._held = False
        self._lot = trio.lowlevel.ParkingLot()  # non-empty only while held

    def take_nowait(self) -> bool:
        if self._held:
            return False
        self._held = True
        return True

    async def take(self) -> None:
        if not self._held:
            self._held = True
            return
        await self._lot.park()  # `release` hands the lock over, held

    def release(self) -> None:
        if self._lot:
            self._lot.unpark()
        else:
            self._held = False


@dataclass(frozen=True)
class Holding:
    """One side's and the other side's quantity (micro-shares) and cost (pico-dollars)."""

    qty_self: int
    cost_self: int
    qty_other: int
    cost_other: int


def realised_within_rule(fill: Fill, before: Holding, params: Any) -> bool:
    """Whether a buy, its fee included, still met the rule it was placed under, judged on the
    position just before it. Exact: amounts are cross-multiplied, never divided.

    opening: `p_eff <= entry_max_price`; pairing: `p_eff + avg_other <= target_pair_cost`;
    equalizing: the resulting `avg_self + avg_other <= max_pair_cost`, where
    `p_eff = (price * size + fee * 1e6) / size` micro-dollars a share.
    """
    if fill.action != "buy":
        return True
    paid = fill.price * fill.size + fill.fee * MICROS  # pico-dollars
    q, c = before.qty_other, before.cost_other
    if fill.rule == "opening":
        return paid <= params.entry_max_price * fill.size
    if fill.rule in ("pairing", "instant_pair"):
        if q == 0:
            return True  # instant pair: the other leg is still on its way
        return paid * q + c * fill.size <= params.target_pair_cost * fill.size * q
    if fill.rule in ("equalize_maker", "equalize_taker") and q:
        held = before.qty_self + fill.size
        return (before.cost_self + paid) * q + c * held <= params.max_pair_cost * held * q
    return True
