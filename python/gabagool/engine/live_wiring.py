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
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import trio

from gabagool.cli import CommandFailed
from gabagool.engine.clock import MarketClock
from gabagool.engine.supervisor import WindowNotReady
from gabagool.engine.window import Window
from gabagool.venues.polymarket.gamma import WINDOW_SECONDS
from gabagool.venues.polymarket.live_feed import OUTCOMES, LiveMarketData, LiveWindowFeed
from gabagool.venues.polymarket.rest import Unavailable

log = logging.getLogger("gabagool.engine")

BIT = {"up": 1, "down": 2}


class LiveWindows:
    """`MarketData` over `LiveMarketData`: undiscovered future windows are retried, not ends."""

    def __init__(self, data: LiveMarketData) -> None:
        self.data = data

    def window(self, asset: str, start: int) -> LiveWindowFeed:
        try:
            return self.data.window(asset, start)
        except LookupError as exc:
            if start + WINDOW_SECONDS <= self.data.clock.now_s():
                raise  # over: it will never be served
            raise WindowNotReady(str(exc)) from None


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


@asynccontextmanager
async def live_market(data: LiveMarketData) -> AsyncIterator[LiveStart]:
    """Start `data` (its first discovery done) for the body; CommandFailed in one line when
    the exchange cannot be reached within `discovery_timeout`. What the body raises comes
    out as itself, not inside an exception group."""
    settings = data.settings
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
                clock = data.clock
                yield LiveStart(
                    market_data=LiveWindows(data),
                    first_start=data.first_start,
                    clock=MarketClock(clock.origin_ns, clock.trio_origin),
                    relay=ResyncRelay(data),
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


__all__ = ["LiveStart", "LiveWindows", "ResyncRelay", "live_market"]
