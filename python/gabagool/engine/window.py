"""One market window: its books, position and task tree (feed, accumulator, equalizer, risk).

The feed applies frames to the core `Market` in place and wakes the accumulator; only
decisions (intents) and fills cross between tasks. Every task runs under `_supervise`:
a failure is logged with its traceback and the task restarted with backoff; after
`risk.task_restarts` failures the window halts, and a failure of the risk task halts the
window and liquidates its unhedged excess at once.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

import outcome
import trio

from gabagool import _core
from gabagool.config import Settings
from gabagool.engine.capital import hold_all
from gabagool.engine.clock import NS, MarketClock
from gabagool.engine.events import EngineEvents
from gabagool.engine.orders import FillRecord, OrderManager
from gabagool.engine.portfolio import Portfolio
from gabagool.venues.base import Exchange, MarketSpec, OrderRequest, Outcome, WindowFeed

if TYPE_CHECKING:
    from gabagool.engine.journal import EngineJournal
    from gabagool.store import FillRecord as JournaledFill

log = logging.getLogger("gabagool.engine")

MICROS = 1_000_000
MAX_DUE_RUN = 64  # frames applied back to back before the feed yields to the other tasks
IDLE_RESCAN = 1.0  # seconds: the accumulator rescans without frames (cutoffs move with time)


class LatencyProbe:
    """Wall-clock nanoseconds from a frame's arrival to the intents it caused (benches)."""

    def __init__(self) -> None:
        self.samples: list[int] = []


