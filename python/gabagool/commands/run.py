"""`gabagool run`: the engine on the paper exchange and the simulated feed, with a live view."""

from __future__ import annotations

import argparse
import functools
import logging
import signal
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
import trio
import trio.testing
from rich.console import Console

from gabagool.cli import CommandFailed, UsageError
from gabagool.commands.run_args import check_run_args
from gabagool.config import Settings
from gabagool.engine.clock import MarketClock
from gabagool.engine.events import EngineEvents, EventFanout, LogEvents
from gabagool.engine.summary import Summary, summarize, write_summary_json
from gabagool.engine.supervisor import Engine
from gabagool.logs import setup_logging
from gabagool.recording import RecordingError
from gabagool.store import (
    EngineLock,
    JournalBusy,
    StoreError,
    ThreadedStore,
    describe_location,
    hold_engine_lock,
    open_store,
)
from gabagool.types import WINDOW_SECONDS
from gabagool.venues.base import MarketData
from gabagool.venues.paper import PaperExchange
from gabagool.venues.sim_feed import ReplayError, ReplayMarketData, SimMarketData

if TYPE_CHECKING:
    from gabagool.engine.live_wiring import ResyncRelay

log = logging.getLogger("gabagool.engine")
LAG_SLOWDOWN_NS = 1_000_000_000
VIEW_REFRESH_SECONDS = 0.5  # real seconds between redraws


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "run",
        help="trade (default: paper venue on the simulated feed)",
        description="Run the engine. Without arguments: the paper venue on simulated BTC and "
        "ETH windows at real-time pace, with a live view; Ctrl-C cancels every order and "
        "prints a summary. Every order, fill and window is journaled in the store, and a "
        "restart resumes from it. SIGUSR1 halts trading, SIGUSR2 resumes it.",
    )
    parser.add_argument("--config", metavar="FILE", help="TOML settings file")
    parser.add_argument("--assets", metavar="LIST", help="comma-separated, e.g. btc,eth")
    parser.add_argument("--venue", choices=("paper", "live"))
    parser.add_argument("--feed", metavar="SOURCE", help="sim | live | replay:FILE")
    parser.add_argument("--speed", metavar="X", help="market seconds per real second (sim)")
    parser.add_argument("--duration", metavar="SECONDS", help="stop after this market time")
    parser.add_argument("--summary-json", metavar="PATH", help="write per-window results")
    parser.add_argument("--data-dir", metavar="DIR", help="logs and state")
    parser.add_argument(
        "--store",
        metavar="URL",
        help="the durable journal: redis://[:password@]host:port/db (rediss:// for TLS), "
        "sqlite:///path or a file path (default: journal.sqlite3 in the data dir)",
    )
    parser.add_argument("--seed", metavar="N", help="simulator seed")
    parser.add_argument(
        "--start", metavar="UNIX", type=int, help="first window start (default: the current one)"
    )
    parser.add_argument("--no-view", action="store_true", help="logs only, no live view")
    parser.set_defaults(handler=run)


class Signals:
    """The process's signal handlers, installed before any start-up work: SIGINT, SIGTERM and
    SIGHUP stop the engine (every order cancelled, the summary printed and written), SIGHUP
    unless it came ignored (`nohup`: the engine outlives the terminal, as asked);
    SIGUSR1 / SIGUSR2 halt and resume it. A signal that comes before the engine runs is kept
    and acted on when it starts. More stop signals while it stops are counted, never
    honoured before the summary is out (`run` then exits 130)."""

    STOP = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self) -> None:
        self.stops: list[str] = []
        self.commands: list[str] = []  # control commands not yet handed to the engine
        self._engine: Engine | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._previous: dict[int, object] = {}

    def install(self) -> None:
        for signum in (*self.STOP, *CONTROL_SIGNALS):
            if signum == signal.SIGHUP and signal.getsignal(signum) == signal.SIG_IGN:
                continue
            self._previous[signum] = signal.signal(signum, self._handle)

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
        self._previous.clear()

    def attach(self, engine: Engine) -> None:
        """From inside Trio: from now on signals reach `engine`; pending ones go now."""
        self._engine = engine
        self._token = trio.lowlevel.current_trio_token()
        if self.stops:
            engine.stop(self.stops[0])
        for command in self.commands:
            engine.control.send_nowait(command)
        self.commands.clear()

    def detach(self) -> None:
        self._engine = None
        self._token = None

    def _handle(self, signum: int, _frame: object) -> None:
        name = signal.Signals(signum).name
        command = CONTROL_SIGNALS.get(signal.Signals(signum))
        engine, token = self._engine, self._token
        if command is None:
            self.stops.append(name)
            if len(self.stops) > 1 or engine is None or token is None:
                return  # already stopping (or not started): the summary comes first
            self._soon(token, engine.stop, name)
        elif engine is None or token is None:
            self.commands.append(command)
        else:
            self._soon(token, engine.control.send_nowait, command)

    @staticmethod
    def _soon(token: trio.lowlevel.TrioToken, fn, arg: str) -> None:  # type: ignore[no-untyped-def]
        try:
            token.run_sync_soon(fn, arg)
        except trio.RunFinishedError:
            pass


