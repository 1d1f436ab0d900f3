"""The per-order state machine of one window, keyed by the engine's client id.

An order is known from its intent on: a fill that arrives before the venue's ack, after a
cancel, or twice, finds it. Fills count once by the venue's fill id; a reversed (provisional,
then failed) fill is taken back out of the position. No I/O, no Trio.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass, field

import msgspec

from gabagool.types import Owner
from gabagool.venues.base import OrderRequest


class OrderState(enum.Enum):
    SENDING = "sending"  # journaled and handed to the venue; no answer yet
    LIVE = "live"  # accepted and resting
    CANCELLING = "cancelling"  # a cancel was sent; fills may still come
    FILLED = "filled"
    CANCELLED = "cancelled"  # by us, by the venue, or a taker's unfilled remainder
    REJECTED = "rejected"
    UNKNOWN = "unknown"  # the send's outcome is unknown: reconciliation decides


class Placement(msgspec.Struct, frozen=True, kw_only=True):
    """The position as the order was placed: what its rule is checked against."""

    qty_self: int
    qty_other: int
    cost_other: int  # pico-dollars
    ms_to_end: int


# msgspec structs, not dataclasses: one of each is built for every order, on the path from
# a frame to the order it causes, and a (frozen) dataclass builds several times slower
class TrackedOrder(msgspec.Struct):
    client_id: str
    request: OrderRequest
    owner: Owner
    placement: Placement
    state: OrderState = OrderState.SENDING
    venue_id: str = ""
    remaining: int = 0
    filled: int = 0
    reason: str = ""  # why it ended, when it did

    @property
    def working(self) -> bool:
        """May still rest on the book (a GTC sent or live; not being cancelled)."""
        state = self.state
        return (
            state is OrderState.SENDING or state is OrderState.LIVE
        ) and self.request.order_type == "GTC"

    @property
    def may_fill(self) -> bool:
        """Counts toward the exposure the venue may still add."""
        return self.remaining > 0 and self.state in (
            OrderState.SENDING,
            OrderState.LIVE,
            OrderState.CANCELLING,
            OrderState.UNKNOWN,
        )


@dataclass
class OrderStats:
    placed: int = 0  # accepted by the venue
    rejected: int = 0
    post_only_crosses: int = 0
    cancelled: int = 0
    breaches: int = 0
    capped: int = 0  # buys refused for want of room under the shared caps
    duplicate_fills: int = 0
    reversed_fills: int = 0
    unknown: int = 0
    fills: int = 0
    maker_fills: int = 0


@dataclass
class OrderBook:
    """Every order of the window, from intent to end (kept: a late fill must find its order)."""

    orders: dict[str, TrackedOrder] = field(default_factory=dict)
    # the orders not yet done (sending, live, cancelling, unknown): what scans look at
    active: dict[str, TrackedOrder] = field(default_factory=dict)
    fill_ids: set[str] = field(default_factory=set)
    stats: OrderStats = field(default_factory=OrderStats)

    version: int = 0  # moves on every change a reconcile reads: orders, states, fills

    def add(self, order: TrackedOrder) -> None:
        self.orders[order.client_id] = order
        self.active[order.client_id] = order
        self.version += 1

    def settle(self, order: TrackedOrder, state: OrderState) -> None:
        """Move `order` to `state`; a done order leaves the active set (never the book)."""
        order.state = state
        self.version += 1
        if (
            state is OrderState.FILLED
            or state is OrderState.CANCELLED
            or (state is OrderState.REJECTED)
        ):
            self.active.pop(order.client_id, None)
        else:
            self.active[order.client_id] = order

    def get(self, client_id: str) -> TrackedOrder | None:
        return self.orders.get(client_id)

    def working(self) -> list[TrackedOrder]:
        if not self.active:
            return []
        return [o for o in self.active.values() if o.working]

    def live(self) -> list[TrackedOrder]:
        """Orders that may rest on the venue now (a cancel in flight included)."""
        if not self.active:
            return []
        return [
            o
            for o in self.active.values()
            if o.state is not OrderState.UNKNOWN and o.request.order_type == "GTC"
        ]

    def buying(self, exclude: Collection[str] = ()) -> tuple[int, int]:
        """Micro-shares the live buys (but `exclude`d client ids) may still add to Up and
        to Down."""
        up = down = 0
        for order in self.active.values():
            if order.request.action == "buy" and order.may_fill and order.client_id not in exclude:
                if order.request.outcome == "up":
                    up += order.remaining
                else:
                    down += order.remaining
        return up, down
