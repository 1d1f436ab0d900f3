"""One market window under Trio: a thin shell around `WindowCore`.

One task pumps the window: it sleeps until the next instant something is due (a frame by
its market time, a decision the core scheduled, an order reaching the paper venue after its
latency), runs that instant's work through the core and the venue (`WindowDriver`), writes
what the core journaled before each call to the venue, and publishes a snapshot. Decisions
take the market time of the instant, never the time the task happened to run, so a window
trades the same at any `--speed` and on any load; what the shell does measure is how far
behind the market it runs (`lag_ns`).

Other tasks (control, the portfolio) reach a window only through `halt`, `resume`,
`liquidate` and `cancel_all`, which hand their commands to the pump.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING

import trio

from gabagool.config import Settings
from gabagool.engine.capital import hold_all
from gabagool.engine.clock import MarketClock, wall_seconds
from gabagool.engine.core import (
    NEVER,
    Cancel,
    CancelAll,
    Command,
    FillEntry,
    FillReversal,
    Halt,
    JournalEntry,
    Mode,
    Notice,
    OrderIntent,
    OrderState,
    OrderUpdate,
    Place,
    Settle,
    WindowCore,
    WindowEnd,
)
from gabagool.engine.core.commands import ResolutionEntry, WindowOpenEntry
from gabagool.engine.core.driver import Refusal, Steps, WindowDriver
from gabagool.engine.core.rules import worst_buy_cost
from gabagool.engine.core.snapshot import WindowSnapshot
from gabagool.engine.events import EngineEvents
from gabagool.engine.portfolio import Portfolio
from gabagool.store import StoreError
from gabagool.types import NS, ratio_decimal, short
from gabagool.venues.base import (
    Accepted,
    Cancelled,
    CancelRejected,
    Exchange,
    Fill,
    Filled,
    FillReversed,
    OrderAck,
    OrderRequest,
    Rejected,
    VenueEvent,
    WindowFeed,
)

if TYPE_CHECKING:
    from gabagool.engine.journal import EngineJournal
    from gabagool.store import FillRecord as JournaledFill

log = logging.getLogger("gabagool.engine")

# tuples, not `A | B`: a union written in an isinstance call is built again on every call
_POSITION_EVENTS = (Filled, FillReversed)
_ORDER_ANSWERS = (Accepted, Rejected)
_ORDER_ENDS = (Cancelled, CancelRejected)

LAG_WARN_NS = 1 * NS  # market time behind the market before the shell says so
MAX_FEED_RESTARTS = 3
PENDING = object()  # a live feed has no frame yet
CONSUMED = object()  # the pump ran the frame it held
MAX_BACKLOG_RUN = 64  # instants already due run back to back before the pump yields
PUBLISH_EVERY_NS = NS  # a snapshot at least this often; at once after a fill or a change
LAG_EVERY_NS = NS // 10  # market time between two lag readings (a reading costs a clock read)


class LatencyProbe:
    """Wall-clock nanoseconds from a frame's arrival at the pump (benches), for the frames
    whose own instant ran a scan: to the intents the accumulator decided (`samples`, only
    scans that decided some) and to the first order handed to the venue (`sent`)."""

    def __init__(self) -> None:
        self.samples: list[int] = []  # frame -> intents decided
        self.cpu_samples: list[int] = []  # the same spans in this thread's CPU time
        self.sent: list[int] = []  # frame -> first order sent


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
        self.journal = journal
        self.core = WindowCore(
            header, settings, limits=portfolio, fallback_outcome=feed.fallback_outcome
        )
        self.venue = exchange.open_market(
            header, self.core.market, min_order_size=self.core.params.min_order_size
        )
        self.driver = WindowDriver(
            self.core,
            self.venue,
            latency_ns=exchange.latency_ns,
            on_command=self._observe,
            on_event=self._report,
        )
        self.counted = False  # in the portfolio (or done with): the ledgers may trim
        self.lag_ns = 0  # how far behind the market the last instant ran
        self.max_lag_ns = 0
        self.next_due_ns = NEVER  # the next instant the pump has to run
        self.journal_error = ""  # the first journal write that failed: trading stops
        self._lag_warned = False
        self._failures = 0  # steps that raised
        self._journaled = 0  # core journal entries made durable
        self._inbox: list[Command] = []  # commands from other tasks, run by the pump
        self._poked = False  # a command or a risk check is waiting for the pump
        self._sleeper: trio.lowlevel.Task | None = None  # the pump, while it waits
        self._requests: dict[str, OrderRequest] = {}
        self._cleared: set[str] = set()  # buys the shared ledgers made room for
        self._frame_arrival_ns = 0  # probe: the frame being run, until its intents
        self._send_from_ns = 0  # probe: the frame being run, until its first order
        self._frame_cpu_ns = 0  # probe: the thread's CPU time as the frame was taken
        self._unlogged: list[Filled] = []  # fills to log (no journal) at the next send or end
        if probe is not None:
            self.core.on_intents = self._intents_decided
        self._snapshot: WindowSnapshot | None = None  # built when read, until the next publish
        self._published: tuple[object, ...] = ()
        self._publish_due = 0
        self._lag_due = 0  # market ns of the next lag reading
        portfolio.listen(self.poke_risk)

    # ---- what others read --------------------------------------------------------------

    @property
    def position(self):  # type: ignore[no-untyped-def]
        return self.core.position

    @property
    def market(self):  # type: ignore[no-untyped-def]
        return self.core.market

    @property
    def params(self):  # type: ignore[no-untyped-def]
        return self.core.params

    @property
    def maker(self) -> bool:
        return self.core.maker

    @property
    def halt_reason(self) -> str:
        return self.core.halt_reason

    @property
    def feed_stale(self) -> bool:
        return self.core.feed_stale

    @property
    def delta_blocked(self) -> bool:
        return self.core.over_max_delta

    @property
    def ended(self) -> bool:
        return self.core.ended

    @property
    def winner(self) -> str | None:
        return self.core.winner

    @property
    def resolved(self) -> str | None:
        return self.core.resolved

    @property
    def settlement_pnl(self) -> int | None:
        return self.core.settlement_pnl

    @property
    def stats(self):  # type: ignore[no-untyped-def]
        return self.core.orders.stats

    def snapshot(self) -> WindowSnapshot:
        """The window as of its last publish or later: built on the first read after one."""
        snapshot = self._snapshot
        if snapshot is None:
            snapshot = self._snapshot = self.core.snapshot()
        return snapshot

    def ms_to_end(self) -> int:
        return self.clock.ms_until(self.end_ns)

    def blocked(self) -> str:
        return self.core.blocked()

    def _unheld(self) -> set[str]:
        """Buys decided and not yet cleared by the shared ledgers: not the ledgers' yet."""
        if self.portfolio.ledger is None:
            return set()
        cleared = self._cleared
        return {
            o.client_id
            for o in self.core.orders.active.values()
            if o.state is OrderState.SENDING
            and o.request.action == "buy"
            and o.client_id not in cleared
        }

    def committed(self) -> int:
        """What the capital ledger must hold for this window."""
        return self.core.committed(self._unheld())

    def exposure(self) -> int:
        return self.core.exposure(exclude=self._unheld())

    def marked_pnl(self) -> int:
        return self.core.marked_pnl()

    # ---- what others do ----------------------------------------------------------------

    def restore(self, fills: Sequence[JournaledFill], resume_ns: int) -> None:
        """Continue from journaled fills (a restart): frames before `resume_ns` only rebuild
        the books; orders get ids no earlier run used."""
        core = self.core
        core.restore(fills)
        core.resume_ns = resume_ns
        core._id_prefix = f"{core.slug}-r{resume_ns}"
        p = core.position
        standing = sum(1 for f in fills if f.stands)  # a reversed fill is journaled, not held
        log.info(
            "window %s resumed from %d journaled fill(s): up %s down %s",
            self.slug,
            standing,
            short(p.qty_up),
            short(p.qty_down),
            extra={
                "event": "window_resumed",
                "market": self.market_id,
                "fills": standing,
                "qty_up": p.qty_up,
                "qty_down": p.qty_down,
                "cost_up": p.cost_up,
                "cost_down": p.cost_down,
            },
        )

    def _market_now(self) -> int:
        return max(self.core.now_ns, self.clock.now_ns())

    def halt(self, reason: str) -> None:
        self._send_in(self.core.halt(self._market_now(), reason))

    def resume(self) -> None:
        self._send_in(self.core.resume(self._market_now()))

    def poke_risk(self) -> None:
        """The portfolio changed (a halt, a cap): run the risk checks now."""
        self.core.check_now(self._market_now())
        self._wake()

    async def liquidate(self, reason: str) -> None:
        self._send_in(self.core.liquidate(self._market_now(), reason))

    async def cancel_all(self, reason: str) -> None:
        self._send_in([CancelAll(reason=reason)])

    def _send_in(self, commands: list[Command]) -> None:
        self._inbox.extend(commands)
        self._wake()

    def _wake(self) -> None:
        self._poked = True
        sleeper, self._sleeper = self._sleeper, None
        if sleeper is not None:
            trio.lowlevel.reschedule(sleeper)

    async def _sleep_until(self, due: float) -> None:
        """Park the pump until `due` (Trio time) or a `_wake`, whichever comes first: one
        cancel scope and no Event a wait, as this runs once an instant."""
        task = self._sleeper = trio.lowlevel.current_task()
        scope = trio.CancelScope(deadline=due)

        def abort(_: object) -> trio.lowlevel.Abort:
            self._sleeper = None
            if scope.cancel_called:
                # our own deadline: wake as a plain reschedule, which spares Trio raising
                # and catching Cancelled once an instant; a cancel from outside stays
                # pending and is delivered at the next checkpoint
                trio.lowlevel.reschedule(task)
                return trio.lowlevel.Abort.FAILED
            return trio.lowlevel.Abort.SUCCEEDED

        with scope:
            await trio.lowlevel.wait_task_rescheduled(abort)

    # ---- life ----------------------------------------------------------------------------

    async def run(self) -> None:
        """From registration to settlement; cancels every resting order on any way out."""
        h = self.header
        if self.journal is not None:
            try:
                await self.journal.window_opened(h)
            except BaseException:
                self.counted = True  # never will be: the ledgers must not wait for it
                raise
        self.portfolio.add(self)
        self.counted = True
        self.events.window_opened(self.market_id, self.slug, h.start, h.end)
        try:
            await self._pump()
        finally:
            with trio.CancelScope(shield=True):
                if not self.core.ended:
                    self.core.halt(self.core.now_ns, "shutdown")
                    with trio.move_on_after(wall_seconds(5)):
                        await self._run_steps(
                            self.driver.execute(self.core.now_ns, [CancelAll(reason="shutdown")])
                        )
                self.exchange.close_market(self.market_id)
                self._publish(force=True)
                self.portfolio.remove(self)
                # a busy machine's journal may need seconds for its last writes, whatever
                # the market's pace: nothing written is a resting order nobody knows of
                with trio.move_on_after(wall_seconds(10)):
                    await self._flush()
                    await self._trim_ledgers()

    async def _pump(self) -> None:
        if not getattr(self.feed, "arrives_live", False):
            frames = self._frames()

            async def recorded() -> object:
                return await self._next_frame(frames)

            await self._pump_with(recorded)
            return
        # A live feed's next frame exists only once the exchange sends it: awaiting it in
        # the pump would hold every timer (cutoffs, equalizer, risk) until then. A reader
        # task hands frames over and pokes the pump, which waits for whichever comes first.
        arrived: deque[tuple[int, bytes | None]] = deque()
        ended = False

        async def read(frames) -> None:  # type: ignore[no-untyped-def]
            nonlocal ended
            while (item := await self._next_frame(frames)) is not None:
                arrived.append(item)
                self._wake()
            ended = True
            self._wake()

        async def live() -> object:
            if arrived:
                return arrived.popleft()
            return None if ended else PENDING

        async with trio.open_nursery() as nursery:
            nursery.start_soon(read, self._frames())
            await self._pump_with(live)
            nursery.cancel_scope.cancel()

    async def _pump_with(self, take) -> None:  # type: ignore[no-untyped-def]
        """Run instants in market-time order: the next frame `take` gives (None: the feed
        ended; PENDING: none yet, a live feed) against the core's next timer."""
        driver, clock = self.driver, self.clock
        item = await take()
        probe = self.probe
        backlog = 0  # instants run back to back without yielding
        while True:
            if self._inbox:
                commands, self._inbox = self._inbox, []
                await self._run_steps(driver.execute(self._market_now(), commands))
                self._publish()
            if item is PENDING:
                item = await take()
            t_frame = item[0] if isinstance(item, tuple) else NEVER
            t_next = min(t_frame, driver.next_instant())
            self.next_due_ns = t_next
            if t_next >= NEVER:
                if item is not PENDING or self.core.mode is Mode.SETTLED:
                    return  # settled (a live feed may still be open: nothing left for it)
                if not self._poked:  # nothing due until the exchange sends a frame
                    await self._sleep_until(math.inf)
                self._poked = False
                continue
            due = clock.trio_time(t_next)
            if trio.current_time() < due:
                backlog = 0
                if self._poked:
                    await trio.lowlevel.checkpoint()  # as a wait that is over at once
                else:
                    await self._sleep_until(due)
                if self._poked:
                    self._poked = False
                    continue  # something from outside: run it first, then look again
            else:
                backlog += 1
                if backlog >= MAX_BACKLOG_RUN:
                    backlog = 0
                    await trio.lowlevel.checkpoint()  # a backlog must not starve the others
            if t_next >= self._lag_due:
                self._measure_lag(t_next)
            try:
                if isinstance(item, tuple) and t_frame == t_next:
                    if probe is not None:
                        # CPU time first, so reading it is not in the wall-clock span
                        self._frame_cpu_ns = time.thread_time_ns()
                        self._frame_arrival_ns = self._send_from_ns = time.perf_counter_ns()
                    frame, item = item[1], CONSUMED
                    await self._run_steps(driver.frame_steps(t_next, frame))
                    self._frame_arrival_ns = self._send_from_ns = 0
                else:
                    await self._run_steps(driver.steps(t_next))
            except Exception as exc:
                self._failures += 1
                await self._step_failed(t_next, exc)
                if self._failures > self.settings.risk.task_restarts:
                    # the core keeps failing: nothing it decides can be trusted, and its
                    # orders are cancelled on the way out; the window stays open in the
                    # journal for a person to look at
                    log.error(
                        "window %s stopped after %d failed steps",
                        self.slug,
                        self._failures,
                        extra={"event": "window_abandoned", "market": self.market_id},
                    )
                    return
            if item is CONSUMED:
                item = await take()
            self._publish()

    async def _step_failed(self, t_ns: int, exc: Exception) -> None:
        """A decision raised: its state is in doubt, so the window stops trading and its
        unhedged excess is flattened; the pump goes on, so it still settles."""
        self.events.task_failed(self.market_id, "window", exc)
        core = self.core
        try:
            commands = core.liquidate(t_ns, f"window step failed: {exc!r}")
        except Exception as again:
            self.events.task_failed(self.market_id, "window", again)
            commands = [CancelAll(reason="window step failed")]
        await self._run_steps(self.driver.execute(t_ns, commands))

    def _frames(self):  # type: ignore[no-untyped-def]
        return self.feed.frames()

    async def _next_frame(self, frames) -> tuple[int, bytes | None] | None:  # type: ignore[no-untyped-def]
        """The feed's next frame; a feed that fails is reported, retried, and after
        MAX_FEED_RESTARTS failures treated as ended (the window still settles)."""
        failures = 0
        while True:
            try:
                return await frames.__anext__()  # type: ignore[no-any-return]
            except StopAsyncIteration:
                return None
            except Exception as exc:
                failures += 1
                self.events.task_failed(self.market_id, "feed", exc)
                if failures > MAX_FEED_RESTARTS:
                    self.halt(f"feed failed {failures} times, last: {exc!r}")
                    return None

    async def _run_steps(self, steps: Steps) -> None:
        """Run an instant's work; before each call to the venue, journal what the core
        journaled so far (write-ahead), and hold room in the shared ledgers for a buy."""
        refusal: Refusal | None = None
        while True:
            try:
                command = steps.send(refusal)
            except StopIteration:
                break
            if self.journal is not None and self._journaled < len(self.core.journal):
                await self._flush()
            if self._unlogged:
                self._log_unlogged()
            refusal = None
            if not isinstance(command, Place):
                continue
            if self.journal_error:
                refusal = "not_journaled"  # fail closed: nothing is sent that was not written
            elif command.request.action == "buy" and self.portfolio.ledger is not None:
                try:
                    held = await self._hold_room(command.request)
                except StoreError as exc:
                    # the shared ledgers cannot be read: fail closed, as for a journal write
                    self.portfolio.fail(f"store unavailable: {exc}")
                    held = False
                if held:
                    self._cleared.add(command.request.client_id)
                else:
                    refusal = "capital_cap"
            if refusal is None and self._halted_since_decided(command):
                refusal = "halted"
        if self.journal is not None and self._journaled < len(self.core.journal):
            await self._flush()
        if self._unlogged:
            self._log_unlogged()

    def _log_unlogged(self) -> None:
        fills, self._unlogged = self._unlogged, []
        for fill in fills:
            self._log_fill(fill.client_id, fill.fill_id, fill.final, fill.venue_id)

    def _halted_since_decided(self, command: Place) -> bool:
        """A halt (this window's or the portfolio's, another engine's included) that took
        hold while this order waited on the journal or the ledgers: the decision predates
        it, so the order is not sent. A liquidation's orders are decided under the halt."""
        if not (self.portfolio.halt_reason or self.core.halt_reason):
            return False
        order = self.core.orders.get(command.request.client_id)
        return order is None or order.owner != "risk"

    def _intents_decided(self) -> None:
        if self._frame_arrival_ns:
            assert self.probe is not None
            self.probe.samples.append(time.perf_counter_ns() - self._frame_arrival_ns)
            self.probe.cpu_samples.append(time.thread_time_ns() - self._frame_cpu_ns)
            self._frame_arrival_ns = 0

    def _observe(self, t_ns: int, command: Command) -> None:
        """Every command as the driver executes it: events for the log and the view."""
        if isinstance(command, Place):
            request = command.request
            self._requests[request.client_id] = request
            if self._send_from_ns:
                assert self.probe is not None
                self.probe.sent.append(time.perf_counter_ns() - self._send_from_ns)
                self._send_from_ns = 0
        elif isinstance(command, Notice):
            self.events.risk_action(self.market_id, command.action, command.detail)
        elif isinstance(command, Settle):
            self._settled(command)
        elif isinstance(command, Halt | Cancel | CancelAll):
            pass

    def _report(self, t_ns: int, event: VenueEvent) -> None:
        """A venue event, for the log (the driver hands it to the core)."""
        if isinstance(event, _POSITION_EVENTS):  # first: the one a scan waits on
            if self.journal is None and isinstance(event, Filled):
                # logged when the instant's decisions are made (as a journaled fill is, once
                # written): the scan this fill wakes does not wait on the log line
                self._unlogged.append(event)
            # the caps' rooms count it before the next decision; the rest of a publish (the
            # mark on the books, the daily loss) waits for the instant's end, as a frame's
            # move of the mark does: the scan this fill wakes does not wait on it
            self.portfolio.hold(self.market_id, self.core.position)
            self._snapshot = None
        elif isinstance(event, _ORDER_ANSWERS):
            request = self._requests.get(event.client_id)
            if request is None:
                return
            if isinstance(event, Accepted):
                ack = OrderAck(order_id=event.venue_id, accepted=True, resting=event.resting)
            else:
                ack = OrderAck(
                    order_id=event.client_id,
                    accepted=False,
                    resting=False,
                    reason=event.detail or event.reason,
                    post_only_cross=event.reason == "post_only_cross",
                )
            self.events.order_placed(request, ack)
        elif isinstance(event, _ORDER_ENDS):
            order = self.core.orders.get(event.client_id)
            name = order.venue_id if order is not None and order.venue_id else event.client_id
            self.events.order_cancelled(self.market_id, name, event.reason)

    def _log_fill(self, client_id: str, fill_id: str, final: bool, venue_id: str) -> None:
        """A fill for the log: with a journal, only once it is durable there."""
        entry = next((f for f in reversed(self.core.fills) if f.fill_id == fill_id), None)
        if entry is None:
            return
        p = self.core.position
        fill = Fill(
            order_id=venue_id,
            client_id=client_id,
            market_id=self.market_id,
            outcome=entry.outcome,
            action=entry.side,  # type: ignore[arg-type]
            price=entry.price,
            size=entry.size,
            fee=entry.fee,
            maker=entry.maker,
            rule=entry.rule,
            confirmed=final,
            fill_id=fill_id,
        )
        self.events.fill(fill, p.delta, ratio_decimal(p.pair_cost_ratio, 4))

    def _settled(self, command: Settle) -> None:
        core = self.core
        if command.winner is not None:
            self.portfolio.record_settlement(self.end_ns, command.pnl or 0)
            p = core.position
            settle = getattr(self.venue, "payout", None)
            if settle is not None:
                settle(command.winner, p.qty_up, p.qty_down)
        self.events.window_settled(self.market_id, self.slug, command.winner, command.pnl or 0)

    def _publish(self, force: bool = False) -> None:
        core = self.core
        # what the portfolio reads (position, marked P&L) changes with a fill, a mode or a
        # halt; the books move the mark too, and those wait for PUBLISH_EVERY_NS
        mark = (core.orders.stats.fills, core.mode, core.halt_reason)
        if not force and mark == self._published and core.now_ns < self._publish_due:
            return  # nothing a reader counts has changed: the books' tops can wait
        self._published = mark
        self._publish_due = core.now_ns + PUBLISH_EVERY_NS
        # the portfolio's few numbers now; a full snapshot waits for a reader (`snapshot`)
        self._snapshot = None
        held = core.mark()
        self.portfolio.update(held)
        self.portfolio.check_daily_loss(held.t_ns)

    def behind_ns(self, at_ns: int | None = None) -> int:
        """Market ns of work that was due (by `at_ns`, else now) and is not done yet."""
        if self.next_due_ns >= NEVER or self.next_due_ns < self.core.resume_ns:
            return 0
        now = self.clock.now_ns() if at_ns is None else at_ns
        return max(0, now - self.next_due_ns)

    def _measure_lag(self, t_ns: int) -> None:
        if t_ns < self.core.resume_ns:
            return  # a restarted window replays its past on purpose
        self._lag_due = t_ns + LAG_EVERY_NS
        lag = self.clock.now_ns() - t_ns
        self.lag_ns = lag
        if lag > self.max_lag_ns:
            self.max_lag_ns = lag
        if lag > LAG_WARN_NS and not self._lag_warned:
            self._lag_warned = True
            log.warning(
                "window %s runs %.1f s of market time behind the market",
                self.slug,
                lag / NS,
                extra={"event": "lagging", "market": self.market_id, "lag_ns": lag},
            )
        elif lag <= LAG_WARN_NS // 2:
            self._lag_warned = False

    # ---- the journal -------------------------------------------------------------------

    async def _flush(self) -> None:
        """Write what the core journaled since the last flush. The first failure halts the
        window (fail closed): nothing more is sent, and nothing more is written."""
        journal = self.journal
        core = self.core
        if journal is None or self.journal_error:
            self._journaled = len(core.journal)
            return
        entries = core.journal
        while self._journaled < len(entries):
            entry = entries[self._journaled]
            try:
                with trio.CancelScope(shield=True):
                    await self._write(journal, entry)
            except Exception as exc:
                self.journal_error = f"journal write failed: {exc}"
                self._journaled = len(entries)
                self.portfolio.fail(self.journal_error)
                self._inbox.extend(core.halt(core.now_ns, self.journal_error))
                return
            self._journaled += 1

    async def _write(self, journal: EngineJournal, entry: JournalEntry) -> None:
        if isinstance(entry, OrderIntent):
            await journal.order_intent(self.slug, entry)
        elif isinstance(entry, OrderUpdate):
            await journal.order_update(entry)
        elif isinstance(entry, FillEntry):
            await journal.fill(self.slug, entry)
            self._log_fill(entry.client_id, entry.fill_id, entry.final, entry.venue_id)
        elif isinstance(entry, FillReversal):
            await journal.fill_reversed(self.slug, entry)
            log.warning(
                "fill %s reversed: %s",
                entry.fill_id,
                entry.detail,
                extra={"event": "fill_reversed", "fill_id": entry.fill_id},
            )
        elif isinstance(entry, WindowEnd) and entry.winner is not None:
            await journal.window_settled(self.slug, entry.winner)
        elif isinstance(entry, WindowOpenEntry):
            await journal.window_open(self.slug, entry)
        elif isinstance(entry, ResolutionEntry):
            await journal.resolution(self.slug, entry)

    async def _hold_room(self, request: OrderRequest) -> bool:
        """Hold room for a buy in the shared ledgers first (capital, then unhedged)."""
        portfolio = self.portfolio
        capital, unhedged = portfolio.ledger, portfolio.unhedged_ledger
        if capital is None or unhedged is None:
            return True
        core, cid = self.core, request.client_id
        cost = worst_buy_cost(core.fees, request, request.size)
        return await hold_all(
            [
                (capital, lambda: portfolio.committed() + cost),
                (
                    unhedged,
                    lambda: (
                        portfolio.exposure()
                        - self.exposure()
                        + core.exposure(exclude=self._unheld() - {cid})
                    ),
                ),
            ]
        )

    async def _trim_ledgers(self) -> None:
        portfolio = self.portfolio
        if portfolio.ledger is not None and portfolio.unhedged_ledger is not None:
            await portfolio.ledger.trim(portfolio.committed)
            await portfolio.unhedged_ledger.trim(portfolio.exposure)


__all__ = ["LatencyProbe", "Mode", "Window"]
