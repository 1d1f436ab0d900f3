"""Simulated and recorded market data: `gabagool.sim` windows, recordings, and frame lists,
each as a `MarketData`.

Frames carry their market time; the engine's feed task paces them on Trio's clock, so the
same feed runs in real time, at `--speed`, or on a MockClock at full speed. A `None` frame
is a keep-alive (a PONG): the link is up though the market is quiet. Reference-feed frames
(the underlying's price) come in the same stream as `ReferenceFrame`s, at their receive
times, in order with the market's; a recording without them plays its market frames alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator

from gabagool.recording import MARKET_SOURCE, MarketHeader, read_sources
from gabagool.sim import WindowSimulator
from gabagool.types import NS
from gabagool.venues.base import Outcome, ReferenceFrame, WindowFeed, WindowHeader

KEEPALIVE_NS = 5 * NS  # the market channel's PING/PONG period, roughly
# reference frames a window's core is handed around it: the open's first tick may come a
# little before the start is passed, the settlement TWAP a little after the end
REFERENCE_BEFORE_NS = 60 * NS
REFERENCE_AFTER_NS = 300 * NS

Frame = bytes | ReferenceFrame


class SimWindowFeed:
    def __init__(self, simulator: WindowSimulator) -> None:
        self.simulator = simulator
        self.header = simulator.header

    def frames(self) -> AsyncIterator[tuple[int, Frame | None]]:
        return _Frames(with_keepalives(sim_frames(self.simulator), self.header.start * NS))

    def fallback_outcome(self) -> Outcome | None:
        sim = self.simulator
        if sim.outcome is not None:
            return sim.outcome  # type: ignore[return-value]
        # the model's own rule, as `market_resolved` would have said (Up wins ties)
        return "up" if sim.close_price >= sim.open_price else "down"


def sim_frames(simulator: WindowSimulator, reference: bool = True) -> Iterator[tuple[int, Frame]]:
    """A simulated window's market frames (bytes) and, with `reference`, its reference
    frames (`ReferenceFrame`), in receive order."""
    if not reference:
        return ((t_ns, text.encode()) for t_ns, text in simulator.frames())
    return (
        (t_ns, text.encode() if source == MARKET_SOURCE else ReferenceFrame(text))
        for t_ns, source, text in simulator.all_frames()
    )


def with_keepalives(
    frames: Iterable[tuple[int, Frame]], start_ns: int, period_ns: int = KEEPALIVE_NS
) -> Iterator[tuple[int, Frame | None]]:
    """A live link answers PINGs while the market is quiet: insert those keep-alives.
    Reference frames come on another link: they say nothing of the market's."""
    last = start_ns
    for t_ns, frame in frames:
        while t_ns - last > period_ns:
            last += period_ns
            yield last, None
        if not isinstance(frame, ReferenceFrame):
            last = t_ns
        yield t_ns, frame


class SimMarketData:
    """Consecutive simulated windows per asset, each opening where the previous closed.

    With an `origin` (the first window's start), a window asked for out of turn (an engine
    restarted mid-run) still opens where its predecessors from the origin would have closed,
    so a restarted engine sees the same market as the run it continues.
    """

    def __init__(self, seed: int, origin: int | None = None) -> None:
        self.seed = seed
        self.origin = origin
        self._last: dict[str, WindowSimulator] = {}

    def _previous(self, asset: str, start: int) -> WindowSimulator | None:
        previous = self._last.get(asset)
        if previous is not None and previous.end == start:
            return previous
        if self.origin is None or start <= self.origin or (start - self.origin) % 900:
            return None
        chain = None
        for first in range(self.origin, start, 900):  # cheap: a window's plan, not its frames
            open_price = chain.close_price if chain is not None else None
            chain = WindowSimulator(asset, first, self.seed, open_price=open_price)
        return chain

    def window(self, asset: str, start: int) -> WindowFeed:
        previous = self._previous(asset, start)
        open_price = previous.close_price if previous is not None else None
        simulator = WindowSimulator(asset, start, self.seed, open_price=open_price)
        self._last[asset] = simulator
        return SimWindowFeed(simulator)


