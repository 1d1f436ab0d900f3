"""What the window core asks its shell to do, and what it journals.

Commands are values: the Trio shell and the backtest loop execute the same list in order.
Journal entries are appended by the core as it decides; a shell makes them durable before
it executes the commands that came with them (so an order's intent is written before it is
sent, and a fill before anything acts on it).
"""

from __future__ import annotations

import msgspec

from gabagool.types import Outcome, Owner
from gabagool.venues.base import OrderRequest


class Place(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    request: OrderRequest  # its `client_id` names it from here on
    owner: Owner


class Cancel(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    client_id: str
    venue_id: str  # "" when the venue has not acknowledged it yet
    reason: str


class CancelAll(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """Cancel everything of this window on the venue, ours known or not."""

    reason: str


class Halt(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """The window halted itself (stop loss, exit liquidity, a journal failure...)."""

    reason: str


class Settle(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    winner: Outcome | None  # None: nobody said who won; the window stays open in the journal
    pnl: int | None  # pico-dollars


class Notice(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """A risk action or a feed fault, for the log and the view (`EngineEvents.risk_action`)."""

    action: str
    detail: str


Command = Place | Cancel | CancelAll | Halt | Settle | Notice


# ---- the journal: what must be durable, in the order it happened ----------------------------


class OrderIntent(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    t_ns: int
    request: OrderRequest
    owner: Owner
    fair: int | None = None  # the outcome's fair value then (micro-dollars), if known


class OrderUpdate(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    t_ns: int
    client_id: str
    status: str  # open | filled | cancelled | rejected | unknown | pending
    venue_id: str = ""
    reason: str = ""


class FillEntry(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    t_ns: int
    client_id: str
    venue_id: str
    fill_id: str
    outcome: Outcome
    side: str
    price: int
    size: int
    fee: int
    maker: bool
    final: bool
    rule: str
    breach: bool  # the realised price broke the rule the order was placed under
    fair: int | None = None  # the outcome's fair value then (micro-dollars), if known


class FillReversal(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    t_ns: int
    client_id: str
    fill_id: str
    detail: str


class WindowEnd(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    t_ns: int
    winner: Outcome | None
    pnl: int | None


class WindowOpenEntry(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """The window's opening reference price (atto-dollars), once known: Gamma's price to
    beat, or the first reference tick at or after the start."""

    t_ns: int
    open: int
    how: str  # "price to beat" | "reference"


class ResolutionEntry(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """Our winner from the reference feed beside the exchange's (None: unknown)."""

    t_ns: int
    ours: Outcome | None
    exchange: Outcome | None
    settlement: int | None  # atto-dollars
    open: int | None


JournalEntry = (
    OrderIntent
    | OrderUpdate
    | FillEntry
    | FillReversal
    | WindowEnd
    | WindowOpenEntry
    | ResolutionEntry
)
