"""The live path against the fake exchange: a frame sent on the market socket -> received by
trio-websocket -> routed by the market socket -> the window feed (its shadow books) -> applied
to the engine's books -> the engine's decision -> an intent (an order to place).

Two runs of one simulated BTC window, fake and client in one process and one Trio run, on
the loopback clock of the tests (market time jumps when nothing is in flight; the work is
real, and every frame is delivered before market time moves on, as on a real feed):
- book: wall-clock ns from the fake's `send_message` to the frame applied to a `Market`,
  per frame; beside it, the same frames applied straight from memory (`Market.apply_frame`).
- intent: the real engine `Window` (core, driver, paper venue) reading the live feed, as
  `gabagool run --feed live` does; wall-clock ns from the fake's `send_message` to the first
  order the frame's instant yields; beside it, the same `Window` on the same frames from
  memory (`ListWindowFeed`), from the pump taking the frame to the order (its `LatencyProbe`,
  as `bench_engine` measures it).
On the 2-core project machine the slow tail (p99) comes in steps of about 4.2 ms, one 250 Hz
kernel tick, not in proportion to the Python work per frame.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import trio
import trio.testing

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import pytest  # noqa: E402
from fakes.fake_polymarket import FakePolymarket  # noqa: E402
from gabagool import _core  # noqa: E402
from gabagool.config import (  # noqa: E402
    PolymarketSettings,
    Settings,
    load_settings,
    micros,
    picos,
)
from gabagool.engine.clock import MarketClock  # noqa: E402
from gabagool.engine.core.commands import Place  # noqa: E402
from gabagool.engine.events import EventFanout  # noqa: E402
from gabagool.engine.portfolio import Portfolio  # noqa: E402
from gabagool.engine.window import LatencyProbe, Window  # noqa: E402
from gabagool.sim import DEFAULT_START  # noqa: E402
from gabagool.types import NS  # noqa: E402
from gabagool.venues.paper import PaperExchange  # noqa: E402
from gabagool.venues.polymarket.clock import UnixClock  # noqa: E402
from gabagool.venues.polymarket.live_feed import LiveMarketData  # noqa: E402
from gabagool.venues.sim_feed import ListWindowFeed  # noqa: E402
from loopback_clock import LoopbackClock  # noqa: E402

SEED = 11
INTENT_WINDOWS = 8  # windows the engine trades, as bench_engine: enough intents for a p99


def percentile(samples: list[int], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000 if ordered else 0.0


async def live_window(samples: list[int]) -> tuple[int, float]:
    fake = FakePolymarket(["btc"], DEFAULT_START, windows=1, seed=SEED)
    sent: dict[str, int] = {}
    fake.on_send = lambda text: sent.__setitem__(text, time.perf_counter_ns())
    frames = 0
    async with trio.open_nursery() as nursery:
        clock = UnixClock.starting_at((DEFAULT_START - 10) * NS)
        await nursery.start(fake.run, clock)
        settings = PolymarketSettings(
            gamma_url=fake.gamma_url, clob_url=fake.clob_url, market_ws_url=fake.ws_url
        )
        data = LiveMarketData(settings, ["btc"], clock=clock, resolution_wait=5.0)
        await nursery.start(data.run)
        feed = data.window("btc", DEFAULT_START)
        h = feed.header
        market = _core.Market(h.up_token, h.down_token, _core.parse_price(h.tick_size))
        began = time.perf_counter()
        async for _t_ns, frame in feed.frames():
            if frame is None:
                continue
            market.apply_frame(frame)
            done = time.perf_counter_ns()
            frames += 1
            stamp = sent.pop(frame.decode(), None)
            if stamp is not None:
                samples.append(done - stamp)
        seconds = time.perf_counter() - began
        nursery.cancel_scope.cancel()
    return frames, seconds


def engine_settings() -> Settings:
    # as bench_engine: a loose stop-loss keeps the engine trading through whole windows
    return load_settings(
        environ={"GABAGOOL_ENGINE_ASSETS": "btc", "GABAGOOL_RISK_STOP_LOSS_PCT": "50"},
        dotenv=None,
    )


def engine_window(feed: Any, settings: Settings, clock: MarketClock, probe: Any = None) -> Window:
    """The engine's `Window` as the supervisor opens it (no journal: the engine's own cost)."""
    events = EventFanout([])
    risk = settings.risk
    portfolio = Portfolio(
        max_capital=picos(risk.max_capital, "risk.max_capital"),
        max_unhedged=micros(risk.max_unhedged, "risk.max_unhedged"),
        daily_loss_limit=picos(risk.daily_loss_limit, "risk.daily_loss_limit"),
        events=events,
    )
    return Window(
        feed=feed,
        exchange=PaperExchange(),
        settings=settings,
        portfolio=portfolio,
        events=events,
        clock=clock,
        probe=probe,
    )


def time_intents(window: Window, sent: dict[bytes, int], samples: list[int]) -> None:
    """Wall ns from a frame's `send_message` at the fake to the first order (`Place`) its
    instant yields: the driver's `frame_steps`, wrapped; the look-up after the clock read."""
    frame_steps = window.driver.frame_steps

    def timed(t_ns: int, frame: Any) -> Generator[Any, bool | None, None]:
        steps = frame_steps(t_ns, frame)
        allowed: bool | None = None
        while True:
            try:
                command = steps.send(allowed)
            except StopIteration:
                return
            if frame is not None and isinstance(command, Place):
                now = time.perf_counter_ns()
                stamp = sent.pop(frame, None)
                if stamp is not None:
                    samples.append(now - stamp)
                frame = None  # the instant's first order only
            allowed = yield command

    window.driver.frame_steps = timed  # type: ignore[method-assign]


