"""The supervisor: one loop per asset opening windows (and the next before the current
ends), the control task, and a clean stop that leaves no order resting.

Tree: `Engine.run` -> nursery{control, store watch, asset loops, window runs} -> each
window's nursery.

With a store, `run` first recovers (see `gabagool.engine.recovery`): the venue is asked what
still rests of the crashed run's orders (`Exchange.reconcile`), and the journal's orders it
does not report are marked cancelled (the paper venue lost them with the process), the halt
flag and the day's realised PnL are restored, windows that ended are settled, and the others
reopen with their journaled positions. The halt flag is then watched in the store, so a halt
written by another engine sharing it stops this one too.
"""

from __future__ import annotations

import logging

import trio

from gabagool.config import Settings, micros, picos
from gabagool.engine.capital import CapitalLedger
from gabagool.engine.clock import MarketClock, wall_seconds
from gabagool.engine.control import Control
from gabagool.engine.core.snapshot import WindowSnapshot
from gabagool.engine.events import EngineEvents
from gabagool.engine.journal import EngineJournal
from gabagool.engine.portfolio import Portfolio
from gabagool.engine.recovery import Recovery, load_recovery, reconcile_orders
from gabagool.engine.window import LatencyProbe, Window
from gabagool.store import (
    EngineLock,
    FillRecord,
    HaltState,
    Store,
    StoreError,
    StoreOutage,
    WindowRecord,
)
from gabagool.types import NS, OUTCOMES, WINDOW_SECONDS
from gabagool.venues.base import Exchange, MarketData, Outcome

log = logging.getLogger("gabagool.engine")

DRAIN_LIMIT_S = 120.0  # Trio seconds a stop by duration waits for windows to catch up
DRAIN_POLL_S = 0.01
MAX_OPEN_BACKOFF = 60.0  # seconds between attempts to open a window
HALT_POLL_S = 0.2  # real seconds between reads of the shared halt flag and capital ledger
CAPITAL_LEDGER = "capital"  # pico-dollars at cost
UNHEDGED_LEDGER = "unhedged"  # micro-shares of |delta|
RESTART_REASON = "engine restart: the venue does not hold it"
RESTING_REASON = "engine restart: the venue holds it"


class WindowNotReady(Exception):
    """The source will serve this window but cannot yet (live: Gamma has not listed it):
    the asset loop tries again with backoff, without a traceback."""


