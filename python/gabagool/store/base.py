"""The journal's records, its errors, and the two protocols: `Journal` (sync) and `Store` (Trio).

Units are exact integers everywhere: prices in micro-dollars per share, sizes in micro-shares,
fees in micro-dollars, money in pico-dollars (a price times a size is already pico-dollars).

Position accounting is net cash per side: a buy adds its size to the side's quantity and
`price * size + fee` to its cost; a sell takes its size off and `price * size - fee` (the
proceeds it received) off the cost. So a journaled position is exactly the sum of its fills
that stand: a fill the exchange reversed (a provisional match that failed) stays in the journal,
marked reversed, and counts for nothing.

Reference prices (a window's opening price, its settlement price) are atto-dollars (1e-18 $),
the unit the reference feeds deliver exactly.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Literal, Protocol

import msgspec

from gabagool.types import (
    EXCHANGE_ORDER_TYPES,
    MICROS,
    OUTCOMES,
    PAYOUT_PICOS_PER_MICRO_SHARE,
    PICOS_PER_MICRO,
    SIDES,
    Outcome,
    Side,
    short,
)
from gabagool.types import ExchangeOrderType as OrderType

Liquidity = Literal["maker", "taker"]
OrderStatus = Literal["pending", "open", "filled", "cancelled", "rejected", "expired"]
WindowStatus = Literal["open", "settled"]
OpenSource = Literal["priceToBeat", "reference"]
"""Where a window's opening price came from: Gamma's `eventMetadata.priceToBeat`, or the
first reference-feed update at or after the window's start."""

OPEN_SOURCES: tuple[OpenSource, ...] = ("priceToBeat", "reference")
LIQUIDITIES: tuple[Liquidity, ...] = ("maker", "taker")
ORDER_STATUSES: tuple[OrderStatus, ...] = (
    "pending",
    "open",
    "filled",
    "cancelled",
    "rejected",
    "expired",
)
# An order in one of these may still be resting on the exchange (pending: sent, not yet
# acknowledged), so after a crash it must be cancelled or adopted before trading resumes.
RESTING_ORDER_STATUSES: frozenset[str] = frozenset({"pending", "open"})

DEFAULT_LEDGER = "capital"
# The portfolio caps' ledgers and the unit each counts in (the engine's CapitalLedger names).
CAPITAL_LEDGER = DEFAULT_LEDGER  # pico-dollars at cost
UNHEDGED_LEDGER = "unhedged"  # micro-shares of |delta|
LEDGER_UNITS: dict[str, Literal["pico-dollars", "micro-shares"]] = {
    CAPITAL_LEDGER: "pico-dollars",
    UNHEDGED_LEDGER: "micro-shares",
}


class StoreError(Exception):
    """The journal refused an operation or could not be read; the message says why."""


class SchemaError(StoreError):
    """The journal's schema version is one this code cannot use (newer, or unknown)."""


class StoreUnavailable(StoreError):
    """The backing database could not be reached (connection refused, bad password, TLS, not
    a Redis server, or it went away mid-run). Raised once per failed call, never retried
    inside the journal: the caller decides (see `gabagool.store.outage.StoreOutage`)."""


class StoreWriteError(StoreError):
    """A write could not be made durable (disk full, I/O error, read-only file, server out of
    memory). The transaction was rolled back: nothing of that write was kept, and what was
    journaled before it is intact."""


class StoreConflictError(StoreError):
    """An optimistic update kept losing to concurrent writers and gave up."""


class JournalNotFound(StoreError):
    """A read-only look at a journal that does not exist yet."""


class ResolutionRecord(msgspec.Struct, frozen=True, kw_only=True):
    """The engine's own view of a window's winner beside the exchange's, after the end."""

    checked_ns: int
    ours: Outcome | None
    """Settlement TWAP vs the open (ties Up); None when either price was missing."""
    exchange: Outcome | None
    """The exchange's `market_resolved` winner; None when it had said nothing."""
    settlement_atto: int | None = None
    open_atto: int | None = None

    @property
    def agree(self) -> bool | None:
        """None when either side is unknown."""
        if self.ours is None or self.exchange is None:
            return None
        return self.ours == self.exchange


class WindowRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One market window's lifecycle: opened with its tokens and times, later settled."""

    window_id: str
    """The market slug, `btc-updown-15m-1764000000`."""
    asset: str
    up_token: str
    down_token: str
    start_s: int
    end_s: int
    opened_ns: int
    market_id: str = ""
    """The exchange's condition id, which venue fills carry instead of the slug."""
    status: WindowStatus = "open"
    winner: Outcome | None = None
    settled_ns: int | None = None
    payout_pico: int | None = None
    """What the held winning shares pay at $1 each."""
    pnl_pico: int | None = None
    """`payout_pico` minus the net cost of both sides (fees included)."""
    open_atto: int | None = None
    """The opening reference price, once known (the first one journaled is kept)."""
    open_source: OpenSource | None = None
    open_ns: int | None = None
    resolution: ResolutionRecord | None = None


class OrderRecord(msgspec.Struct, frozen=True, kw_only=True):
    """An order as the engine placed it, and the last status the journal knows for it."""

    order_id: str
    window_id: str
    outcome: Outcome
    side: Side
    price_micros: int
    size_micros: int
    order_type: OrderType
    post_only: bool
    status: OrderStatus
    created_ns: int
    updated_ns: int
    reason: str = ""
    venue_id: str = ""
    """The exchange's own id for the order, once it acknowledged it ("" before): what the
    exchange lists resting orders by after a restart."""


class FillRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A fill the exchange (or the paper exchange) reported; `(trade_id, order_id)` is its key.

    One exchange trade can fill two of our orders (a mint match of our Up and Down bids), so
    the trade id alone is not unique; a paper fill uses its own fill id as `trade_id`.
    """

    trade_id: str
    order_id: str
    window_id: str
    outcome: Outcome
    side: Side
    price_micros: int
    size_micros: int
    fee_micros: int
    liquidity: Liquidity
    ts_ns: int
    reversed_ns: int | None = None
    """When the exchange reversed it (a provisional match that failed); None: it stands."""
    reversal: str = ""
    """What the exchange said of the reversal."""

    @property
    def stands(self) -> bool:
        return self.reversed_ns is None

    @property
    def key(self) -> tuple[str, str]:
        return (self.trade_id, self.order_id)

    @property
    def cost_pico(self) -> int:
        """Signed change of the side's net cost: paid for a buy, minus proceeds for a sell."""
        notional = self.price_micros * self.size_micros
        fee_pico = self.fee_micros * PICOS_PER_MICRO
        return notional + fee_pico if self.side == "buy" else fee_pico - notional

    @property
    def qty_micros(self) -> int:
        """Signed change of the side's quantity."""
        return self.size_micros if self.side == "buy" else -self.size_micros


class PositionSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """A window's position: the sums of its journaled fills, per side.

    `cost_*_pico` is the side's net cash (buys and every fee, minus sell proceeds), what a
    plain sum of fills gives; the engine's cost is the one convention of `types`
    (`settlement_pnl`): what the shares still held cost, sells realised apart. The two
    differ by exactly the realised part, so the settlement P&L is the same either way
    (`payout_pico - net_cost_pico`)."""

    window_id: str
    qty_up_micros: int = 0
    qty_down_micros: int = 0
    cost_up_pico: int = 0
    cost_down_pico: int = 0
    fees_micros: int = 0
    fill_count: int = 0

    def with_fill(self, fill: FillRecord) -> PositionSnapshot:
        """The position with `fill` added (a reversed fill adds nothing)."""
        if not fill.stands:
            return self
        if fill.window_id != self.window_id:
            raise StoreError(
                f"fill {fill.key} of window {fill.window_id!r} applied to {self.window_id!r}"
            )
        up = fill.outcome == "up"
        return msgspec.structs.replace(
            self,
            qty_up_micros=self.qty_up_micros + (fill.qty_micros if up else 0),
            qty_down_micros=self.qty_down_micros + (0 if up else fill.qty_micros),
            cost_up_pico=self.cost_up_pico + (fill.cost_pico if up else 0),
            cost_down_pico=self.cost_down_pico + (0 if up else fill.cost_pico),
            fees_micros=self.fees_micros + fill.fee_micros,
            fill_count=self.fill_count + 1,
        )

    @property
    def net_cost_pico(self) -> int:
        return self.cost_up_pico + self.cost_down_pico

    def payout_pico(self, winner: Outcome) -> int:
        qty = self.qty_up_micros if winner == "up" else self.qty_down_micros
        return max(qty, 0) * PAYOUT_PICOS_PER_MICRO_SHARE