async def live_engine(samples: list[int]) -> int:
    """`INTENT_WINDOWS` windows traded by engine `Window`s on the live feed; the orders."""
    fake = FakePolymarket(["btc"], DEFAULT_START, windows=INTENT_WINDOWS, seed=SEED)
    sent: dict[bytes, int] = {}
    # the frame encoded before the clock is read: the stamp is the moment it is sent
    fake.on_send = lambda text: sent.__setitem__(text.encode(), time.perf_counter_ns())
    settings = engine_settings()
    windows: list[Window] = []
    async with trio.open_nursery() as nursery:
        clock = UnixClock.starting_at((DEFAULT_START - 10) * NS)
        await nursery.start(fake.run, clock)
        endpoints = PolymarketSettings(
            gamma_url=fake.gamma_url, clob_url=fake.clob_url, market_ws_url=fake.ws_url
        )
        data = LiveMarketData(endpoints, ["btc"], clock=clock, resolution_wait=5.0)
        await nursery.start(data.run)
        market_clock = MarketClock(clock.origin_ns, clock.trio_origin)
        async with trio.open_nursery() as trading:
            for i in range(INTENT_WINDOWS):
                start = DEFAULT_START + 900 * i
                await trio.sleep_until(clock.trio_time((start - 30) * NS))
                while ("btc", start) not in data.discovered:
                    await trio.sleep(5)
                window = engine_window(data.window("btc", start), settings, market_clock)
                time_intents(window, sent, samples)
                windows.append(window)
                trading.start_soon(window.run)
        nursery.cancel_scope.cancel()
    return sum(len(w._requests) for w in windows)


async def memory_engine(probe: LatencyProbe) -> None:
    """The same windows' frames from memory through the same engine `Window`s."""
    fake = FakePolymarket(["btc"], DEFAULT_START, windows=INTENT_WINDOWS, seed=SEED)
    settings = engine_settings()
    clock = MarketClock.starting_now((DEFAULT_START - 10) * NS)
    async with trio.open_nursery() as trading:
        for i in range(INTENT_WINDOWS):
            start = DEFAULT_START + 900 * i
            await trio.sleep_until(clock.trio_time((start - 30) * NS))
            fw = fake.window_at("btc", start)
            feed = ListWindowFeed(fw.header, fw.frames, outcome=fw.sim.outcome)
            trading.start_soon(engine_window(feed, settings, clock, probe).run)


def in_memory(fake_frames: list[tuple[int, str]], up: str, down: str) -> list[int]:
    market = _core.Market(up, down, 10_000)
    samples = []
    for _t, text in fake_frames:
        frame = text.encode()
        began = time.perf_counter_ns()
        market.apply_frame(frame)
        samples.append(time.perf_counter_ns() - began)
    return samples


def run() -> list[dict]:
    samples: list[int] = []
    intents: list[int] = []
    logger = logging.getLogger("gabagool")
    level = logger.level
    logger.setLevel(logging.ERROR)  # the fake's missing next window is warned every minute
    try:
        with pytest.MonkeyPatch.context() as patch:
            loopback = LoopbackClock()
            loopback.ledger.install(patch)
            frames, seconds = trio.run(live_window, samples, clock=loopback)
            loopback = LoopbackClock()
            loopback.ledger.install(patch)
            orders = trio.run(live_engine, intents, clock=loopback)
        probe = LatencyProbe()
        trio.run(memory_engine, probe, clock=trio.testing.MockClock(autojump_threshold=0))
    finally:
        logger.setLevel(level)
    fake = FakePolymarket(["btc"], DEFAULT_START, windows=1, seed=SEED)
    window = fake.window_at("btc", DEFAULT_START)
    memory = in_memory(window.frames, window.sim.up_token, window.sim.down_token)
    what = f"socket frame in -> book updated, live path vs fake ({len(samples)} frames)"
    intent = (
        f"socket frame in -> intent, engine Window on the live feed ({len(intents)} of "
        f"{orders} orders, {INTENT_WINDOWS} windows)"
    )
    memory_intent = (
        f"in-memory yardstick: frame -> intent, same Window on ListWindowFeed "
        f"({len(probe.samples)} orders)"
    )
    rows = [
        (f"{what}: p50", percentile(samples, 0.5), "us"),
        (f"{what}: p99", percentile(samples, 0.99), "us"),
        ("frames through socket + feed + books, one window", frames / seconds, "frames/s"),
        ("in-memory yardstick: Market.apply_frame p50", percentile(memory, 0.5), "us"),
        ("in-memory yardstick: Market.apply_frame p99", percentile(memory, 0.99), "us"),
        (f"{intent}: p50", percentile(intents, 0.5), "us"),
        (f"{intent}: p99", percentile(intents, 0.99), "us"),
        (f"{memory_intent}: p50", percentile(probe.samples, 0.5), "us"),
        (f"{memory_intent}: p99", percentile(probe.samples, 0.99), "us"),
    ]
    return [
        {"bench": "live", "what": w, "value": v, "unit": u, "target": "-", "ok": True}
        for w, v, u in rows
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