class ListWindowFeed:
    """A window from a given header and (market t_ns, frame) list: scripted tests, replays."""

    def __init__(
        self,
        header: WindowHeader,
        frames: Iterable[tuple[int, bytes | str | ReferenceFrame]],
        *,
        outcome: Outcome | None = None,
        keepalive: bool = True,
    ) -> None:
        self.header = header
        self._frames: list[tuple[int, Frame]] = [
            (t, f.encode() if isinstance(f, str) else f) for t, f in frames
        ]
        self._outcome = outcome
        self.keepalive = keepalive  # False: silence between frames looks like a dead link

    def frames(self) -> AsyncIterator[tuple[int, Frame | None]]:
        frames: Iterable[tuple[int, Frame | None]] = self._frames
        if self.keepalive:
            # listed once: a generator would be resumed on every frame
            frames = list(with_keepalives(self._frames, self.header.start * NS))
        return _Frames(frames)

    def fallback_outcome(self) -> Outcome | None:
        return self._outcome


class _Frames:
    """Frames from a plain iterator as an async iterator. The feed task awaits the next
    frame between a frame and the scan it wakes, and an async generator's step costs several
    times this plain call. Pacing and yielding are the feed task's: see `Window._feed`."""

    __slots__ = ("_next",)

    def __init__(self, frames: Iterable[tuple[int, Frame | None]]) -> None:
        self._next = iter(frames).__next__

    def __aiter__(self) -> _Frames:
        return self

    async def __anext__(self) -> tuple[int, Frame | None]:
        try:
            return self._next()
        except StopIteration:
            raise StopAsyncIteration from None


class ReplayError(LookupError):
    """A window the recording does not hold."""


class ReplayMarketData:
    """The windows of a recording (`gabagool sim --out`, `gabagool record`), each frame routed
    to the window whose token or condition id it names; paced by its recorded time. Reference
    frames go to every window of their time (from a minute before its start to a while after
    its end): each window's core keeps the ticks of its own asset."""

    def __init__(self, path: str) -> None:
        self.path = path
        header, recorded = read_sources(path)
        self.headers: dict[tuple[str, int], MarketHeader] = {
            (m.asset, m.start): m for m in header.markets
        }
        if not self.headers:
            raise ReplayError(f"{path}: the recording describes no market")
        keys = [(m, (m.up_token, m.down_token, m.condition_id)) for m in header.markets]
        self.frames: dict[str, list[tuple[int, Frame]]] = {
            m.condition_id: [] for m in header.markets
        }
        self.unrouted = 0
        self.reference_frames = 0
        for item in recorded:
            if item.source != MARKET_SOURCE:
                self.reference_frames += 1
                for market in header.markets:
                    if (
                        market.start * NS - REFERENCE_BEFORE_NS
                        <= item.t
                        <= market.end * NS + REFERENCE_AFTER_NS
                    ):
                        self.frames[market.condition_id].append(
                            (item.t, ReferenceFrame(item.frame))
                        )
                continue
            for market, names in keys:
                if any(name in item.frame for name in names):
                    self.frames[market.condition_id].append((item.t, item.frame.encode()))
                    break
            else:
                self.unrouted += 1

    @property
    def assets(self) -> list[str]:
        return sorted({asset for asset, _ in self.headers})

    @property
    def first_start(self) -> int:
        return min(start for _, start in self.headers)

    @property
    def last_end(self) -> int:
        return max(m.end for m in self.headers.values())

    def window(self, asset: str, start: int) -> ListWindowFeed:
        header = self.headers.get((asset, start))
        if header is None:
            raise ReplayError(f"{self.path} holds no {asset} window starting at {start}")
        return ListWindowFeed(header, self.frames[header.condition_id])
