"""The engine on live market data: `LiveMarketData` started, its clock made the engine's, its
windows handed out, and the books the engine's core distrusts rebuilt.

- Market time is the feed's unix clock read through Trio (`origin_ns`, `trio_origin`), so a
  frame stamped on arrival is due the moment it arrives: the engine never waits on, nor runs
  ahead of, the socket.
- A window not discovered yet is not the end of the asset (as it is for a recording): Gamma
  lists the next window a little later, or was briefly unreachable. The asset loop retries it
  with backoff; a window in the past is gone for good (`LookupError`).
- The engine's core and the feed's shadow see the same frames, but the core may distrust a
  book on its own (a crossed book it checks, a gap in what it saw). The feed only rebuilds
  books its shadow distrusts, so the core's `feed_problem` notices are relayed to it as
  `request_resync`.
- The underlying's price (`ReferenceHub`): one reference client in the same nursery
  (PolyBolt with the CLOB API credentials, else RTDS, per `reference.source`), its ticks
  handed to every open window of their asset, stamped on arrival like the market's frames.
  A window opened later is first handed the last minutes of its asset (its volatility
  estimate starts from them), and Gamma's `priceToBeat` once discovery knows it. A client
  that gives up, or a feed that falls silent, never stops the run: the windows' fair value
  goes stale and their buys follow `reference.when_stale`.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import trio

from gabagool.cli import CommandFailed
from gabagool.config import Settings
from gabagool.core import parse_reference_price
from gabagool.engine.clock import MarketClock
from gabagool.engine.supervisor import WindowNotReady
from gabagool.engine.window import Window
from gabagool.types import WINDOW_SECONDS
from gabagool.venues.polymarket.live_feed import OUTCOMES, LiveMarketData, LiveWindowFeed
from gabagool.venues.polymarket.reference import PolyBoltFeed, RtdsFeed, reference_feed
from gabagool.venues.polymarket.reference_frames import ReferenceTick, TickFrame
from gabagool.venues.polymarket.rest import Unavailable

log = logging.getLogger("gabagool.engine")

BIT = {"up": 1, "down": 2}


# ticks a reference client may have read ahead of the hub (a PolyBolt snapshot is ~120 a
# channel); past it the client waits, which is what a slow consumer should cause
TICK_BUFFER = 1024
# the last minutes of each asset a window opened later is handed first: four volatility
# half-lives (`reference.vol_halflife`, 60 s) and the TWAP window
PRIME_MS = 300_000
PRICE_TO_BEAT_POLL = 5.0  # seconds between looks at discovery for a price to beat


class ReferenceHub:
    """One reference client for the run, its ticks handed to the open windows' feeds."""

    def __init__(self, data: LiveMarketData, feed: PolyBoltFeed | RtdsFeed) -> None:
        self.data = data
        self.feed = feed
        self.recent: dict[str, deque[ReferenceTick]] = {}
        self.ticks = 0  # received from the client
        self.frames = 0  # handed to windows
        self.ended: str | None = None  # why the client gave up; None while it runs
        self._fed: dict[tuple[str, int], LiveWindowFeed] = {}  # primed feeds
        self._beat: set[tuple[str, int]] = set()  # windows handed a late price to beat

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """The client and the hand-out, until cancelled; a client that gives up ends only
        its part (logged once), never the run."""
        send, receive = trio.open_memory_channel[ReferenceTick](TICK_BUFFER)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self.feed.run, send)
            nursery.start_soon(self._watch_price_to_beat)
            task_status.started()
            await self._hand_out(receive)

    async def _hand_out(self, receive: trio.MemoryReceiveChannel[ReferenceTick]) -> None:
        async with receive:
            async for tick in receive:
                batch = [tick]
                while True:  # what is already waiting goes out as one frame a window
                    try:
                        batch.append(receive.receive_nowait())
                    except trio.WouldBlock:
                        break
                self._take(batch)
        feed = self.feed
        self.ended = feed.failure or "stopped"
        log.error(
            "%s reference feed gave up (%s): fair value goes stale in every window, buys "
            "follow reference.when_stale",
            feed.name,
            self.ended,
            extra={"event": "reference_feed_ended", "feed": feed.name},
        )

    def _take(self, batch: list[ReferenceTick]) -> None:
        self.ticks += len(batch)
        for tick in batch:
            recent = self.recent.setdefault(tick.asset, deque())
            recent.append(tick)
            while recent and recent[0].ts_ms < tick.ts_ms - PRIME_MS:
                recent.popleft()
        now = self.data.clock.now_ns()
        for key, feed in list(self._fed.items()):
            if feed.detached or self.data.feeds.get(key) is not feed:
                del self._fed[key]
                continue
            mine = tuple(t for t in batch if t.asset == key[0])
            if mine:
                feed.deliver_reference(now, TickFrame(mine))
                self.frames += 1

    def prime(self, key: tuple[str, int], feed: LiveWindowFeed) -> None:
        """A window's feed, handed out: from now on it gets its asset's ticks, and first
        the last minutes of them (and the price to beat if discovery learnt it late)."""
        if self._fed.get(key) is feed:
            return
        self._fed[key] = feed
        recent = tuple(self.recent.get(key[0], ()))
        if recent:
            feed.deliver_reference(self.data.clock.now_ns(), TickFrame(recent))
            self.frames += 1
        self._beat.discard(key)
        self._price_to_beat(key, feed)

    def _price_to_beat(self, key: tuple[str, int], feed: LiveWindowFeed) -> None:
        """Gamma's price to beat for a window whose feed started without it (discovered
        before Gamma had it), handed over once discovery has it."""
        if feed.header.price_to_beat is not None or key in self._beat:
            return
        window = self.data.discovered.get(key)
        if window is None or window.price_to_beat is None:
            return
        self._beat.add(key)
        try:
            price = parse_reference_price(window.price_to_beat)
        except ValueError as exc:  # Gamma's number is checked on discovery; belt and braces
            log.warning("%s: price to beat %r unusable: %s", feed.header.slug,
                        window.price_to_beat, exc)
            return
        feed.deliver_reference(self.data.clock.now_ns(), TickFrame(price_to_beat=price))
        self.frames += 1

    async def _watch_price_to_beat(self) -> None:
        while True:
            await trio.sleep(PRICE_TO_BEAT_POLL)
            for key, feed in list(self._fed.items()):
                if not feed.detached:
                    self._price_to_beat(key, feed)