def run(args: argparse.Namespace) -> int:
    signals = Signals()
    signals.install()
    try:
        return _run(args, signals)
    finally:
        signals.restore()


def _run(args: argparse.Namespace, signals: Signals) -> int:
    settings = check_run_args(args)  # every flag and setting, before anything starts
    engine_settings = settings.engine
    if args.start is not None and args.start % WINDOW_SECONDS:
        raise UsageError(f"--start {args.start} is not a multiple of {WINDOW_SECONDS}")
    market_data: MarketData
    if engine_settings.feed.startswith("replay:"):
        market_data, settings, start = _replay(settings, args.assets, args.start)
        engine_settings = settings.engine
    elif engine_settings.feed == "live":
        market_data = _live(settings)
        start = 0  # the window of now, once the exchange's clock is read
    else:
        # the wall clock only names the first window; every decision runs on Trio's clock
        start = args.start if args.start is not None else int(time.time()) // 900 * 900
        # from `start`, so a restarted engine's windows open at the prices the first run saw
        market_data = SimMarketData(engine_settings.seed, origin=start)
    console = Console(stderr=False)
    view = engine_settings.view and console.is_terminal
    handler = None
    if view:
        from rich.logging import RichHandler

        handler = RichHandler(console=console, show_path=False)
    logs = setup_logging(
        engine_settings.data_dir, console_level=engine_settings.log_level, console_handler=handler
    )
    try:
        speed = float(engine_settings.speed)
        # faster than real time: Trio's clock runs `speed` times the wall clock
        clock = None if speed == 1 else trio.testing.MockClock(rate=speed)
        try:
            summary = trio.run(
                _main, settings, market_data, start, view, console, speed, signals, clock=clock
            )
        except JournalBusy as exc:
            raise CommandFailed(str(exc)) from None  # it names the engine holding it
        except StoreError as exc:
            where = describe_location(settings.store.url, engine_settings.data_dir)
            # the store's own messages already hide a Redis password
            raise UsageError(f"store {where}: {exc}") from None
        _report(summary, settings, console, logs.path)
    finally:
        logs.close()
    if summary.failure:
        print(f"gabagool run: {summary.failure}", file=sys.stderr)
        return 3
    if len(signals.stops) > 1:
        return 130  # asked twice: the summary is out, and the process ends as interrupted
    return 0


def _replay(
    settings: Settings, assets_flag: str | None, start_flag: int | None
) -> tuple[ReplayMarketData, Settings, int]:
    """The recording's windows; its assets unless named, and until its end unless told."""
    path = settings.engine.feed.removeprefix("replay:")
    try:
        data = ReplayMarketData(path)
    except (RecordingError, ReplayError) as exc:
        raise UsageError(str(exc)) from None
    engine = settings.engine
    assets = engine.assets if assets_flag else data.assets
    missing = sorted(set(assets) - set(data.assets))
    if missing:
        raise UsageError(f"{path} holds no {', '.join(missing)} window (it has {data.assets})")
    start = start_flag if start_flag is not None else data.first_start
    duration = engine.duration
    if duration is None:
        duration = Decimal(data.last_end - start) + engine.resolution_wait + 1
    engine = msgspec.structs.replace(engine, assets=assets, duration=duration)
    return data, msgspec.structs.replace(settings, engine=engine), start


def _live(settings: Settings) -> MarketData:
    from gabagool.venues.polymarket.live_feed import LiveMarketData

    engine = settings.engine
    return LiveMarketData(
        settings.polymarket,
        list(engine.assets),
        seed=engine.seed,
        resolution_wait=float(engine.resolution_wait),
    )


async def _main(
    settings: Settings,
    market_data: MarketData,
    start: int,
    view: bool,
    console: Console,
    speed: float,
    signals: Signals,
    on_engine: Callable[[Engine], None] | None = None,
) -> Summary:
    """The engine with the journal's lock held (one engine per id and asset on a journal,
    and no `state clear` under it), the journal open, and the market data started."""
    exchange = PaperExchange(latency=settings.paper.latency_ms / 1000)
    engine = settings.engine
    # the journal first: on a fresh Redis the lease key would otherwise be the only
    # gabagool key there, which the journal refuses as not its own
    store = await open_store(settings.store.url, data_dir=engine.data_dir)
    async with (
        store,
        hold_engine_lock(
            settings.store.url,
            data_dir=engine.data_dir,
            engine_id=settings.engine_id(),
            assets=engine.assets,
        ) as lock,
    ):
        trade = functools.partial(
            _trade,
            settings,
            view=view,
            console=console,
            speed=speed,
            exchange=exchange,
            store=store,
            signals=signals,
            lock=lock,
            on_engine=on_engine,
        )
        if engine.feed != "live":
            return await trade(market_data, start)
        from gabagool.engine.live_wiring import live_market
        from gabagool.venues.polymarket.live_feed import LiveMarketData

        assert isinstance(market_data, LiveMarketData)
        async with live_market(market_data, settings) as live:
            log.info(
                "live market data from %s: windows of %s discovered",
                settings.polymarket.gamma_url,
                ", ".join(engine.assets),
                extra={"event": "live_feed", "first_start": live.first_start},
            )
            return await trade(
                live.market_data, live.first_start, market_clock=live.clock, relay=live.relay
            )


