"""The venue contracts: `Exchange` (orders and fills) and `MarketData` (raw frames per window),
and the order lifecycle's events.

An order's life, as the engine sees it: the engine names it (`client_id`), journals the
intent, then sends it; what the venue answers arrives later as events keyed by that client
id: `Accepted` (with the venue's id), `Rejected` (a typed reason), `Filled` (partial or not,
provisional or final), `FillReversed` (a provisional fill that failed), `Cancelled`,
`CancelRejected`, `Unknown` (a send whose outcome nobody knows until reconciliation). A
simulated venue (`SimulatedMarket`) answers synchronously, so a backtest's loop and the Trio
engine feed it identically; its internals (queue position, what takers consumed) stay in it.

Units are the core's: prices micro-dollars, sizes micro-shares, fees micro-dollars.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal, Protocol

import msgspec

from gabagool.types import BookSide, OrderType, Outcome, Side

Action = Side


class FeeScheduleLike(Protocol):
    @property
    def rate(self) -> str: ...  # decimal string, "0.072"
    @property
    def exponent(self) -> int: ...
    @property
    def taker_only(self) -> bool: ...


class WindowHeader(Protocol):
    """What the engine reads of a window's description (`gabagool.recording.MarketHeader`)."""

    @property
    def asset(self) -> str: ...
    @property
    def slug(self) -> str: ...
    @property
    def condition_id(self) -> str: ...
    @property
    def up_token(self) -> str: ...
    @property
    def down_token(self) -> str: ...
    @property
    def start(self) -> int: ...  # unix seconds
    @property
    def end(self) -> int: ...
    @property
    def tick_size(self) -> str: ...  # decimal string, "0.01"
    @property
    def min_order_size(self) -> str: ...
    @property
    def fee_schedule(self) -> FeeScheduleLike: ...


class OrderRequest(msgspec.Struct, frozen=True, kw_only=True):
    market_id: str  # the window's condition id
    outcome: Outcome
    action: Action
    price: int  # limit: the bid to rest, or the worst price a taker accepts
    size: int
    order_type: OrderType
    post_only: bool = False
    rule: str = ""  # the strategy rule that asked for it (journal and checks)
    client_id: str = ""  # the engine's id: fills can arrive before `place` returns


class OrderAck(msgspec.Struct, frozen=True, kw_only=True):
    order_id: str
    accepted: bool
    resting: bool  # still on the book after placement
    reason: str = ""  # why it was rejected, when it was
    post_only_cross: bool = False  # a post-only order refused because it would cross
    filled: int = 0  # filled during placement (takers; fills were already pushed)


class Fill(msgspec.Struct, frozen=True, kw_only=True):
    order_id: str
    client_id: str
    market_id: str
    outcome: Outcome
    action: Action
    price: int
    size: int
    fee: int  # micro-dollars, paid on top of a buy, taken from a sell's proceeds
    maker: bool
    rule: str = ""
    confirmed: bool = True  # live fills are provisional until CONFIRMED
    fill_id: str = ""  # the exchange's trade id (paper: unique across restarts); journal key


class ReferenceFrame:
    """A reference-feed frame (PolyBolt envelope or RTDS message) in a window's frame stream,
    told apart from a market-channel frame (bytes) by its type."""

    __slots__ = ("text",)

    def __init__(self, text: str | bytes) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"ReferenceFrame({self.text!r:.60})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ReferenceFrame) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


class WindowFeed(Protocol):
    """One window's market data: its header, then frames stamped with market time (ns)."""

    @property
    def header(self) -> WindowHeader: ...

    def frames(self) -> AsyncIterator[tuple[int, bytes | ReferenceFrame | None]]:
        """(market t_ns, frame); a `None` frame only says the link is alive (a PONG); a
        `ReferenceFrame` is the underlying's price, from its own feed."""
        ...

    def fallback_outcome(self) -> Outcome | None:
        """The winner when `market_resolved` never arrived (live: Gamma; sim: the model)."""
        ...


class MarketData(Protocol):
    def window(self, asset: str, start: int) -> WindowFeed: ...


# ---- the order lifecycle's events -----------------------------------------------------------