class Window:
    def __init__(
        self,
        *,
        feed: WindowFeed,
        exchange: Exchange,
        settings: Settings,
        portfolio: Portfolio,
        events: EngineEvents,
        clock: MarketClock,
        probe: LatencyProbe | None = None,
        journal: EngineJournal | None = None,
    ) -> None:
        header = feed.header
        self.journal = journal
        self.feed = feed
        self.header = header
        self.asset, self.slug, self.market_id = header.asset, header.slug, header.condition_id
        self.start_ns, self.end_ns = header.start * NS, header.end * NS
        self.exchange = exchange
        self.settings = settings
        self.portfolio = portfolio
        self.events = events
        self.clock = clock
        self.probe = probe
        tick = _core.parse_price(header.tick_size)
        self.market = _core.Market(header.up_token, header.down_token, tick)
        schedule = header.fee_schedule
        self.fees = _core.FeeSchedule.parse(schedule.rate, schedule.exponent, schedule.taker_only)
        mode = settings.strategy.mode
        if mode == "auto":
            mode = "maker" if self.fees.rate > 0 else "taker"
        self.maker = mode == "maker"
        kwargs = settings.strategy_params(mode)
        market_min = _core.parse_size(header.min_order_size)
        kwargs["min_order_size"] = max(kwargs["min_order_size"], market_min)
        kwargs["trade_size"] = max(kwargs["trade_size"], kwargs["min_order_size"])
        self.params = _core.StrategyParams(**kwargs)
        self.position = _core.Position()
        risk = settings.risk
        self.stale_after = float(risk.stale_after)
        self.risk_interval = float(risk.risk_interval)
        self.min_interval = float(settings.strategy.min_interval)
        self.equalizer_interval = float(settings.strategy.equalizer_interval)
        self.orders = OrderManager(
            market_id=self.market_id,
            slug=self.slug,
            exchange=exchange,
            events=events,
            position=self.position,
            params=self.params,
            ms_to_end=self.ms_to_end,
            on_fill=self._filled,
            on_reject_storm=self._reject_storm,
            max_rejects_per_minute=risk.max_rejects_per_minute,
            blocked=self.blocked,
            journal=journal,
            capital_gate=self._capital_gate if portfolio.ledger is not None else None,
        )
        # state the tasks share; each flag is written by one task and read by the others
        self.halt_reason = ""
        self.paused_until = -math.inf
        self.reject_storms = 0
        self.feed_stale = False
        self.delta_blocked = False
        self.exit_illiquid = False
        self.breach_pending = False
        self.quote_cut = False
        self.liquidated = False
        self.ended = False
        self.catching_up = False  # resumed after a restart: the feed's backlog is not now
        self.counted = False  # in the portfolio (or done with): the ledgers may trim
        self.resolved: str | None = None
        self.winner: str | None = None
        self.settlement_pnl: int | None = None
        self.frames = 0
        self.scans = 0
        self.throttled_scans = 0
        self._throttled = False
        self.last_frame_at = -math.inf  # a frame or a keep-alive: the link is up
        self.book_changed = _Wake()
        self.fill_wake = _Wake()
        self.risk_wake = _Wake()
        self._resolved_event = trio.Event()
        self._frames = feed.frames()
        self._frame_arrival_ns = 0
        self._last_mark = 0
        self._resync_reported = 0

    # ---- state -------------------------------------------------------------------------

    def ms_to_end(self) -> int:
        return self.clock.ms_until(self.end_ns)

    def blocked(self) -> str:
        """Why no new order may be placed now ("" when trading is allowed)."""
        if self.portfolio.halt_reason:
            return f"halted: {self.portfolio.halt_reason}"
        if self.halt_reason:
            return f"window halted: {self.halt_reason}"
        if self.ended:
            return "window ended"
        if self.catching_up:
            return "catching up with the feed"
        # `paused_until` is -inf unless a reject storm paused the window: no clock read then
        if self.paused_until != -math.inf and trio.current_time() < self.paused_until:
            return "paused after order rejects"
        if self.feed_stale:
            return "feed stale"
        return ""

    def marked_pnl(self) -> int:
        """Pico-dollars: matched pairs at the $1 they will pay, the unhedged excess at its best
        bid, minus cost, plus realized. The last value stands while a book is resyncing."""
        p = self.position
        heavy: Outcome = "up" if p.delta > 0 else "down"
        if p.delta and not self.market.has_snapshot(heavy):
            return self._last_mark
        bid = self.market.best_bid(heavy) if p.delta else None
        excess_value = abs(p.delta) * bid[0] if bid is not None else 0
        self._last_mark = p.hedged * MICROS + excess_value + p.realized - p.cost_up - p.cost_down
        return self._last_mark

    def committed(self) -> int:
        """Pico-dollars this window holds at cost plus what its live buys may still spend."""
        p = self.position
        return max(0, p.cost_up + p.cost_down) + self.orders.outstanding_buys(self._fee_bound)

    def _fee_bound(self, request: OrderRequest, size: int) -> int:
        # a resting post-only bid fills as a maker; anything else may take, at its limit
        # price at worst (price plus fee per share rises with the price)
        return self.fees.fee(request.price, size, request.post_only)

    def exposure(self, extra: OrderRequest | None = None) -> int:
        """The largest |delta| the live buys (and `extra`) could leave if they all filled."""
        up, down = self.orders.buying()
        if extra is not None and extra.action == "buy":
            if extra.outcome == "up":
                up += extra.size
            else:
                down += extra.size
        delta = self.position.delta
        return max(abs(delta + up), abs(delta - down))

    async def _capital_gate(self, request: OrderRequest) -> bool:
        """Hold room for a buy in the shared ledgers (capital, then unhedged) first."""
        portfolio = self.portfolio
        capital, unhedged = portfolio.ledger, portfolio.unhedged_ledger
        assert capital is not None and unhedged is not None
        cost = request.price * request.size + self._fee_bound(request, request.size) * MICROS
        return await hold_all(
            [
                (capital, lambda: portfolio.committed() + cost),
                (unhedged, lambda: portfolio.exposure() - self.exposure() + self.exposure(request)),
            ]
        )

    def restore(self, fills: Sequence[JournaledFill]) -> None:
        """Continue a window from its journaled fills (after a restart): the position is
        their sum, and no order is placed until the feed has caught up with the clock."""
        position = self.position
        for fill in fills:
            if fill.side == "buy":
                position.buy(fill.outcome, fill.price_micros, fill.size_micros, fill.fee_micros)
            else:
                position.sell(fill.outcome, fill.price_micros, fill.size_micros, fill.fee_micros)
        self.catching_up = True
        log.info(
            "window %s resumed from %d journaled fill(s): up %d down %d",
            self.slug,
            len(fills),
            position.qty_up,
            position.qty_down,
            extra={
                "event": "window_resumed",
                "market": self.market_id,
                "fills": len(fills),
                "qty_up": position.qty_up,
                "qty_down": position.qty_down,
                "cost_up": position.cost_up,
                "cost_down": position.cost_down,
            },
        )

    def halt(self, reason: str) -> None:
        if not self.halt_reason:
            self.halt_reason = reason
            self.events.risk_action(self.market_id, "halt_window", reason)
        self.risk_wake.set()

    def resume(self) -> None:
        self.halt_reason = ""
        self.paused_until = -math.inf
        self.book_changed.set()

    # ---- life ----------------------------------------------------------------------------

    async def run(self) -> None:
        """From registration to settlement; cancels every resting order on any way out."""
        h = self.header
        spec = MarketSpec(
            market_id=self.market_id,
            market=self.market,
            fees=self.fees,
            min_order_size=self.params.min_order_size,
        )
        if self.journal is not None:
            try:
                await self.journal.window_opened(h)
            except BaseException:
                self.counted = True  # never will be: the ledgers must not wait for it
                raise
        self.exchange.register_market(spec, self.orders.handle_fill)
        self.portfolio.add(self)
        self.counted = True
        self.events.window_opened(self.market_id, self.slug, h.start, h.end)
        self.last_frame_at = max(trio.current_time(), self.clock.trio_time(self.start_ns))
        try:
            async with trio.open_nursery() as nursery:
                for name, task in (
                    ("feed", self._feed),
                    ("accumulator", self._accumulator),
                    ("equalizer", self._equalizer),
                    ("risk", self._risk),
                ):
                    nursery.start_soon(self._supervise, name, task, name=f"{self.slug}:{name}")
                if self.journal is not None:
                    nursery.start_soon(
                        self._supervise, "fills", self.orders.run_booking, name=f"{self.slug}:fills"
                    )
                nursery.start_soon(self._ticker, name=f"{self.slug}:ticker")
                await self.clock.sleep_until(self.end_ns)
                self.ended = True
                await self.orders.cancel_all("window end")
                with trio.move_on_after(float(self.settings.engine.resolution_wait)):
                    await self._resolved_event.wait()
                nursery.cancel_scope.cancel()
        finally:
            with trio.CancelScope(shield=True):
                with trio.move_on_after(5):
                    await self.orders.cancel_all("window end" if self.ended else "shutdown")
            self.portfolio.remove(self)
            self.counted = True
            if self.ended:
                self._settle()
            with trio.CancelScope(shield=True):
                with trio.move_on_after(10):
                    await self._journal_end()

    async def _journal_end(self) -> None:
        if self.journal is not None and self.ended and self.winner is not None:
            await self.journal.window_settled(self.slug, self.winner)  # type: ignore[arg-type]
        portfolio = self.portfolio
        if portfolio.ledger is not None and portfolio.unhedged_ledger is not None:
            await portfolio.ledger.trim(portfolio.committed)
            await portfolio.unhedged_ledger.trim(portfolio.exposure)

    async def _supervise(self, name: str, task: Callable[[], Awaitable[None]]) -> None:
        failures = 0
        backoff = float(self.settings.risk.restart_backoff)
        while True:
            try:
                await task()
                return
            except Exception as exc:
                failures += 1
                self.events.task_failed(self.market_id, name, exc)
                if name == "risk":
                    await self.liquidate(f"risk task failed: {exc!r}")
                    return
                if failures > self.settings.risk.task_restarts:
                    self.halt(f"{name} task failed {failures} times, last: {exc!r}")
                    await self.orders.cancel_all(f"{name} failing")
                    return
                await trio.sleep(backoff * 2 ** (failures - 1))

    # ---- feed ----------------------------------------------------------------------------

    async def _feed(self) -> None:
        probe, clock, absorb = self.probe, self.clock, self._absorb
        apply_frame, end_batch = self.market.apply_frame, self.market.end_batch
        next_frame = self._frames.__anext__
        # the clock's own reader: `trio.current_time()` finds it through the run context
        current_time = trio.lowlevel.current_clock().current_time
        perf_counter_ns = time.perf_counter_ns
        pending = False  # frames applied since the last `end_batch`
        item: tuple[int, bytes | None] | None
        try:
            item = await next_frame()
        except StopAsyncIteration:
            item = None
        woke = False  # from the wait for `item`: it is due, whatever the float clock rounds to
        while item is not None:
            # the wait for the next frame not yet due is opened before the frames due now are
            # applied: entering a cancel scope costs microseconds that would otherwise lie
            # between a frame and the scan it wakes; only its deadline is set when it is known
            with trio.CancelScope() as wait:
                due_run = 0  # frames applied back to back without yielding
                # one clock read a step: the frames stamped up to it are this step's work (one
                # that comes due while it runs waits for the next)
                now = current_time()
                due_ns = clock.ns_at(now)
                while item is not None:
                    t_ns, frame = item
                    if woke:
                        woke = False
                    elif t_ns > due_ns:
                        if pending:
                            # nothing more is due now: the received batch ends, and with it
                            # any burst whose best_bid/best_ask promises are checked against
                            # the books
                            pending = False
                            absorb(end_batch())
                        if self.catching_up:
                            # the backlog up to now is applied: the books are current again
                            self.catching_up = False
                            self.book_changed.set()
                        # the scan these frames woke comes first; the wait for the next
                        # frame is set up after it, off the path from frame to intents
                        await self.book_changed.yield_to_woken()
                        # recorded and simulated frames are paced by their market time
                        wait.deadline = clock.trio_time(t_ns)
                        await trio.sleep_forever()
                    if due_run >= MAX_DUE_RUN:
                        await trio.lowlevel.checkpoint()  # a backlog must not starve the others
                        due_run = 0
                        now = current_time()
                        due_ns = clock.ns_at(now)
                    # frames due together (a burst) are applied in one step, so the
                    # accumulator wakes once, after all of them
                    due_run += 1
                    arrived = perf_counter_ns() if probe is not None else 0
                    self.last_frame_at = now
                    if self.feed_stale:
                        self.feed_stale = False
                        self.events.risk_action(self.market_id, "feed_resumed", "link alive again")
                        self.book_changed.set()
                    if frame is not None:  # else a keep-alive: a quiet market is no dead link
                        self.frames += 1
                        pending = True
                        changed = absorb(apply_frame(frame))
                        if changed and arrived and not self._frame_arrival_ns:
                            self._frame_arrival_ns = arrived  # the first frame not yet scanned
                    try:
                        item = await next_frame()
                    except StopAsyncIteration:
                        item = None
            woke = True
        if pending:
            absorb(end_batch())
        self.catching_up = False

    def _absorb(self, summary: _core.FrameSummary) -> int:
        """Act on what a frame (or a batch's end) did; returns its `changed` mask."""
        changed, trades = summary.changed, summary.trades
        if changed or trades:
            self.exchange.observe(self.market_id, changed, trades)
        if changed:
            self.book_changed.set()
        if summary.resolved is not None and self.resolved is None:
            self.resolved = summary.resolved
            self._resolved_event.set()
        resync = summary.needs_resync
        if (resync and resync != self._resync_reported) or summary.problems:
            self.events.risk_action(
                self.market_id,
                "feed_problem",
                f"resync mask {resync}: {'; '.join(summary.problems) or 'awaiting a snapshot'}",
            )
            self.risk_wake.set()
        self._resync_reported = resync
        return changed

    # ---- accumulator -----------------------------------------------------------------

    async def _accumulator(self) -> None:
        last_scan = -math.inf
        current_time = trio.lowlevel.current_clock().current_time  # as in `_feed`
        book_changed, act, decide = self.book_changed, self.orders.act, self._accumulate
        while not self.ended:
            # bounded by `_ticker`'s wake-ups; no cancel scope on the hot path
            await book_changed.wait()
            now = current_time()
            wait = last_scan + self.min_interval - now
            self._throttled = wait > 0
            if self._throttled:
                self.throttled_scans += 1
                await trio.sleep(wait)
                now = current_time()
            book_changed.clear()
            last_scan = now
            if not self.ended:
                # one accumulator decision on the current books and position, sent to the
                # orders (called here, not through a helper coroutine: a frame waits on it)
                self.scans += 1
                await act("accumulator", decide, now)

    async def _ticker(self) -> None:
        """Wake the accumulator at least every IDLE_RESCAN: cutoffs move with time alone."""
        while not self.ended:
            await trio.sleep(IDLE_RESCAN)
            self.book_changed.set()

    def _accumulate(self, now: float) -> list:  # type: ignore[type-arg]
        capital_room, unhedged_room = self.portfolio.rooms
        intents = _core.accumulate(
            self.market,
            self.position,
            self.params,
            self.fees,
            self.clock.ms_until(self.end_ns, now),
            halted=bool(self.blocked()) or self.delta_blocked,
            feed_stale=self.feed_stale,
            capital_room=capital_room,
            unhedged_room=unhedged_room,
        )
        if self.probe is not None and self._frame_arrival_ns:
            # a scan held back by `min_interval` waited on purpose: not the engine's latency
            if intents and not self._throttled:
                self.probe.samples.append(time.perf_counter_ns() - self._frame_arrival_ns)
            self._frame_arrival_ns = 0
        return intents

    # ---- equalizer -------------------------------------------------------------------

    async def _equalizer(self) -> None:
        while not self.ended:
            await self.fill_wake.wait_until(trio.current_time() + self.equalizer_interval)
            self.fill_wake.clear()
            await _after_the_accumulator()
            await self.equalize()

    async def equalize(self) -> None:
        if not self.ended:
            await self.orders.act("equalizer", self._equalize)

    def _equalize(self, now: float) -> list:  # type: ignore[type-arg]
        ms = self.clock.ms_until(self.end_ns, now)
        urgent = self.delta_blocked or self.breach_pending or ms <= self.params.open_cutoff_ms
        self.breach_pending = False
        return _core.equalize(
            self.market,
            self.position,
            self.params,
            self.fees,
            ms,
            fills_confirmed=True,
            urgent=urgent,
            halted=bool(self.blocked()),
        )

    def _filled(self, record: FillRecord) -> None:
        self.portfolio.recount()
        if record.breach:
            self.breach_pending = True
        self.fill_wake.set()
        self.risk_wake.set()
        self.book_changed.set()

    def _reject_storm(self) -> None:
        self.reject_storms += 1
        backoff = float(self.settings.risk.reject_backoff) * 2 ** (self.reject_storms - 1)
        self.paused_until = trio.current_time() + backoff
        self.events.risk_action(
            self.market_id, "reject_storm", f"too many rejects: paused {backoff:.0f} s"
        )
        self.risk_wake.set()

    # ---- risk ----------------------------------------------------------------------------

    async def _risk(self) -> None:
        next_check = trio.current_time()
        quote_cutoff_at = self.clock.trio_time(self.end_ns - self.params.quote_cutoff_ms * 10**6)
        while True:
            deadline = next_check
            if not self.feed_stale and not self.ended:
                deadline = min(deadline, self.last_frame_at + self.stale_after)
            if not self.quote_cut:
                deadline = min(deadline, quote_cutoff_at)
            await self.risk_wake.wait_until(deadline)
            self.risk_wake.clear()
            await _after_the_accumulator()
            now = trio.current_time()
            if now >= next_check:
                next_check = now + self.risk_interval
            await self.check_risk()

    async def check_risk(self) -> None:
        """Every rule of DESIGN.md "Risk" that concerns this window, in order of urgency."""
        now = trio.current_time()
        if self.ended or self.catching_up:
            return  # catching up, the books are the past's: no mark on them is a price now
        if not self.feed_stale and now - self.last_frame_at >= self.stale_after:
            self.feed_stale = True
            self.events.risk_action(
                self.market_id,
                "feed_stale",
                f"no frame for {now - self.last_frame_at:.1f} s: orders cancelled, paused",
            )
            await self.orders.cancel_all("stale feed")
        if self.blocked() and self.orders.resting():
            await self.orders.cancel_all(self.blocked())
        ms = self.ms_to_end()
        if ms <= self.params.quote_cutoff_ms and not self.quote_cut:
            self.quote_cut = True
            self.events.risk_action(self.market_id, "quote_cutoff", f"{ms} ms to end: hold")
            await self.orders.cancel_all("quote cutoff")
        if not (self.market.has_snapshot("up") and self.market.has_snapshot("down")):
            return  # no book yet (or mid-resync): a mark of zero is no price, not a loss
        metrics = _core.risk_metrics(self.market, self.position, self.params)
        if metrics.over_max_delta != self.delta_blocked:
            self.delta_blocked = metrics.over_max_delta
            action = "max_delta" if self.delta_blocked else "max_delta_cleared"
            self.events.risk_action(self.market_id, action, f"delta {metrics.delta}")
            self.fill_wake.set()
        if not metrics.exit_liquidity_ok and not self.exit_illiquid:
            self.events.risk_action(
                self.market_id, "exit_liquidity", f"bids cannot absorb {metrics.unhedged} unhedged"
            )
            if self.settings.risk.exit_liquidity == "halt":
                self.halt("exit liquidity short")
        self.exit_illiquid = not metrics.exit_liquidity_ok
        if metrics.stop_loss_triggered and not self.liquidated:
            await self.liquidate(
                f"stop loss: unhedged mark loss {metrics.unhedged_mark_loss} pico$ "
                f"of {metrics.capital_deployed} deployed"
            )
        self.portfolio.check_daily_loss(self.clock.now_ns())

    async def liquidate(self, reason: str) -> None:
        """Halt the window, cancel everything and flatten the unhedged excess (FAK)."""
        self.halt(reason)
        await self.orders.cancel_all(reason)
        if self.ended:
            return  # the market has closed: what is held is settled, not sold
        self.liquidated = True
        sent: list[int] = []

        def flatten(now: float) -> list:  # type: ignore[type-arg]
            intents = _core.flatten(self.market, self.position, self.params, self.fees)
            sent.append(len(intents))
            return intents

        await self.orders.act("risk", flatten)
        self.events.risk_action(self.market_id, "liquidate", f"{reason}: {sent[0]} FAK order(s)")

    # ---- settlement ----------------------------------------------------------------------

    def _settle(self) -> None:
        winner = self.resolved or self.feed.fallback_outcome()
        self.winner = winner
        position = self.position
        if winner is not None:
            settle = getattr(self.exchange, "settle", None)
            held = position.qty_up if winner == "up" else position.qty_down
            if settle is not None:
                settle(self.market_id, winner, position.qty_up, position.qty_down)
            self.settlement_pnl = (
                held * MICROS + position.realized - position.cost_up - position.cost_down
            )
            self.portfolio.record_settlement(self.end_ns, self.settlement_pnl)
        self.events.window_settled(self.market_id, self.slug, winner, self.settlement_pnl or 0)


