"""Simulated market data: `gabagool.sim` windows as a `MarketData`, and fixed frame lists.

Frames carry their market time; the engine's feed task paces them on Trio's clock, so the
same feed runs in real time, at `--speed`, or on a MockClock at full speed. A `None` frame
is a keep-alive (a PONG): the link is up though the market is quiet.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator

from gabagool.sim import WindowSimulator
from gabagool.venues.base import Outcome, WindowHeader

NS = 1_000_000_000
KEEPALIVE_NS = 5 * NS  # the market channel's PING/PONG period, roughly


class SimWindowFeed:
    def __init__(self, simulator: WindowSimulator) -> None:
        self.simulator = simulator
        self.header = simulator.header

    async def frames(self) -> AsyncIterator[tuple[int, bytes | None]]:
        frames = ((t_ns, text.encode()) for t_ns, text in self.simulator.frames())
        for item in with_keepalives(frames, self.header.start * NS):
            yield item

    def fallback_outcome(self) -> Outcome | None:
        sim = self.simulator
        if sim.outcome is not None:
            return sim.outcome  # type: ignore[return-value]
        # the model's own rule, as `market_resolved` would have said (Up wins ties)
        return "up" if sim.close_price >= sim.open_price else "down"


def with_keepalives(
    frames: Iterable[tuple[int, bytes]], start_ns: int, period_ns: int = KEEPALIVE_NS
) -> Iterator[tuple[int, bytes | None]]:
    """A live link answers PINGs while the market is quiet: insert those keep-alives."""
    last = start_ns
    for t_ns, frame in frames:
        while t_ns - last > period_ns:
            last += period_ns
            yield last, None
        last = t_ns
        yield t_ns, frame


class SimMarketData:
    """Consecutive simulated windows per asset, each opening where the previous closed."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._last: dict[str, WindowSimulator] = {}

    def window(self, asset: str, start: int) -> SimWindowFeed:
        previous = self._last.get(asset)
        open_price = previous.close_price if previous and previous.end == start else None
        simulator = WindowSimulator(asset, start, self.seed, open_price=open_price)
        self._last[asset] = simulator
        return SimWindowFeed(simulator)


class ListWindowFeed:
    """A window from a given header and (market t_ns, frame) list: scripted tests, replays."""

    def __init__(
        self,
        header: WindowHeader,
        frames: Iterable[tuple[int, bytes | str]],
        *,
        outcome: Outcome | None = None,
        keepalive: bool = True,
    ) -> None:
        self.header = header
        self._frames = [(t, f.encode() if isinstance(f, str) else f) for t, f in frames]
        self._outcome = outcome
        self.keepalive = keepalive  # False: silence between frames looks like a dead link

    async def frames(self) -> AsyncIterator[tuple[int, bytes | None]]:
        frames: Iterable[tuple[int, bytes | None]] = self._frames
        if self.keepalive:
            frames = with_keepalives(self._frames, self.header.start * NS)
        for item in frames:
            yield item  # pacing and yielding are the feed task's: see `Window._feed`

    def fallback_outcome(self) -> Outcome | None:
        return self._outcome
