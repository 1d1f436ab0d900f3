"""The live path against the fake exchange: a frame sent on the market socket -> received by
trio-websocket -> routed by the market socket -> the window feed (its shadow books) -> applied
to the engine's books, as the engine's feed task applies it.

Wall-clock nanoseconds from the fake's `send_message` to the book updated, per frame, for one
simulated BTC window on a MockClock (market time jumps; the work is real). The same window's
frames applied straight from memory (`Market.apply_frame`) are the in-memory yardstick.
Fake and client share one process and one Trio run. On the 2-core project machine the slow
tail (p99) comes in steps of about 4.2 ms, one 250 Hz kernel tick, not in proportion to the
Python work per frame.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import trio
import trio.testing

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fakes.fake_polymarket import FakePolymarket  # noqa: E402
from gabagool import _core  # noqa: E402
from gabagool.config import PolymarketSettings  # noqa: E402
from gabagool.sim import DEFAULT_START  # noqa: E402
from gabagool.venues.polymarket.clock import NS, UnixClock  # noqa: E402
from gabagool.venues.polymarket.live_feed import LiveMarketData  # noqa: E402

SEED = 11


def percentile(samples: list[int], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000


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
    logger = logging.getLogger("gabagool")
    level = logger.level
    logger.setLevel(logging.ERROR)  # the fake's missing next window is warned every minute
    try:
        frames, seconds = trio.run(
            live_window, samples, clock=trio.testing.MockClock(autojump_threshold=0)
        )
    finally:
        logger.setLevel(level)
    fake = FakePolymarket(["btc"], DEFAULT_START, windows=1, seed=SEED)
    window = fake.window_at("btc", DEFAULT_START)
    memory = in_memory(window.frames, window.sim.up_token, window.sim.down_token)
    p50, p99 = percentile(samples, 0.5), percentile(samples, 0.99)
    what = f"socket frame in -> book updated, live path vs fake ({len(samples)} frames)"
    return [
        {"bench": "live", "what": f"{what}: p50", "value": p50, "unit": "us",
         "target": "-", "ok": True},
        {"bench": "live", "what": f"{what}: p99", "value": p99, "unit": "us",
         "target": "-", "ok": True},
        {"bench": "live", "what": "frames through socket + feed + books, one window",
         "value": frames / seconds, "unit": "frames/s", "target": "-", "ok": True},
        {"bench": "live", "what": "in-memory yardstick: Market.apply_frame p50",
         "value": percentile(memory, 0.5), "unit": "us", "target": "-", "ok": True},
        {"bench": "live", "what": "in-memory yardstick: Market.apply_frame p99",
         "value": percentile(memory, 0.99), "unit": "us", "target": "-", "ok": True},
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
