"""The seam: one backtest window in, its result out. `run_one` is the only function the
runner calls, so the engine under it can change (today the Trio engine's window tasks on
a MockClock; next, the synchronous window core in a plain loop) without touching the rest.

Today: the window's frames are generated (or read) first, then the engine's own `Window`
(feed, accumulator, equalizer, risk, order manager) trades them on the paper exchange
under `trio.testing.MockClock(autojump_threshold=0)`: no wall clock is read, so a run
gives the same result whatever the machine's load.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

import trio
import trio.testing
from trio._core import _run as _trio_run

from gabagool.backtest.attribution import ledger_of, split
from gabagool.backtest.result import WindowResult
from gabagool.backtest.spec import WindowSpec, window_feed
from gabagool.config import Settings, micros, picos
from gabagool.engine.clock import NS, MarketClock
from gabagool.engine.events import EventFanout
from gabagool.engine.portfolio import Portfolio
from gabagool.engine.window import Window
from gabagool.venues.base import Fill, OrderAck, OrderRequest, Outcome
from gabagool.venues.paper import PaperExchange

SCHEDULER_SEED = 0
TIMELINE_STEP_S = 1.0  # market seconds between samples of the books (timelines only)


@dataclass
class Timeline:
    """What one window looked like over time (for the report's timeline plot)."""

    t: list[float] = field(default_factory=list)  # seconds since the window's start
    up_bid: list[int | None] = field(default_factory=list)  # micro-dollars
    up_ask: list[int | None] = field(default_factory=list)
    down_bid: list[int | None] = field(default_factory=list)
    down_ask: list[int | None] = field(default_factory=list)
    delta: list[int] = field(default_factory=list)  # micro-shares
    # (outcome, price, from s, to s) of every resting bid of ours
    bids: list[tuple[str, int, float, float]] = field(default_factory=list)
    # (s, outcome, action, price, size, maker)
    fills: list[tuple[float, str, str, int, int, bool]] = field(default_factory=list)


class _TimelineEvents:
    """An `EngineEvents` sink that keeps our orders' lives and fills, in market seconds."""

    def __init__(self, timeline: Timeline, start_trio: float) -> None:
        self.timeline = timeline
        self.start = start_trio
        self.resting: dict[str, tuple[str, int, float]] = {}
        self.remaining: dict[str, int] = {}

    def _now(self) -> float:
        return trio.current_time() - self.start

    def window_opened(self, market_id: str, slug: str, start: int, end: int) -> None:
        pass

    def order_placed(self, request: OrderRequest, ack: OrderAck) -> None:
        if ack.accepted and ack.resting:
            self.resting[ack.order_id] = (request.outcome, request.price, self._now())
            self.remaining[ack.order_id] = request.size - ack.filled

    def order_cancelled(self, market_id: str, order_id: str, reason: str) -> None:
        self._close(order_id)

    def _close(self, order_id: str) -> None:
        live = self.resting.pop(order_id, None)
        if live is not None:
            self.timeline.bids.append((live[0], live[1], live[2], self._now()))

    def fill(self, fill: Fill, delta: int, pair_cost: str | None) -> None:
        self.timeline.fills.append(
            (self._now(), fill.outcome, fill.action, fill.price, fill.size, fill.maker)
        )
        left = self.remaining.get(fill.order_id)
        if left is not None:
            self.remaining[fill.order_id] = left - fill.size
            if left - fill.size <= 0:
                self._close(fill.order_id)  # filled: it rests no more

    def risk_action(self, market_id: str, action: str, detail: str) -> None:
        pass

    def task_failed(self, market_id: str, task: str, error: BaseException) -> None:
        pass

    def window_settled(self, market_id: str, slug: str, winner: str | None, pnl: int) -> None:
        for order_id in list(self.resting):
            self._close(order_id)


def run_one(spec: WindowSpec, settings: Settings) -> WindowResult:
    """Backtest one window; deterministic for a given (spec, settings)."""
    result, _ = _run(spec, settings, timeline=False)
    return result


def run_with_timeline(spec: WindowSpec, settings: Settings) -> tuple[WindowResult, Timeline]:
    result, timeline = _run(spec, settings, timeline=True)
    assert timeline is not None
    return result, timeline


def _run(
    spec: WindowSpec, settings: Settings, *, timeline: bool
) -> tuple[WindowResult, Timeline | None]:
    feed = window_feed(spec)
    holder: list[tuple[Window, Timeline | None]] = []

    async def main() -> None:
        header = feed.header
        clock = MarketClock.starting_now(header.start * NS)
        line = Timeline() if timeline else None
        events = _TimelineEvents(line, trio.current_time()) if line is not None else EventFanout([])
        risk = settings.risk
        portfolio = Portfolio(
            max_capital=picos(risk.max_capital, "risk.max_capital"),
            max_unhedged=micros(risk.max_unhedged, "risk.max_unhedged"),
            daily_loss_limit=picos(risk.daily_loss_limit, "risk.daily_loss_limit"),
            events=events,  # type: ignore[arg-type]
        )
        window = Window(
            feed=feed,
            exchange=PaperExchange(session="backtest"),
            settings=settings,
            portfolio=portfolio,
            events=events,  # type: ignore[arg-type]
            clock=clock,
        )
        holder.append((window, line))
        async with trio.open_nursery() as nursery:
            if line is not None:
                nursery.start_soon(_sample, window, line)
            await window.run()
            nursery.cancel_scope.cancel()

    # Trio runs a batch of ready tasks forwards or backwards at random, from one generator
    # for the process: seeded here, a window's run no longer depends on what the process
    # ran before it (a worker's earlier windows) — the virtual clock does the rest
    _trio_run._r.seed(SCHEDULER_SEED)
    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    window, line = holder[0]
    return _result(spec, window), line


async def _sample(window: Window, line: Timeline) -> None:
    start = trio.current_time()
    market, position = window.market, window.position
    while True:
        line.t.append(trio.current_time() - start)
        sides: tuple[tuple[Outcome, list[int | None], list[int | None]], ...] = (
            ("up", line.up_bid, line.up_ask),
            ("down", line.down_bid, line.down_ask),
        )
        for outcome, bids, asks in sides:
            bid, ask = market.best_bid(outcome), market.best_ask(outcome)
            bids.append(bid[0] if bid is not None else None)
            asks.append(ask[0] if ask is not None else None)
        line.delta.append(position.delta)
        await trio.sleep(TIMELINE_STEP_S)


def _result(spec: WindowSpec, window: Window) -> WindowResult:
    fees = window.fees
    records = window.orders.stats.fills
    ledger = ledger_of(
        (r.fill, fees.fee(r.fill.price, r.fill.size, False) if r.fill.maker else 0) for r in records
    )
    rebate_ppm = micros(_rebate_rate(window), "rebate_rate")
    parts = split(ledger, window.winner, rebate_ppm)
    settled = window.settlement_pnl is not None
    if settled and parts.total != window.settlement_pnl:
        raise AssertionError(
            f"{spec.label}: attribution {parts.total} != settlement {window.settlement_pnl} pico$"
        )
    position = window.position
    pair = position.pair_cost
    stats = window.orders.stats
    return WindowResult(
        spec=spec,
        slug=window.slug,
        winner=window.winner,
        settled=settled,
        pnl=window.settlement_pnl or 0,
        locked=parts.locked,
        unpaired=parts.unpaired,
        sells=parts.sells,
        fees=parts.fees,
        rebates=parts.rebates,
        qty_up=position.qty_up,
        qty_down=position.qty_down,
        hedged=position.hedged,
        delta=position.delta,
        pair_cost=(pair.numerator, pair.denominator) if isinstance(pair, Fraction) else None,
        fills=len(records),
        maker_fills=ledger.maker_fills,
        taker_fills=ledger.taker_fills,
        volume=ledger.volume,
        volume_notional=ledger.volume_notional,
        max_unhedged=ledger.max_unhedged,
        max_unhedged_cost=ledger.max_unhedged_cost,
        orders_placed=stats.placed,
        orders_rejected=stats.rejected,
        rule_breaches=stats.breaches,
        halted=window.halt_reason,
    )


def _rebate_rate(window: Window) -> Decimal:
    # recordings and the simulator carry the schedule's rebate share; a bare header may not
    return Decimal(getattr(window.header.fee_schedule, "rebate_rate", "0") or "0")
