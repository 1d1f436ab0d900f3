"""The one place the engine reports what it does: orders, fills, cancels, risk, windows.

Every call is synchronous and must not block: sinks log, count or enqueue. The durable
store plugs in here as one more sink.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from gabagool.types import describe_order, dollars, fee_dollars, format_picos, short
from gabagool.venues.base import Fill, OrderAck, OrderRequest

__all__ = ["EngineEvents", "EventFanout", "LogEvents", "format_picos"]

log = logging.getLogger("gabagool.engine")


class EngineEvents(Protocol):
    def window_opened(self, market_id: str, slug: str, start: int, end: int) -> None: ...

    def order_placed(self, request: OrderRequest, ack: OrderAck) -> None: ...

    def order_cancelled(self, market_id: str, order_id: str, reason: str) -> None: ...

    def fill(self, fill: Fill, delta: int, pair_cost: str | None) -> None: ...

    def risk_action(self, market_id: str, action: str, detail: str) -> None: ...

    def task_failed(self, market_id: str, task: str, error: BaseException) -> None: ...

    def window_settled(self, market_id: str, slug: str, winner: str | None, pnl: int) -> None:
        """`pnl` in pico-dollars."""
        ...


# Notices that say things went as they should: worth a line, not a warning.
_ALL_WELL = frozenset({"resolution_check", "reference_fresh", "feed_resumed", "max_delta_cleared"})


class LogEvents:
    """Every event as a log record with structured `extra` fields (JSON lines at DEBUG)."""

    def window_opened(self, market_id: str, slug: str, start: int, end: int) -> None:
        log.info(
            "window %s opened",
            slug,
            extra={"event": "window_opened", "market": market_id, "start": start, "end": end},
        )

    def order_placed(self, request: OrderRequest, ack: OrderAck) -> None:
        fields = {
            "event": "order",
            "market": request.market_id,
            "order_id": ack.order_id,
            "outcome": request.outcome,
            "action": request.action,
            "price": request.price,
            "size": request.size,
            "type": request.order_type,
            "rule": request.rule,
            "accepted": ack.accepted,
            "resting": ack.resting,
            "filled": ack.filled,
            "reason": ack.reason,
        }
        if ack.accepted:
            log.debug(
                "order %s %s (%s)",
                ack.order_id,
                describe_order(request.action, request.outcome, request.size, request.price),
                request.rule,
                extra=fields,
            )
        else:
            log.warning(
                "order rejected: %s: %s",
                describe_order(request.action, request.outcome, request.size, request.price),
                ack.reason,
                extra=fields,
            )

    def order_cancelled(self, market_id: str, order_id: str, reason: str) -> None:
        log.debug(
            "cancel %s (%s)",
            order_id,
            reason,
            extra={"event": "cancel", "market": market_id, "order_id": order_id, "reason": reason},
        )

    def fill(self, fill: Fill, delta: int, pair_cost: str | None) -> None:
        log.info(
            "fill %s fee %s (%s) delta %s pair %s",
            describe_order(fill.action, fill.outcome, fill.size, fill.price),
            fee_dollars(fill.fee),
            fill.rule,
            short(delta),
            pair_cost or "-",  # one side only: no pair yet
            extra={
                "event": "fill",
                "market": fill.market_id,
                "order_id": fill.order_id,
                "fill_id": fill.fill_id,
                "outcome": fill.outcome,
                "action": fill.action,
                "price": fill.price,
                "size": fill.size,
                "fee": fill.fee,
                "maker": fill.maker,
                "rule": fill.rule,
                "delta": delta,
                "pair_cost": pair_cost,
            },
        )

    def risk_action(self, market_id: str, action: str, detail: str) -> None:
        log.log(
            logging.INFO if action in _ALL_WELL else logging.WARNING,
            "risk %s: %s",
            action,
            detail,
            extra={"event": "risk", "market": market_id, "action": action, "detail": detail},
        )

    def task_failed(self, market_id: str, task: str, error: BaseException) -> None:
        log.error(
            "task %s of %s failed: %r",
            task,
            market_id,
            error,
            exc_info=error,
            extra={"event": "task_failed", "market": market_id, "task": task},
        )

    def window_settled(self, market_id: str, slug: str, winner: str | None, pnl: int) -> None:
        log.info(
            "window %s settled: winner %s, pnl %s",
            slug,
            winner,
            dollars(pnl),
            extra={
                "event": "window_settled",
                "market": market_id,
                "winner": winner,
                "pnl_picos": pnl,
            },
        )


class EventFanout:
    """Several sinks as one."""

    def __init__(self, sinks: Sequence[EngineEvents]) -> None:
        self.sinks = tuple(sinks)

    def window_opened(self, market_id: str, slug: str, start: int, end: int) -> None:
        for sink in self.sinks:
            sink.window_opened(market_id, slug, start, end)

    def order_placed(self, request: OrderRequest, ack: OrderAck) -> None:
        for sink in self.sinks:
            sink.order_placed(request, ack)

    def order_cancelled(self, market_id: str, order_id: str, reason: str) -> None:
        for sink in self.sinks:
            sink.order_cancelled(market_id, order_id, reason)

    def fill(self, fill: Fill, delta: int, pair_cost: str | None) -> None:
        for sink in self.sinks:
            sink.fill(fill, delta, pair_cost)

    def risk_action(self, market_id: str, action: str, detail: str) -> None:
        for sink in self.sinks:
            sink.risk_action(market_id, action, detail)

    def task_failed(self, market_id: str, task: str, error: BaseException) -> None:
        for sink in self.sinks:
            sink.task_failed(market_id, task, error)

    def window_settled(self, market_id: str, slug: str, winner: str | None, pnl: int) -> None:
        for sink in self.sinks:
            sink.window_settled(market_id, slug, winner, pnl)
