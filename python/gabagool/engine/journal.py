"""The engine's awaited path into the durable store: windows, orders, fills, the halt flag.

`EngineEvents` sinks are synchronous and may not block, so what must be durable before the
engine acts (a fill before it touches the position) goes through here and is awaited. Every
record is stamped with market time (the engine's clock), the time recovery resumes from.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from gabagool.store import FillRecord, HaltState, OrderRecord, Store, WindowRecord
from gabagool.store.base import PRICE_ONE_MICROS, OrderStatus, Outcome
from gabagool.venues.base import Fill, OrderAck, OrderRequest, WindowHeader

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

    async def order_placed(
        self, window_id: str, request: OrderRequest, ack: OrderAck, status: OrderStatus
    ) -> None:
        if not (0 < request.price < PRICE_ONE_MICROS and request.size > 0):
            # the exchange refused a malformed order; the journal keeps only real ones
            log.warning(
                "order %s not journaled: price %d size %d out of range",
                ack.order_id,
                request.price,
                request.size,
                extra={"event": "journal_skip", "order_id": ack.order_id},
            )
            return
        now = self.now_ns()
        await self.store.record_order(
            OrderRecord(
                order_id=ack.order_id,
                window_id=window_id,
                outcome=request.outcome,
                side=request.action,
                price_micros=request.price,
                size_micros=request.size,
                order_type=request.order_type,
                post_only=request.post_only,
                status=status,
                created_ns=now,
                updated_ns=now,
                reason=ack.reason,
            )
        )

    async def order_status(self, order_id: str, status: OrderStatus, reason: str = "") -> None:
        await self.store.update_order(order_id, status, self.now_ns(), reason)

    async def fill(self, window_id: str, fill: Fill) -> bool:
        """Commit the fill; False when it was journaled before (it must count once)."""
        return await self.store.record_fill(fill_record(window_id, fill, self.now_ns()))

    async def set_halt(self, halted: bool, reason: str) -> HaltState:
        return await self.store.set_halt(halted, reason, self.engine_id, self.now_ns())


def fill_record(window_id: str, fill: Fill, ts_ns: int) -> FillRecord:
    return FillRecord(
        trade_id=fill.fill_id,
        order_id=fill.order_id,
        window_id=window_id,
        outcome=fill.outcome,
        side=fill.action,
        price_micros=fill.price,
        size_micros=fill.size,
        fee_micros=fill.fee,
        liquidity="maker" if fill.maker else "taker",
        ts_ns=ts_ns,
    )