RejectReason = Literal[
    "post_only_cross",  # a race with the book, not an error of ours
    "invalid",  # price off the grid, size under the minimum, unknown market
    "unfillable",  # FOK that the book cannot fill
    "capital_cap",  # the shared capital or unhedged ledger had no room (engine side)
    "halted",  # a halt took hold while the order waited to be sent (engine side)
    "not_journaled",  # the journal could not write it: nothing unwritten is sent (engine side)
    "venue",  # anything else the venue said
]


class _Event(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    market_id: str
    client_id: str


class Accepted(_Event, frozen=True, kw_only=True):
    venue_id: str
    resting: bool  # False: a taker that filled what it could and is done


class Rejected(_Event, frozen=True, kw_only=True):
    reason: RejectReason
    detail: str = ""


class Filled(_Event, frozen=True, kw_only=True):
    venue_id: str
    fill_id: str  # the exchange's trade id: a fill seen twice counts once
    outcome: Outcome
    side: Side
    price: int
    size: int
    fee: int  # micro-dollars, paid on top of a buy, taken from a sell's proceeds
    maker: bool
    final: bool = True  # live: MATCHED is provisional until CONFIRMED


class FillReversed(_Event, frozen=True, kw_only=True):
    fill_id: str
    detail: str = ""


class Cancelled(_Event, frozen=True, kw_only=True):
    reason: str = ""  # "requested", "remainder unfilled", "market closed"


class CancelRejected(_Event, frozen=True, kw_only=True):
    reason: str = ""  # usually: it had filled or was already gone


class Unknown(_Event, frozen=True, kw_only=True):
    detail: str = ""  # a send that timed out: only reconciliation can say what happened


class Settled(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    market_id: str
    winner: Outcome


OrderEvent = Accepted | Rejected | Filled | FillReversed | Cancelled | CancelRejected | Unknown
VenueEvent = OrderEvent | Settled


class OrderReport(msgspec.Struct, frozen=True, kw_only=True):
    """What the venue says still rests (`reconcile`)."""

    client_id: str
    venue_id: str
    request: OrderRequest
    remaining: int

    @property
    def order_id(self) -> str:
        return self.venue_id


class BookView(Protocol):
    """What a simulated venue reads of the window's books: the engine's own `Market`, read
    and never written (one parse a frame; the venue sees what the engine sees)."""

    def best_bid(self, outcome: Outcome) -> tuple[int, int] | None: ...

    def best_ask(self, outcome: Outcome) -> tuple[int, int] | None: ...

    def levels(self, outcome: Outcome, side: BookSide) -> list[tuple[int, int]]: ...

    def depth_within(self, outcome: Outcome, side: BookSide, bound: int) -> int: ...

    def tick(self, outcome: Outcome) -> int: ...


class BookUpdate(Protocol):
    """What one market frame changed in the books (`gabagool.core.FrameSummary`)."""

    @property
    def changed(self) -> int: ...  # bit 0 Up, bit 1 Down: a best price moved

    @property
    def resolved(self) -> Outcome | None: ...

    @property
    def trades(self) -> list[tuple[Outcome, int, int, Side]]: ...


class SimulatedMarket(Protocol):
    """One window on a simulated venue, reading the window's books through a `BookView`.
    After each market frame the books applied, `on_book` hands it what the frame changed
    (trades to match resting orders against, the resolution); every call answers at once
    with the events it caused, in order."""

    @property
    def market_id(self) -> str: ...

    def on_book(self, update: BookUpdate) -> list[VenueEvent]: ...

    def submit(self, request: OrderRequest) -> list[VenueEvent]: ...

    def cancel(self, client_id: str) -> list[VenueEvent]: ...

    def cancel_all(self) -> list[VenueEvent]: ...

    def reconcile(self) -> list[OrderReport]: ...


class Exchange(Protocol):
    """A venue. Orders go through the market object `open_market` returns: a simulated one
    (`SimulatedMarket`: the paper venue) answers at once and reads the window's books
    through the engine's read-only view; a live one will send and report back through
    events (not built yet). `reconcile` says what still rests, for recovery after a restart."""

    @property
    def latency_ns(self) -> int: ...

    def open_market(
        self, header: WindowHeader, book: BookView, *, min_order_size: int = 0
    ) -> SimulatedMarket: ...

    def close_market(self, market_id: str) -> None: ...

    async def reconcile(self, market_id: str) -> list[OrderReport]: ...

    async def cancel_all(self, market_id: str | None = None) -> int: ...