def fold_fills(window_id: str, fills: Iterable[FillRecord]) -> PositionSnapshot:
    """The position a window's fills add up to (the recovery rule: fills are the truth;
    reversed ones count for nothing)."""
    position = PositionSnapshot(window_id=window_id)
    for fill in fills:
        position = position.with_fill(fill)
    return position


class HaltState(msgspec.Struct, frozen=True, kw_only=True):
    """The persisted manual halt flag; shared by every engine on one store."""

    halted: bool = False
    reason: str = ""
    set_by: str = ""
    at_ns: int = 0


class PortfolioTotals(msgspec.Struct, frozen=True, kw_only=True):
    """Totals over every window in the journal."""

    windows_open: int
    windows_settled: int
    fill_count: int
    fees_micros: int
    open_net_cost_pico: int
    """Net cost of the positions in windows not yet settled: capital still deployed."""
    realized_pnl_pico: int
    """Sum of the settled windows' PnL."""
    reserved_pico: dict[str, int]
    """Per ledger, the sum of the live reservations."""


class JournalExport(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the journal holds, as `gabagool state export` writes it."""

    backend: str
    schema_version: int
    halt: HaltState
    totals: PortfolioTotals
    windows: list[WindowRecord]
    positions: list[PositionSnapshot]
    orders: list[OrderRecord]
    fills: list[FillRecord]
    reservations: dict[str, dict[str, int]]


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise StoreError(message)


def validate_window(window: WindowRecord) -> None:
    _require(bool(window.window_id), "window id is empty")
    _require(
        window.start_s < window.end_s,
        f"window {window.window_id!r} ends at {window.end_s} before it starts at "
        f"{window.start_s}",
    )
    _require(window.status == "open", f"window {window.window_id!r} opened as {window.status!r}")


def validate_order(order: OrderRecord) -> None:
    oid = order.order_id
    _require(bool(oid), "order id is empty")
    _require(order.outcome in OUTCOMES, f"order {oid!r}: outcome {order.outcome!r} not up/down")
    _require(order.side in SIDES, f"order {oid!r}: side {order.side!r} not buy/sell")
    _require(
        order.order_type in EXCHANGE_ORDER_TYPES,
        f"order {oid!r}: order type {order.order_type!r} unknown",
    )
    _require(order.status in ORDER_STATUSES, f"order {oid!r}: status {order.status!r} unknown")
    _require(
        0 < order.price_micros < MICROS,
        f"order {oid!r}: price {short(order.price_micros)} outside (0, 1)",
    )
    _require(order.size_micros > 0, f"order {oid!r}: size {short(order.size_micros)} not above 0")


def validate_fill(fill: FillRecord) -> None:
    key = fill.key
    _require(bool(fill.trade_id), f"fill {key}: trade id is empty")
    _require(bool(fill.window_id), f"fill {key}: window id is empty")
    _require(fill.outcome in OUTCOMES, f"fill {key}: outcome {fill.outcome!r} not up/down")
    _require(fill.side in SIDES, f"fill {key}: side {fill.side!r} not buy/sell")
    _require(
        fill.liquidity in LIQUIDITIES, f"fill {key}: liquidity {fill.liquidity!r} not maker/taker"
    )
    _require(
        0 < fill.price_micros < MICROS,
        f"fill {key}: price {short(fill.price_micros)} outside (0, 1)",
    )
    _require(fill.size_micros > 0, f"fill {key}: size {short(fill.size_micros)} not above 0")
    _require(fill.fee_micros >= 0, f"fill {key}: fee {short(fill.fee_micros)} $ is negative")


def updated_order(
    order: OrderRecord,
    status: OrderStatus,
    updated_ns: int,
    reason: str,
    venue_id: str | None,
) -> OrderRecord:
    """The order with its new status; a venue id once attached is kept (None or "" leave
    it), and a different one is refused: one order, one exchange id."""
    if venue_id and order.venue_id and venue_id != order.venue_id:
        raise StoreError(
            f"order {order.order_id!r} has venue id {order.venue_id!r}, not {venue_id!r}"
        )
    updated = msgspec.structs.replace(
        order,
        status=status,
        updated_ns=updated_ns,
        reason=reason,
        venue_id=venue_id or order.venue_id,
    )
    validate_order(updated)
    return updated


def validate_window_open(window_id: str, open_atto: int, source: str) -> None:
    _require(
        open_atto > 0, f"window {window_id!r}: opening price {open_atto} atto-dollars not > 0"
    )
    _require(
        source in OPEN_SOURCES,
        f"window {window_id!r}: opening price source {source!r} not priceToBeat/reference",
    )


def validate_resolution(window_id: str, check: ResolutionRecord) -> None:
    for name, value in (("ours", check.ours), ("exchange", check.exchange)):
        _require(
            value is None or value in OUTCOMES,
            f"window {window_id!r}: resolution {name} {value!r} not up/down",
        )


def with_window_open(
    window: WindowRecord, open_atto: int, source: OpenSource, at_ns: int
) -> WindowRecord | None:
    """The window with its opening price, or None when it already has one (kept: the open
    is a fact of the window, and a restarted engine derives it again) -- except that Gamma's
    price to beat, learnt late, replaces an open read from the reference feed: it is the
    price the exchange settles against."""
    validate_window_open(window.window_id, open_atto, source)
    if window.open_atto is not None and not (
        source == "priceToBeat" and window.open_source == "reference"
    ):
        return None
    return msgspec.structs.replace(window, open_atto=open_atto, open_source=source, open_ns=at_ns)


def with_resolution(window: WindowRecord, check: ResolutionRecord) -> WindowRecord | None:
    """The window with its resolution check, or None when it has one already (kept)."""
    validate_resolution(window.window_id, check)
    if window.resolution is not None:
        return None
    return msgspec.structs.replace(window, resolution=check)


def validate_reservation(ledger: str, holder: str, amount_pico: int) -> None:
    _require(bool(ledger), "reservation ledger is empty")
    _require(bool(holder), f"reservation on {ledger!r}: holder is empty")
    _require(
        amount_pico >= 0, f"reservation of {holder!r} on {ledger!r}: amount {amount_pico} < 0"
    )


class Journal(Protocol):
    """The durable journal, synchronous: what each backend implements.

    Every write is durable (committed, or acknowledged by the server) before it returns.
    """

    backend: str

    def schema_version(self) -> int: ...
    def record_window_opened(self, window: WindowRecord) -> bool:
        """False when the window was already journaled (the stored record is kept)."""
    def record_window_settled(
        self, window_id: str, winner: Outcome, settled_ns: int
    ) -> WindowRecord:
        """Settle at $1 a winning share; settling again with the same winner is a no-op."""
    def window(self, window_id: str) -> WindowRecord | None: ...
    def windows(self) -> list[WindowRecord]: ...
    def open_windows(self) -> list[WindowRecord]: ...
    def record_order(self, order: OrderRecord) -> bool:
        """False when an order with this id was already journaled (it is kept)."""
    def record_window_open(
        self, window_id: str, open_atto: int, source: OpenSource, at_ns: int
    ) -> bool:
        """Attach the opening reference price; False when one was journaled (it is kept)."""
    def record_resolution(self, window_id: str, check: ResolutionRecord) -> bool:
        """Attach the resolution check; False when one was journaled (it is kept)."""
    def update_order(
        self,
        order_id: str,
        status: OrderStatus,
        updated_ns: int,
        reason: str = "",
        venue_id: str | None = None,
    ) -> OrderRecord:
        """New status and reason; `venue_id` attaches the exchange's id (None keeps it)."""
    def order(self, order_id: str) -> OrderRecord | None: ...
    def orders(self, window_id: str | None = None) -> list[OrderRecord]: ...
    def resting_orders(self, window_id: str | None = None) -> list[OrderRecord]: ...
    def cancel_resting_orders(self, reason: str, at_ns: int) -> list[OrderRecord]:
        """Mark every order that may still rest as cancelled; returns them as updated."""
    def record_fill(self, fill: FillRecord) -> bool:
        """Journal a fill and apply it to its window's position, atomically.

        False when `(trade_id, order_id)` was already journaled (reversed since or not): it
        then counts once.
        """
    def record_fill_reversal(
        self, window_id: str, key: tuple[str, str], reversed_ns: int, reason: str = ""
    ) -> bool:
        """Mark the fill `(trade_id, order_id)` reversed and take it out of its window's
        position, atomically. False when it is reversed already or was never journaled."""
    def fills(self, window_id: str) -> list[FillRecord]: ...
    def all_fills(self) -> list[FillRecord]: ...
    def position_snapshot(self, window_id: str) -> PositionSnapshot: ...
    def positions(self) -> list[PositionSnapshot]: ...
    def rebuild_positions(self) -> dict[str, PositionSnapshot]:
        """Each window's position recomputed from its journaled fills alone."""
    def set_halt(self, halted: bool, reason: str, set_by: str, at_ns: int) -> HaltState: ...
    def get_halt(self) -> HaltState: ...
    def reserve_capital(
        self, holder: str, amount_pico: int, cap_pico: int, ledger: str = DEFAULT_LEDGER
    ) -> bool:
        """Add to `holder`'s reservation if the ledger's total stays <= `cap_pico`."""
    def release_capital(
        self, holder: str, amount_pico: int | None = None, ledger: str = DEFAULT_LEDGER
    ) -> int:
        """Give back part (or, with None, all) of a reservation; returns what was released."""
    def reservations(self, ledger: str = DEFAULT_LEDGER) -> dict[str, int]: ...
    def reserved_capital(self, ledger: str = DEFAULT_LEDGER) -> int: ...
    def ledgers(self) -> list[str]: ...
    def totals(self) -> PortfolioTotals: ...
    def export(self) -> JournalExport: ...
    def clear(self) -> None:
        """Delete everything the journal holds (the schema stays)."""
    def close(self) -> None: ...


class Store(Protocol):
    """The journal as the engine calls it: the same operations, awaited on Trio.

    The calls run in worker threads, so none blocks the Trio loop; a cancelled call still
    finishes its write before the cancellation is delivered (no half-journaled fill).
    """

    backend: str

    async def schema_version(self) -> int: ...
    async def record_window_opened(self, window: WindowRecord) -> bool: ...
    async def record_window_settled(
        self, window_id: str, winner: Outcome, settled_ns: int
    ) -> WindowRecord: ...
    async def window(self, window_id: str) -> WindowRecord | None: ...
    async def windows(self) -> list[WindowRecord]: ...
    async def open_windows(self) -> list[WindowRecord]: ...
    async def record_order(self, order: OrderRecord) -> bool: ...
    async def record_window_open(
        self, window_id: str, open_atto: int, source: OpenSource, at_ns: int
    ) -> bool: ...
    async def record_resolution(self, window_id: str, check: ResolutionRecord) -> bool: ...
    async def update_order(
        self,
        order_id: str,
        status: OrderStatus,
        updated_ns: int,
        reason: str = "",
        venue_id: str | None = None,
    ) -> OrderRecord: ...
    async def order(self, order_id: str) -> OrderRecord | None: ...
    async def orders(self, window_id: str | None = None) -> list[OrderRecord]: ...
    async def resting_orders(self, window_id: str | None = None) -> list[OrderRecord]: ...
    async def cancel_resting_orders(self, reason: str, at_ns: int) -> list[OrderRecord]: ...
    async def record_fill(self, fill: FillRecord) -> bool: ...
    async def record_fill_reversal(
        self, window_id: str, key: tuple[str, str], reversed_ns: int, reason: str = ""
    ) -> bool: ...
    async def fills(self, window_id: str) -> list[FillRecord]: ...
    async def all_fills(self) -> list[FillRecord]: ...
    async def position_snapshot(self, window_id: str) -> PositionSnapshot: ...
    async def positions(self) -> list[PositionSnapshot]: ...
    async def rebuild_positions(self) -> dict[str, PositionSnapshot]: ...
    async def set_halt(self, halted: bool, reason: str, set_by: str, at_ns: int) -> HaltState: ...
    async def get_halt(self) -> HaltState: ...
    async def reserve_capital(
        self, holder: str, amount_pico: int, cap_pico: int, ledger: str = DEFAULT_LEDGER
    ) -> bool: ...
    async def release_capital(
        self, holder: str, amount_pico: int | None = None, ledger: str = DEFAULT_LEDGER
    ) -> int: ...
    async def reservations(self, ledger: str = DEFAULT_LEDGER) -> dict[str, int]: ...
    async def reserved_capital(self, ledger: str = DEFAULT_LEDGER) -> int: ...
    async def totals(self) -> PortfolioTotals: ...
    async def export(self) -> JournalExport: ...
    async def clear(self) -> None: ...
    async def aclose(self) -> None: ...


class JournalBase(ABC):
    """What both backends derive from their primitives in the same way."""

    backend: str

    # The primitives each backend provides (declared for the derived methods below).
    @abstractmethod
    def schema_version(self) -> int:
        ...

    @abstractmethod
    def windows(self) -> list[WindowRecord]:
        ...

    @abstractmethod
    def orders(self, window_id: str | None = None) -> list[OrderRecord]:
        ...

    @abstractmethod
    def resting_orders(self, window_id: str | None = None) -> list[OrderRecord]:
        ...

    @abstractmethod
    def update_order(
        self,
        order_id: str,
        status: OrderStatus,
        updated_ns: int,
        reason: str = "",
        venue_id: str | None = None,
    ) -> OrderRecord:
        ...

    @abstractmethod
    def fills(self, window_id: str) -> list[FillRecord]:
        ...

    @abstractmethod
    def positions(self) -> list[PositionSnapshot]:
        ...

    @abstractmethod
    def get_halt(self) -> HaltState:
        ...

    @abstractmethod
    def reservations(self, ledger: str = DEFAULT_LEDGER) -> dict[str, int]:
        ...

    @abstractmethod
    def ledgers(self) -> list[str]:
        ...

    # Derived.
    def open_windows(self) -> list[WindowRecord]:
        return [w for w in self.windows() if w.status == "open"]

    def all_fills(self) -> list[FillRecord]:
        return [fill for w in self.windows() for fill in self.fills(w.window_id)]

    def cancel_resting_orders(self, reason: str, at_ns: int) -> list[OrderRecord]:
        return [
            self.update_order(order.order_id, "cancelled", at_ns, reason)
            for order in self.resting_orders()
        ]

    def rebuild_positions(self) -> dict[str, PositionSnapshot]:
        return {
            w.window_id: fold_fills(w.window_id, self.fills(w.window_id)) for w in self.windows()
        }

    def reserved_capital(self, ledger: str = DEFAULT_LEDGER) -> int:
        return sum(self.reservations(ledger).values())

    def totals(self) -> PortfolioTotals:
        windows = self.windows()
        positions = {p.window_id: p for p in self.positions()}
        open_ids = {w.window_id for w in windows if w.status == "open"}
        return PortfolioTotals(
            windows_open=len(open_ids),
            windows_settled=len(windows) - len(open_ids),
            fill_count=sum(p.fill_count for p in positions.values()),
            fees_micros=sum(p.fees_micros for p in positions.values()),
            open_net_cost_pico=sum(
                p.net_cost_pico for wid, p in positions.items() if wid in open_ids
            ),
            realized_pnl_pico=sum(w.pnl_pico or 0 for w in windows if w.status == "settled"),
            reserved_pico={ledger: self.reserved_capital(ledger) for ledger in self.ledgers()},
        )

    def export(self) -> JournalExport:
        return JournalExport(
            backend=self.backend,
            schema_version=self.schema_version(),
            halt=self.get_halt(),
            totals=self.totals(),
            windows=self.windows(),
            positions=self.positions(),
            orders=self.orders(),
            fills=self.all_fills(),
            reservations={ledger: self.reservations(ledger) for ledger in self.ledgers()},
        )


def settle(
    window: WindowRecord, position: PositionSnapshot, winner: Outcome, settled_ns: int
) -> WindowRecord:
    """The settled form of an open window (or the same record if already settled alike)."""
    _require(winner in OUTCOMES, f"window {window.window_id!r}: winner {winner!r} not up/down")
    if window.status == "settled":
        _require(
            window.winner == winner,
            f"window {window.window_id!r} already settled with winner {window.winner!r}, "
            f"not {winner!r}",
        )
        return window
    payout = position.payout_pico(winner)
    return msgspec.structs.replace(
        window,
        status="settled",
        winner=winner,
        settled_ns=settled_ns,
        payout_pico=payout,
        pnl_pico=payout - position.net_cost_pico,
    )