class LiveWindows:
    """`MarketData` over `LiveMarketData`: undiscovered future windows are retried, not ends;
    each window's feed is handed to the reference hub, when there is one."""

    def __init__(self, data: LiveMarketData, reference: ReferenceHub | None = None) -> None:
        self.data = data
        self.reference = reference

    def window(self, asset: str, start: int) -> LiveWindowFeed:
        try:
            feed = self.data.window(asset, start)
        except LookupError as exc:
            if start + WINDOW_SECONDS <= self.data.clock.now_s():
                raise  # over: it will never be served
            raise WindowNotReady(str(exc)) from None
        if self.reference is not None:
            self.reference.prime((asset, start), feed)
        return feed


@dataclass
class ResyncRelay:
    """An `EngineEvents` sink: a core's `feed_problem` becomes `request_resync` for each book
    the core distrusts and the feed's shadow still trusts (once per distrust)."""

    data: LiveMarketData
    windows: Callable[[], list[Window]] | None = None  # the engine's, once it exists
    requested: dict[str, int] = field(default_factory=dict)  # market id -> mask asked for
    requests: int = 0

    def risk_action(self, market_id: str, action: str, detail: str) -> None:
        if action != "feed_problem" or self.windows is None:
            return
        window = next((w for w in self.windows() if w.market_id == market_id), None)
        if window is None or not isinstance(window.feed, LiveWindowFeed):
            return
        feed = window.feed
        if feed.detached:
            return
        core_mask = window.core.market.needs_resync()
        shadow_mask = feed.shadow.needs_resync()
        asked = self.requested.get(market_id, 0) & core_mask  # a cleared distrust may recur
        for outcome in OUTCOMES:
            bit = BIT[outcome]
            if core_mask & bit and not shadow_mask & bit and not asked & bit:
                log.info(
                    "%s %s: the engine distrusts a book the feed trusts: rebuilding it",
                    feed.header.slug,
                    outcome,
                    extra={"event": "resync_request", "market": market_id, "outcome": outcome},
                )
                feed.request_resync(outcome)
                asked |= bit
                self.requests += 1
        self.requested[market_id] = asked

    # the rest of `EngineEvents`: nothing to relay
    def window_opened(self, market_id: str, slug: str, start: int, end: int) -> None:
        pass

    def order_placed(self, request: object, ack: object) -> None:
        pass

    def order_cancelled(self, market_id: str, order_id: str, reason: str) -> None:
        pass

    def fill(self, fill: object, delta: int, pair_cost: str | None) -> None:
        pass

    def task_failed(self, market_id: str, task: str, error: BaseException) -> None:
        pass

    def window_settled(self, market_id: str, slug: str, winner: str | None, pnl: int) -> None:
        pass


