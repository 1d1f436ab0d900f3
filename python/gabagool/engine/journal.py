"""The engine's awaited path into the durable store: windows, orders, fills, the halt flag.

`EngineEvents` sinks are synchronous and may not block, so what must be durable before the
engine acts (a fill before it touches the position) goes through here and is awaited. Every
record is stamped with market time (the engine's clock), the time recovery resumes from.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from gabagool.engine.core.commands import (
    FillEntry,
    FillReversal,
    OrderIntent,
    OrderUpdate,
    ResolutionEntry,
    WindowOpenEntry,
)
from gabagool.store import (
    FillRecord,
    HaltState,
    OrderRecord,
    ResolutionRecord,
    Store,
    WindowRecord,
)
from gabagool.store.base import OpenSource, OrderStatus
from gabagool.types import MICROS, Outcome
from gabagool.venues.base import WindowHeader

# the core's order states as the store spells them (an order in doubt stays `pending`)
STATUSES: dict[str, OrderStatus] = {
    "pending": "pending",
    "open": "open",
    "filled": "filled",
    "cancelled": "cancelled",
    "rejected": "rejected",
    "unknown": "pending",
}

# the core's names for where a window's open came from, as the store spells them
OPEN_SOURCES: dict[str, OpenSource] = {"price to beat": "priceToBeat", "reference": "reference"}

log = logging.getLogger("gabagool.engine")


class EngineJournal:
    def __init__(self, store: Store, *, engine_id: str, now_ns: Callable[[], int]) -> None:
        self.store = store
        self.engine_id = engine_id
        self.now_ns = now_ns

    async def window_opened(self, header: WindowHeader) -> bool:
        """False when the window was journaled before (a resumed window)."""
        return await self.store.record_window_opened(
            WindowRecord(
                window_id=header.slug,
                asset=header.asset,
                up_token=header.up_token,
                down_token=header.down_token,
                start_s=header.start,
                end_s=header.end,
                opened_ns=self.now_ns(),
                market_id=header.condition_id,
            )
        )

    async def window_settled(self, window_id: str, winner: Outcome) -> WindowRecord:
        return await self.store.record_window_settled(window_id, winner, self.now_ns())

    async def order_intent(self, window_id: str, intent: OrderIntent) -> None:
        """An order before it is sent (write-ahead), under our client id: `pending` until
        the venue answers. A crash after this and before the send leaves an intent that
        recovery asks the venue about."""
        request = intent.request
        if not (0 < request.price < MICROS and request.size > 0):
            # the venue will refuse a malformed order; the journal keeps only real ones
            log.warning(
                "order %s not journaled: price %d size %d out of range",
                request.client_id,
                request.price,
                request.size,
                extra={"event": "journal_skip", "order_id": request.client_id},
            )
            return
        await self.store.record_order(
            OrderRecord(
                order_id=request.client_id,
                window_id=window_id,
                outcome=request.outcome,
                side=request.action,
                price_micros=request.price,
                size_micros=request.size,
                order_type=request.order_type,
                post_only=request.post_only,
                status="pending",
                created_ns=intent.t_ns,
                updated_ns=intent.t_ns,
                reason=request.rule,
            )
        )

    async def window_open(self, window_id: str, entry: WindowOpenEntry) -> bool:
        """The opening reference price; False when one was journaled before (a restart
        derives it again: the first is kept, unless this is the price to beat)."""
        return await self.store.record_window_open(
            window_id, entry.open, OPEN_SOURCES[entry.how], entry.t_ns
        )

    async def resolution(self, window_id: str, entry: ResolutionEntry) -> bool:
        return await self.store.record_resolution(
            window_id,
            ResolutionRecord(
                checked_ns=entry.t_ns,
                ours=entry.ours,
                exchange=entry.exchange,
                settlement_atto=entry.settlement,
                open_atto=entry.open,
            ),
        )

    async def order_update(self, update: OrderUpdate) -> None:
        """What the venue said, with its own id for the order once it gave one (recovery
        asks the venue about the order by it)."""
        status = STATUSES.get(update.status, "pending")
        reason = update.reason
        if update.status == "unknown":
            reason = f"unknown: {reason}"
        await self.store.update_order(
            update.client_id, status, update.t_ns, reason, venue_id=update.venue_id or None
        )

    async def order_status(self, order_id: str, status: OrderStatus, reason: str = "") -> None:
        await self.store.update_order(order_id, status, self.now_ns(), reason)

    async def fill(self, window_id: str, fill: FillEntry) -> bool:
        """Commit the fill; False when it was journaled before (it must count once)."""
        return await self.store.record_fill(fill_record(window_id, fill))

    async def fill_reversed(self, window_id: str, reversal: FillReversal) -> bool:
        """Take a reversed fill out of the journaled position; False when it was reversed
        before (a reversal delivered twice counts once) or never journaled."""
        return await self.store.record_fill_reversal(
            window_id, (reversal.fill_id, reversal.client_id), reversal.t_ns, reversal.detail
        )

    async def set_halt(self, halted: bool, reason: str) -> HaltState:
        return await self.store.set_halt(halted, reason, self.engine_id, self.now_ns())


def fill_record(window_id: str, fill: FillEntry) -> FillRecord:
    return FillRecord(
        trade_id=fill.fill_id,
        order_id=fill.client_id,
        window_id=window_id,
        outcome=fill.outcome,
        side=fill.side,  # type: ignore[arg-type]
        price_micros=fill.price,
        size_micros=fill.size,
        fee_micros=fill.fee,
        liquidity="maker" if fill.maker else "taker",
        ts_ns=fill.t_ns,
    )
