"""The whole engine on MockClock: simulated BTC windows through feed, accumulator, equalizer,
risk, order manager and paper exchange, as `gabagool run` runs them, only faster.

Frames are generated before timing (the simulator is not the engine). Reported: wall time
for one 15-minute window, frames per second through the full Trio stack, and the wall time
from a frame's arrival in the feed task to the intents it causes (p50 / p99): measured for
scans that a frame woke, not for those `min_interval` held back on purpose. The stop-loss is
loosened (see `run_once`) so that the engine trades through whole windows. The same windows
run twice: the first, cold run (first calls, allocations, caches) is reported apart, and
the targets are checked on the second, the steady state of an engine that runs for hours.
"""

from __future__ import annotations

import time

import trio
import trio.testing
from gabagool.config import load_settings
from gabagool.engine.backtest_loop import run_window
from gabagool.engine.events import EventFanout
from gabagool.engine.supervisor import Engine
from gabagool.engine.window import LatencyProbe
from gabagool.sim import DEFAULT_START, WindowSimulator
from gabagool.venues.paper import PaperExchange
from gabagool.venues.sim_feed import ListWindowFeed

WINDOWS = 8
SEED = 11


class PregeneratedMarketData:
    def __init__(self, asset: str, windows: int, seed: int) -> None:
        self.feeds: dict[int, ListWindowFeed] = {}
        self.frames = 0
        open_price = None
        for i in range(windows + 1):
            start = DEFAULT_START + 900 * i
            sim = WindowSimulator(asset, start, seed, open_price=open_price)
            frames = [(t, text.encode()) for t, text in sim.frames()]
            self.frames += len(frames) if i < windows else 0
            self.feeds[start] = ListWindowFeed(sim.header, frames, outcome=sim.outcome)
            open_price = sim.close_price

    def window(self, asset: str, start: int) -> ListWindowFeed:
        return self.feeds[start]


def run_once(data: PregeneratedMarketData, windows: int) -> tuple[float, Engine, LatencyProbe]:
    settings = load_settings(
        environ={
            "GABAGOOL_ENGINE_ASSETS": "btc",
            "GABAGOOL_ENGINE_DURATION": str(900 * windows + 1),
            # the simulator's legs often fall 2% of $50 against the engine before the other
            # side gets cheap, and a stopped window trades no more: a loose stop keeps the
            # engine busy for the whole window
            "GABAGOOL_RISK_STOP_LOSS_PCT": "50",
        },
        dotenv=None,
    )
    probe = LatencyProbe()
    engine = Engine(
        settings,
        exchange=PaperExchange(),
        market_data=data,
        events=EventFanout([]),  # no logging: the engine's own cost
        first_start=DEFAULT_START,
        probe=probe,
    )
    began = time.perf_counter()
    trio.run(engine.run, clock=trio.testing.MockClock(autojump_threshold=0))
    return time.perf_counter() - began, engine, probe


def percentile(samples: list[int], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000 if ordered else 0.0


def row(what: str, value: float, unit: str, target: str, ok: bool) -> dict:
    return {
        "bench": "engine",
        "what": what,
        "value": value,
        "unit": unit,
        "target": target,
        "ok": ok,
    }


def run() -> list[dict]:
    data = PregeneratedMarketData("btc", WINDOWS, SEED)
    _, _, cold = run_once(data, WINDOWS)
    seconds, engine, probe = run_once(data, WINDOWS)
    frames = sum(w.core.frames for w in engine.windows)  # the next window's first ones too
    per_window = seconds / WINDOWS
    p50, p99 = percentile(probe.samples, 0.50), percentile(probe.samples, 0.99)
    fills = sum(w.stats.fills for w in engine.windows)
    loop_ms, loop_fills = plain_loop(data, WINDOWS)
    return [
        row(
            f"one 15-min BTC window ({data.frames // WINDOWS} frames, {fills} fills in {WINDOWS})",
            per_window,
            "s",
            "< 1 s",
            per_window < 1.0,
        ),
        row("frames through the full Trio stack", frames / seconds, "frames/s", "-", True),
        row(f"frame -> intent p50 ({len(probe.samples)} samples)", p50, "us", "-", True),
        row("frame -> intent p99", p99, "us", "< 50 us", p99 < 50.0),
        row("frame -> intent p99, cold first run", percentile(cold.samples, 0.99), "us", "-", True),
        row(
            f"one 15-min window, plain loop (backtest_loop.run_window; {loop_fills} fills in "
            f"{WINDOWS})",
            loop_ms,
            "ms",
            "<= 50 ms",
            loop_ms <= 50.0,
        ),
    ]


def plain_loop(data: PregeneratedMarketData, windows: int) -> tuple[float, int]:
    """The same windows through `run_window`, no Trio: the median ms a window of a warm run."""
    settings = load_settings(environ={"GABAGOOL_RISK_STOP_LOSS_PCT": "50"}, dotenv=None)
    feeds = [data.feeds[DEFAULT_START + 900 * i] for i in range(windows)]
    times: list[float] = []
    fills = 0
    for repeat in range(2):
        for feed in feeds:
            began = time.perf_counter()
            result = run_window(
                feed._frames, feed.header, settings, outcome=feed.fallback_outcome()
            )
            times.append(time.perf_counter() - began)
            fills += len(result.fills) if repeat else 0
    warm = sorted(times[windows:])
    return warm[len(warm) // 2] * 1000, fills


if __name__ == "__main__":
    for r in run():
        print(
            f"{r['what']:<60} {r['value']:>12.2f} {r['unit']:<9} {r['target']:<8} "
            f"{'ok' if r['ok'] else 'MISSED'}"
        )