@dataclass
class LiveStart:
    market_data: LiveWindows
    first_start: int  # unix seconds: the window of now
    clock: MarketClock  # the feed's clock, as the engine's
    relay: ResyncRelay
    reference: ReferenceHub | None = None  # None: `reference.source = "off"`


def reference_hub(data: LiveMarketData, run_settings: Settings | None) -> ReferenceHub | None:
    """The run's reference hub per `reference.source`; None when off (or no settings)."""
    if run_settings is None:
        return None
    try:
        feed = reference_feed(run_settings, list(data.assets))
    except ValueError as exc:
        raise CommandFailed(str(exc)) from None
    return None if feed is None else ReferenceHub(data, feed)


@asynccontextmanager
async def live_market(
    data: LiveMarketData, run_settings: Settings | None = None
) -> AsyncIterator[LiveStart]:
    """Start `data` (its first discovery done) and, with `run_settings`, the reference feed,
    for the body; CommandFailed in one line when the exchange cannot be reached within
    `discovery_timeout`. What the body raises comes out as itself, not inside an exception
    group."""
    settings = data.settings
    hub = reference_hub(data, run_settings)
    failure = ""
    try:
        async with trio.open_nursery() as nursery:
            # the retries of the first discovery are not news: it works, or one line says
            # why not
            quiet = logging.getLogger("gabagool.polymarket")
            level = quiet.level
            quiet.setLevel(logging.ERROR)
            try:
                await nursery.start(data.run)
            except Unavailable as exc:
                failure = f"cannot reach the exchange: {exc}"
            except trio.TooSlowError:
                failure = (
                    f"no answer within {settings.discovery_timeout} s from {settings.gamma_url}"
                )
            finally:
                quiet.setLevel(level)
            if not failure:
                if hub is not None:
                    await nursery.start(hub.run)
                    log.info(
                        "reference prices from %s (%s)",
                        hub.feed.name,
                        hub.feed.url,
                        extra={"event": "reference_feed", "feed": hub.feed.name},
                    )
                clock = data.clock
                yield LiveStart(
                    market_data=LiveWindows(data, hub),
                    first_start=data.first_start,
                    clock=MarketClock(clock.origin_ns, clock.trio_origin),
                    relay=ResyncRelay(data),
                    reference=hub,
                )
            nursery.cancel_scope.cancel()  # the socket and discovery run until told otherwise
    except BaseExceptionGroup as group:
        raise _single(group) from None
    if failure:
        raise CommandFailed(failure)


def _single(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The one exception a nursery wrapped, unwrapped (a group of several stays a group)."""
    while len(group.exceptions) == 1:
        inner = group.exceptions[0]
        if not isinstance(inner, BaseExceptionGroup):
            return inner
        group = inner
    return group


__all__ = [
    "LiveStart",
    "LiveWindows",
    "ReferenceHub",
    "ResyncRelay",
    "live_market",
    "reference_hub",
]