class Engine:
    def __init__(
        self,
        settings: Settings,
        *,
        exchange: Exchange,
        market_data: MarketData,
        events: EngineEvents,
        first_start: int,  # unix seconds: the market time the engine starts at
        control: Control | None = None,
        probe: LatencyProbe | None = None,
        store: Store | None = None,
        market_clock: MarketClock | None = None,
        lock: EngineLock | None = None,
    ) -> None:
        self.settings = settings
        # live data stamps frames with its own clock: the engine reads the same one
        self._market_clock = market_clock
        self.lock = lock  # the journal's engine lock, watched for a lost Redis lease
        self.exchange = exchange
        self.market_data = market_data
        self.events = events
        self.first_start = first_start
        self.control = control or Control()
        self.probe = probe
        risk = settings.risk
        self.portfolio = Portfolio(
            max_capital=picos(risk.max_capital, "risk.max_capital"),
            max_unhedged=micros(risk.max_unhedged, "risk.max_unhedged"),
            daily_loss_limit=picos(risk.daily_loss_limit, "risk.daily_loss_limit"),
            events=events,
        )
        self.windows: list[Window] = []  # every window opened, in order
        self.behind_ns = 0  # market time due and not processed when the run stopped
        self._stop_ns: int | None = None  # the market time a stop by duration came at
        self.clock: MarketClock | None = None
        self.stopped_by = ""
        self._scope: trio.CancelScope | None = None
        self.store = store
        self.journal: EngineJournal | None = None
        self.recovery: Recovery | None = None
        self.resumed: dict[str, list[FillRecord]] = {}  # window id -> its journaled fills
        self._manual_halt = False  # the portfolio's halt is the persisted flag's
        # a read of the flag overlapping a write of ours could see the old value
        self._halt_lock = trio.Lock()
        if store is not None:
            holder = settings.engine_id()
            recount = self.portfolio.recount  # the caps' rooms count what others hold
            self.portfolio.ledger = CapitalLedger(
                store,
                holder=holder,
                cap=self.portfolio.max_capital,
                ledger=CAPITAL_LEDGER,
                on_refresh=recount,
            )
            self.portfolio.unhedged_ledger = CapitalLedger(
                store,
                holder=holder,
                cap=self.portfolio.max_unhedged,
                ledger=UNHEDGED_LEDGER,
                on_refresh=recount,
            )

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Trade until `stop`, the duration, or cancellation; returns after all is cancelled."""
        start_ns = self.first_start * NS
        if self.store is not None:
            self.recovery = await load_recovery(self.store, self.settings.engine.assets)
            start_ns = max(start_ns, self.recovery.resume_ns)
        self.clock = self._market_clock or MarketClock.starting_now(start_ns)
        if self.store is not None:
            self.journal = EngineJournal(
                self.store, engine_id=self.settings.engine_id(), now_ns=self.clock.now_ns
            )
            await self._recover()
        duration = self.settings.engine.duration
        with trio.CancelScope() as self._scope:
            if self.stopped_by:
                self._scope.cancel()  # asked to stop while starting
            async with trio.open_nursery() as nursery:
                if duration is not None:
                    nursery.start_soon(self._stop_after, float(duration))
                nursery.start_soon(self._serve_control)
                if self.store is not None:
                    nursery.start_soon(self._watch_store)
                for asset in self.settings.engine.assets:
                    nursery.start_soon(self._asset_loop, asset, nursery)
                task_status.started()
        if not self.stopped_by:
            self.stopped_by = "cancelled"
        self.behind_ns = max(
            (w.behind_ns(self._stop_ns) for w in self.windows if not w.ended), default=0
        )

    async def _stop_after(self, duration: float) -> None:
        """Stop once the market time `duration` is reached and every window has done the
        work due by then (a window behind the clock catches up first, within DRAIN_LIMIT
        of Trio time; what it has not done by then counts as fallen behind)."""
        await trio.sleep(duration)
        clock = self.clock
        assert clock is not None
        self._stop_ns = stop_ns = clock.now_ns()
        with trio.move_on_after(DRAIN_LIMIT_S):
            while any(w.next_due_ns <= stop_ns for w in self.open_windows()):
                await trio.sleep(DRAIN_POLL_S)
        self.stop("duration")

    @property
    def failure(self) -> str:
        """Why this run could not do its job ("" if it could): a journal that failed, or a
        run that fell behind the market."""
        if self.portfolio.failure:
            return self.portfolio.failure
        if self.behind_ns > int(self.settings.risk.stale_after * NS):
            return (
                f"fell behind the market: {self.behind_ns / NS:.1f} s of market time were "
                "due and not traded when the run stopped"
            )
        return ""

    def stop(self, reason: str) -> None:
        if not self.stopped_by:
            self.stopped_by = reason
            if self._scope is not None:
                self._scope.cancel()

    def open_windows(self) -> list[Window]:
        return [w for w in self.windows if w.market_id in self.portfolio.windows]

    def results(self) -> list[WindowSnapshot]:
        """The last snapshot of every window opened, in order."""
        return [w.snapshot() for w in self.windows]

    # ---- recovery and the shared store -----------------------------------------------

    async def _recover(self) -> None:
        store, journal, recovery, clock = self.store, self.journal, self.recovery, self.clock
        assert store is not None and journal is not None and recovery is not None
        assert clock is not None
        now_ns = clock.now_ns()
        cancelled = 0
        for window in recovery.open_windows:
            resting = await store.resting_orders(window.window_id)
            if not resting:
                continue
            venue = reconcile_orders(resting, await self.exchange.reconcile(window.market_id))
            for order in venue.gone:
                await store.update_order(order.order_id, "cancelled", now_ns, RESTART_REASON)
                cancelled += 1
            for order, report in venue.resting:
                if report.venue_id and not order.venue_id:  # an ack the crash lost
                    await store.update_order(
                        order.order_id, "open", now_ns, RESTING_REASON, venue_id=report.venue_id
                    )
        if recovery.halt.halted:
            self._adopt_halt(recovery.halt)
        for window in recovery.settled_windows:
            self.portfolio.record_settlement(window.end_s * NS, window.pnl_pico or 0)
        settled = 0
        for window in recovery.open_windows:
            if window.end_s * NS > now_ns:
                self.resumed[window.window_id] = recovery.fills[window.window_id]
                continue
            winner = self._winner_of(window)
            if winner is None:
                log.warning(
                    "window %s ended while the engine was down; its winner is unknown: left open",
                    window.window_id,
                    extra={"event": "recovery_unsettled", "window": window.window_id},
                )
                continue
            record = await journal.window_settled(window.window_id, winner)
            self.portfolio.record_settlement(window.end_s * NS, record.pnl_pico or 0)
            settled += 1
        for ledger in self._ledgers():
            await ledger.load()
        log.info(
            "recovered: %d resting order(s) cancelled, %d window(s) resumed, %d settled, "
            "halt %s, resuming at market time %d",
            cancelled,
            len(self.resumed),
            settled,
            recovery.halt.halted,
            now_ns,
            extra={
                "event": "recovered",
                "cancelled": cancelled,
                "resumed": sorted(self.resumed),
                "settled": settled,
                "halted": recovery.halt.halted,
                "resume_ns": now_ns,
            },
        )

    def _winner_of(self, window: WindowRecord) -> Outcome | None:
        try:
            feed = self.market_data.window(window.asset, window.start_s)
        except LookupError:
            return None
        if feed.header.condition_id != window.market_id:
            return None  # another market of that name (a replay's, the simulator's)
        winner = feed.fallback_outcome()
        return winner if winner in OUTCOMES else None

    def _adopt_halt(self, state: HaltState) -> None:
        self._manual_halt = True
        by = f" by {state.set_by}" if state.set_by else ""
        self.portfolio.halt(f"{state.reason or 'halted'} (journaled{by})")

    async def _watch_store(self) -> None:
        """Follow the shared halt flag and the capital other engines hold (HALT_POLL_S of real
        time apart: Trio's clock runs `speed` times faster).

        A store that stops answering fails the run closed: trading halts at once (its fills
        could not be journaled, the shared halt flag and caps cannot be read), one warning
        says why, and the watch retries with growing delays; the run ends non-zero. A lost
        Redis lease (another engine may have this id now) does the same."""
        store = self.store
        assert store is not None
        pace = float(self.settings.engine.speed)
        interval = HALT_POLL_S * pace
        outage = StoreOutage(log, "store watch")
        while True:
            if self.lock is not None and self.lock.lost:
                await self._fail_closed(
                    "the journal's engine lease was lost: another engine may hold this "
                    "engine id now"
                )
            try:
                await self._poll_store(store)
            except StoreError as exc:
                delay = outage.failed(exc)
                await self._fail_closed(f"store unavailable: {exc}")
                await trio.sleep(delay * pace)
                continue
            outage.recovered()
            await trio.sleep(interval)

    async def _fail_closed(self, reason: str) -> None:
        if self.portfolio.failure:
            return  # halted already; the first reason stands
        self.portfolio.fail(reason)
        await self._each_window(lambda w: w.cancel_all("halt"))

    async def _poll_store(self, store: Store) -> None:
        async with self._halt_lock:
            state: HaltState | None = await store.get_halt()
            assert state is not None
            if state.halted and not self.portfolio.halted:
                self._adopt_halt(state)
            elif not state.halted and self.portfolio.halted and self._manual_halt:
                self._manual_halt = False
                self._resume_all()
            else:
                state = None
        if state is not None and state.halted:
            await self._each_window(lambda w: w.cancel_all("halt"))
        # what was held for orders since gone or pairs since completed goes back (not
        # while a window opens: its journaled position is not counted yet)
        if all(w.counted for w in self.windows):
            await self._ledgers()[0].trim(self.portfolio.committed)
            await self._ledgers()[1].trim(self.portfolio.exposure)
        for ledger in self._ledgers():
            await ledger.refresh()

    def _ledgers(self) -> tuple[CapitalLedger, CapitalLedger]:
        capital, unhedged = self.portfolio.ledger, self.portfolio.unhedged_ledger
        assert capital is not None and unhedged is not None
        return capital, unhedged

    def _resume_all(self) -> None:
        self.portfolio.resume()
        for window in self.open_windows():
            window.resume()

    # ---- windows ---------------------------------------------------------------------

    async def _asset_loop(self, asset: str, nursery: trio.Nursery) -> None:
        """Open each window of `asset` in turn, the next `rollover_lead` before the current
        ends; a window that cannot be opened is retried with backoff until it is over."""
        clock = self.clock
        assert clock is not None
        start = self.first_start
        behind = clock.now_ns() // NS - start
        if behind >= WINDOW_SECONDS:  # resumed later in market time: the window of now
            start += behind // WINDOW_SECONDS * WINDOW_SECONDS
        lead = int(float(self.settings.engine.rollover_lead) * NS)
        failures = 0
        while True:
            try:
                window = self._open(asset, start)
            except LookupError as exc:
                # the source holds no such window and never will (a recording's end)
                log.info(
                    "no more %s windows: %s",
                    asset,
                    exc,
                    extra={"event": "no_window", "asset": asset, "start": start},
                )
                return
            except Exception as exc:
                failures += 1
                if not isinstance(exc, WindowNotReady):
                    self.events.task_failed(f"{asset}-{start}", "open_window", exc)
                elif failures == 1:
                    log.info(
                        "%s window %d not served yet (%s): trying again",
                        asset,
                        start,
                        exc,
                        extra={"event": "window_not_ready", "asset": asset, "start": start},
                    )
                backoff = min(
                    MAX_OPEN_BACKOFF,
                    float(self.settings.risk.restart_backoff) * 2 ** (failures - 1),
                )
                await trio.sleep(backoff)
                if clock.now_ns() >= (start + WINDOW_SECONDS) * NS - lead:
                    start += WINDOW_SECONDS  # too late for that one: on to the next
                continue
            failures = 0
            self.windows.append(window)
            nursery.start_soon(self._run_window, window, name=f"{window.slug}")
            end = window.header.end
            await clock.sleep_until(end * NS - lead)
            start = end

    def _open(self, asset: str, start: int) -> Window:
        assert self.clock is not None
        window = Window(
            feed=self.market_data.window(asset, start),
            exchange=self.exchange,
            settings=self.settings,
            portfolio=self.portfolio,
            events=self.events,
            clock=self.clock,
            probe=self.probe,
            journal=self.journal,
        )
        fills = self.resumed.get(window.slug)
        if fills is not None and self.recovery is not None:
            journaled = next(w for w in self.recovery.open_windows if w.window_id == window.slug)
            if journaled.market_id != window.market_id:
                # kept in `resumed`: every retry refuses it again until the window is over
                raise ValueError(
                    f"window {window.slug}: the journal holds market {journaled.market_id}, "
                    f"the feed {window.market_id}; refusing to trade it on another's position"
                )
            window.restore(fills, self.recovery.resume_ns)
            del self.resumed[window.slug]
        return window

    async def _run_window(self, window: Window) -> None:
        try:
            await window.run()
        except StoreError as exc:
            # its last writes on the way out (the store died under it): the run fails closed,
            # and the store watch has said why already
            self.portfolio.fail(f"store unavailable: {exc}")
            log.warning(
                "window %s: closed without its last journal writes: %s",
                window.slug,
                exc,
                extra={"event": "window_unjournaled", "market": window.market_id},
            )
        except Exception as exc:
            # the window's own tasks are supervised; this is its bookkeeping failing
            self.events.task_failed(window.market_id, "window", exc)

    async def _serve_control(self) -> None:
        async for command in self.control.receive:
            log.info("control: %s", command, extra={"event": "control", "command": command})
            if command == "halt":
                async with self._halt_lock:
                    self.portfolio.halt("manual halt")
                    await self._persist_halt(True, "manual halt")
                await self._each_window(lambda w: w.cancel_all("halt"))
            elif command == "resume":
                async with self._halt_lock:
                    await self._persist_halt(False, "resumed")
                    self._resume_all()
            elif command == "panic":
                async with self._halt_lock:
                    self.portfolio.halt("panic")
                    await self._persist_halt(True, "panic")
                await self._each_window(lambda w: w.liquidate("panic"))
            elif command == "stop":
                self.stop("stop")

    async def _persist_halt(self, halted: bool, reason: str) -> None:
        if self.journal is not None:
            self._manual_halt = halted
            await self.journal.set_halt(halted, reason)

    async def _each_window(self, action) -> None:  # type: ignore[no-untyped-def]
        for window in self.open_windows():
            with trio.move_on_after(wall_seconds(10)):
                await action(window)
