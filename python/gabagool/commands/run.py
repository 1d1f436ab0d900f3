"""`gabagool run`: the engine on the paper exchange and the simulated feed, with a live view."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from decimal import Decimal
from pathlib import Path

import msgspec
import trio
import trio.testing
from rich.console import Console

from gabagool.cli import UsageError
from gabagool.commands.run_args import check_run_args
from gabagool.config import ConfigError, Settings, load_settings
from gabagool.engine.events import EventFanout, LogEvents
from gabagool.engine.summary import Summary, summarize, write_summary_json
from gabagool.engine.supervisor import Engine
from gabagool.logs import setup_logging
from gabagool.recording import RecordingError
from gabagool.store import StoreError, ThreadedStore, describe_location, open_store
from gabagool.venues.base import MarketData
from gabagool.venues.paper import PaperExchange
from gabagool.venues.sim_feed import ReplayError, ReplayMarketData, SimMarketData

WINDOW_SECONDS = 900
log = logging.getLogger("gabagool.engine")
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


def run(args: argparse.Namespace) -> int:
    check_run_args(args)  # every flag and setting, before anything starts (returns Settings)
    overrides = {
        "engine.assets": args.assets,
        "engine.venue": args.venue,
        "engine.feed": args.feed,
        "engine.speed": args.speed,
        "engine.duration": args.duration,
        "engine.summary_json": args.summary_json,
        "engine.data_dir": args.data_dir,
        "engine.seed": args.seed,
        "engine.view": False if args.no_view else None,
        "store.url": args.store,
    }
    try:
        settings = load_settings(args.config, overrides=overrides)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    engine_settings = settings.engine
    if engine_settings.venue != "paper" or engine_settings.feed == "live":
        raise UsageError(
            f"venue {engine_settings.venue!r} with feed {engine_settings.feed!r} is not "
            "available yet: use --venue paper with --feed sim or replay:FILE"
        )
    if args.start is not None and args.start % WINDOW_SECONDS:
        raise UsageError(f"--start {args.start} is not a multiple of {WINDOW_SECONDS}")
    market_data: MarketData
    if engine_settings.feed.startswith("replay:"):
        market_data, settings, start = _replay(settings, args.assets, args.start)
        engine_settings = settings.engine
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
                _main, settings, market_data, start, view, console, speed, clock=clock
            )
        except StoreError as exc:
            where = describe_location(settings.store.url, engine_settings.data_dir)
            # the store's own messages already hide a Redis password
            raise UsageError(f"store {where}: {exc}") from None
        _report(summary, settings, console, logs.path)
    finally:
        logs.close()
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


async def _main(
    settings: Settings,
    market_data: MarketData,
    start: int,
    view: bool,
    console: Console,
    speed: float,
) -> Summary:
    exchange = PaperExchange(latency=settings.paper.latency_ms / 1000)
    store = await open_store(settings.store.url, data_dir=settings.engine.data_dir)
    async with store:
        return await _trade(settings, market_data, start, view, console, speed, exchange, store)


async def _trade(
    settings: Settings,
    market_data: MarketData,
    start: int,
    view: bool,
    console: Console,
    speed: float,
    exchange: PaperExchange,
    store: ThreadedStore,
) -> Summary:
    log.info(
        "journal: %s (%s)",
        describe_location(settings.store.url, settings.engine.data_dir),
        store.backend,
        extra={"event": "store", "backend": store.backend},
    )
    engine = Engine(
        settings,
        exchange=exchange,
        market_data=market_data,
        events=EventFanout([LogEvents()]),
        first_start=start,
        store=store,
    )
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_watch_signals, engine)
        if view:
            from gabagool.engine.view import run_view

            nursery.start_soon(
                lambda: run_view(engine, console, refresh_seconds=VIEW_REFRESH_SECONDS * speed)
            )
        await engine.run()
        nursery.cancel_scope.cancel()
    # the windows cancelled their own orders on the way out; this is the last word
    with trio.move_on_after(5 * speed):
        await exchange.cancel_all()
    return summarize(engine.windows)


# SIGUSR1 / SIGUSR2: halt / resume from outside the process; with a shared store the halt
# flag is written there, so every engine on it follows
CONTROL_SIGNALS = {signal.SIGUSR1: "halt", signal.SIGUSR2: "resume"}


async def _watch_signals(engine: Engine) -> None:
    with trio.open_signal_receiver(
        signal.SIGINT, signal.SIGTERM, *CONTROL_SIGNALS
    ) as signals:
        async for signum in signals:
            command = CONTROL_SIGNALS.get(signal.Signals(signum))
            if command is not None:
                await engine.control.send(command)
            else:
                engine.stop(signal.Signals(signum).name)


def _report(summary: Summary, settings: Settings, console: Console, log_path: Path) -> None:
    from gabagool.engine.view import summary_table

    console.print(summary_table(summary))
    console.print(f"log: {log_path}")
    path = settings.engine.summary_json
    if path:
        write_summary_json(path, summary)
        console.print(f"summary: {path}")
    sys.stdout.flush()
