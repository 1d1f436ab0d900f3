"""The supervisor: one loop per asset opening windows (and the next before the current
ends), the control task, and a clean stop that leaves no order resting.

Tree: `Engine.run` -> nursery{control, asset loops, window runs} -> each window's nursery.
"""

from __future__ import annotations

import logging

import trio

from gabagool.config import Settings, micros, picos
from gabagool.engine.clock import NS, MarketClock
from gabagool.engine.control import Control
from gabagool.engine.events import EngineEvents
from gabagool.engine.portfolio import Portfolio
from gabagool.engine.window import LatencyProbe, Window
from gabagool.venues.base import Exchange, MarketData

log = logging.getLogger("gabagool.engine")

WINDOW_SECONDS = 900
MAX_OPEN_BACKOFF = 60.0  # seconds between attempts to open a window


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
    ) -> None:
        self.settings = settings
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
        self.clock: MarketClock | None = None
        self.stopped_by = ""
        self._scope: trio.CancelScope | None = None

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Trade until `stop`, the duration, or cancellation; returns after all is cancelled."""
        self.clock = MarketClock.starting_now(self.first_start * NS)
        duration = self.settings.engine.duration
        with trio.CancelScope() as self._scope:
            if duration is not None:
                self._scope.deadline = trio.current_time() + float(duration)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._serve_control)
                for asset in self.settings.engine.assets:
                    nursery.start_soon(self._asset_loop, asset, nursery)
                task_status.started()
        if not self.stopped_by:
            self.stopped_by = "duration" if duration is not None else "cancelled"

    def stop(self, reason: str) -> None:
        if self._scope is not None and not self.stopped_by:
            self.stopped_by = reason
            self._scope.cancel()

    def open_windows(self) -> list[Window]:
        return list(self.portfolio.windows.values())

    async def _asset_loop(self, asset: str, nursery: trio.Nursery) -> None:
        """Open each window of `asset` in turn, the next `rollover_lead` before the current
        ends; a window that cannot be opened is retried with backoff until it is over."""
        clock = self.clock
        assert clock is not None
        start = self.first_start
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
                self.events.task_failed(f"{asset}-{start}", "open_window", exc)
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
        return Window(
            feed=self.market_data.window(asset, start),
            exchange=self.exchange,
            settings=self.settings,
            portfolio=self.portfolio,
            events=self.events,
            clock=self.clock,
            probe=self.probe,
        )

    async def _run_window(self, window: Window) -> None:
        try:
            await window.run()
        except Exception as exc:
            # the window's own tasks are supervised; this is its bookkeeping failing
            self.events.task_failed(window.market_id, "window", exc)

    async def _serve_control(self) -> None:
        async for command in self.control.receive:
            log.info("control: %s", command, extra={"event": "control", "command": command})
            if command == "halt":
                self.portfolio.halt("manual halt")
                await self._each_window(lambda w: w.orders.cancel_all("halt"))
            elif command == "resume":
                self.portfolio.resume()
                for window in self.open_windows():
                    window.resume()
            elif command == "panic":
                self.portfolio.halt("panic")
                await self._each_window(lambda w: w.liquidate("panic"))
            elif command == "stop":
                self.stop("stop")

    async def _each_window(self, action) -> None:  # type: ignore[no-untyped-def]
        for window in self.open_windows():
            with trio.move_on_after(10):
                await action(window)