async def _after_the_accumulator() -> None:
    """Yield once: a fill wakes the accumulator, equalizer and risk together, and Trio runs
    a batch in no set order; this puts the accumulator's scan of the frame first."""
    await trio.lowlevel.checkpoint()


class _Wake:
    """A re-armable signal for one waiting task: many `set()` before a wait cost one wake-up.

    Parks its waiter with Trio's low-level primitives: an `Event` (with its parking lot) per
    wake-up is a cost the feed would pay on every frame, before the accumulator can run. For
    the same reason the value each reschedule sends in is made while its task parks (each
    of the window's signals has a single reader): `set()` and the hand-over back to the
    yielder then allocate nothing between a frame and its scan.
    """

    __slots__ = ("_is_set", "_waiter", "_go", "_woken", "_yielder", "_resume")

    def __init__(self) -> None:
        self._is_set = False
        self._waiter: trio.lowlevel.Task | None = None
        self._go: outcome.Value[None] = outcome.Value(None)  # sent in by `set()`
        self._woken = False  # `set()` rescheduled the waiter, which has not run yet
        self._yielder: trio.lowlevel.Task | None = None  # parked in `yield_to_woken`
        self._resume: outcome.Value[None] = outcome.Value(None)  # sent back to the yielder

    def set(self) -> None:
        self._is_set = True
        task = self._waiter
        if task is not None:
            self._waiter = None
            self._woken = True
            trio.lowlevel.reschedule(task, self._go)

    def clear(self) -> None:
        self._is_set = False

    async def wait(self) -> None:
        if self._is_set:
            await trio.lowlevel.checkpoint()
            return
        if self._waiter is not None:
            raise RuntimeError("a _Wake has one waiter at a time")
        task = trio.lowlevel.current_task()
        self._waiter = task
        self._go = outcome.Value(None)  # an outcome is unwrapped once: a fresh one per park

        def abort(_: object) -> trio.lowlevel.Abort:
            if self._waiter is task:
                self._waiter = None
            return trio.lowlevel.Abort.SUCCEEDED

        await trio.lowlevel.wait_task_rescheduled(abort)
        # only `set()` reschedules a parked waiter (an abort raises instead)
        self._woken = False
        yielder = self._yielder
        if yielder is not None:
            self._yielder = None
            trio.lowlevel.reschedule(yielder, self._resume)

    async def wait_until(self, deadline: float) -> None:
        with trio.move_on_at(deadline):
            await self.wait()

    async def yield_to_woken(self) -> None:
        """Park until the waiter `set()` woke has run its first step (return at once if it
        is not pending). Trio runs the tasks of a batch in no set order: this puts the woken
        one first. The park needs no deadline of its own: the task it waits for is already
        scheduled, and the first thing it does is reschedule the yielder."""
        if not self._woken or self._yielder is not None:
            return
        task = trio.lowlevel.current_task()
        self._yielder = task

        def abort(_: object) -> trio.lowlevel.Abort:
            self._yielder = None
            return trio.lowlevel.Abort.SUCCEEDED

        try:
            await trio.lowlevel.wait_task_rescheduled(abort)
        finally:
            # made here, after the hand-over, for the next one (unused if this one aborted)
            self._resume = outcome.Value(None)