async def _trade(
    settings: Settings,
    market_data: MarketData,
    start: int,
    *,
    view: bool,
    console: Console,
    speed: float,
    exchange: PaperExchange,
    store: ThreadedStore,
    signals: Signals,
    lock: EngineLock | None = None,
    market_clock: MarketClock | None = None,
    relay: ResyncRelay | None = None,
    on_engine: Callable[[Engine], None] | None = None,  # tests look inside
) -> Summary:
    log.info(
        "journal: %s (%s)",
        describe_location(settings.store.url, settings.engine.data_dir),
        store.backend,
        extra={"event": "store", "backend": store.backend},
    )
    sinks: list[EngineEvents] = [LogEvents()]
    if relay is not None:
        sinks.append(relay)
    engine = Engine(
        settings,
        exchange=exchange,
        market_data=market_data,
        events=EventFanout(sinks),
        first_start=start,
        store=store,
        market_clock=market_clock,
        lock=lock,
    )
    if relay is not None:
        relay.windows = engine.open_windows
    if on_engine is not None:
        on_engine(engine)
    signals.attach(engine)
    try:
        async with trio.open_nursery() as nursery:
            if view:
                from gabagool.engine.view import run_view

                nursery.start_soon(
                    lambda: run_view(engine, console, refresh_seconds=VIEW_REFRESH_SECONDS * speed)
                )
            nursery.start_soon(_keep_pace, engine, speed)
            await engine.run()
            nursery.cancel_scope.cancel()
        # the windows cancelled their own orders on the way out; this is the last word
        with trio.move_on_after(5 * speed):
            await exchange.cancel_all()
    finally:
        signals.detach()
    return summarize(engine.results(), failure=engine.failure)


# SIGUSR1 / SIGUSR2: halt / resume from outside the process; with a shared store the halt
# flag is written there, so every engine on it follows
CONTROL_SIGNALS = {signal.SIGUSR1: "halt", signal.SIGUSR2: "resume"}
PACE_CHECK_SECONDS = 0.05  # real seconds between looks at how far behind the engine runs
CALM_LOOKS = 10  # looks without lag before the pace is raised again


async def _keep_pace(engine: Engine, speed: float) -> None:
    """Faster than real time, the engine may not keep up with the market it simulates: when
    a window's lag behind the market grows at two looks in a row, halve the pace (never
    below real time) and say so; once it has kept up for a while, double it again, up to
    `--speed`. Decisions use each frame's own market time, so the pace changes nothing but
    the wall time the run takes."""
    clock = trio.lowlevel.current_clock()
    if not isinstance(clock, trio.testing.MockClock) or clock.rate <= 0:
        return  # real time, or a test's clock that only jumps: no pace to keep
    before = 0
    grew = False  # at the look before: one growth may be a start-up or a burst, two a trend
    calm = 0  # looks in a row without a lag worth the name
    while True:
        await trio.sleep(PACE_CHECK_SECONDS * clock.rate)
        lag = max((w.lag_ns for w in engine.open_windows()), default=0)
        growing = lag - before > LAG_SLOWDOWN_NS
        calm = calm + 1 if lag < LAG_SLOWDOWN_NS else 0
        if growing and grew and clock.rate > 1:
            slower = max(1.0, clock.rate / 2)
            log.warning(
                "--speed %g is more than this machine keeps up with (%.1f s of market time "
                "behind, and growing): slowing to %gx",
                speed,
                lag / 1e9,
                slower,
                extra={"event": "slow_down", "lag_ns": lag, "rate": slower},
            )
            clock.rate = slower
            growing = False
        elif calm >= CALM_LOOKS and clock.rate < speed:
            clock.rate = min(speed, clock.rate * 2)
            calm = 0
            log.debug(
                "keeping up again: pace %gx", clock.rate, extra={"event": "speed_up"}
            )
        before, grew = lag, growing


def _report(summary: Summary, settings: Settings, console: Console, log_path: Path) -> None:
    from gabagool.engine.view import summary_table

    console.print(summary_table(summary))
    if summary.failure:
        console.print(f"not the market's results: {summary.failure}")
    console.print(f"log: {log_path}")
    path = settings.engine.summary_json
    if path:
        write_summary_json(path, summary)
        console.print(f"summary: {path}")
    sys.stdout.flush()
