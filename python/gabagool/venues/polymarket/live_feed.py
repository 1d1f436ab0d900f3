"""Live market data as a `MarketData`: discovered windows, each a `WindowFeed` of the frames
the market socket receives for its tokens, in the shape the simulated and replayed feeds
yield: `(receive time in unix ns, raw frame bytes | None for a PONG)`.

Each feed keeps a shadow of the window's books (the core's `Market`, fed the same frames in
the same order as the engine's) to know, without the engine's help, when a token's book
can no longer be trusted and to rebuild it:
- the core found it inconsistent or saw a `tick_size_change` -> `GET /book` with the
  token's deltas buffered meanwhile and replayed (`Market.apply_rest_book`); a tick change
  also resubscribes the token for a WebSocket snapshot;
- the link was lost (dropped, dead or stalled) -> every book of the window starts a new
  epoch at once, before any later frame: the engine is handed a `tick_size_change` that
  keeps the tick (the core's "drop the book until a snapshot"), so nothing trades on a
  stale book; the resubscription's snapshots or `GET /book` bring it back.
A rebuilt book reaches the engine as a `book` snapshot holding the shadow's levels, so its
books match the shadow's frame for frame. Unreadable frames are counted and not handed on.
"""

from __future__ import annotations

import json
import logging
import random
from collections import deque
from typing import Any

import httpx
import trio

from gabagool import _core
from gabagool.config import PolymarketSettings
from gabagool.errors import CoreError
from gabagool.recording import MarketHeader
from gabagool.types import NS, WINDOW_SECONDS
from gabagool.venues.base import Outcome, ReferenceFrame
from gabagool.venues.polymarket.clob_public import ClobPublic
from gabagool.venues.polymarket.clock import UnixClock
from gabagool.venues.polymarket.discovery import DiscoveredWindow, Discovery
from gabagool.venues.polymarket.gamma import GammaClient, window_start
from gabagool.venues.polymarket.market_socket import Backoff, MarketSocket
from gabagool.venues.polymarket.rest import NotFound, RestClient, RetryPolicy, Unavailable

log = logging.getLogger("gabagool.polymarket")

OUTCOMES: tuple[Outcome, Outcome] = ("up", "down")
BIT = {"up": 1, "down": 2}
DISCOVERY_REFRESH = 60.0  # seconds between discoveries (the next window appears well ahead)
GAMMA_WINNER_POLL = 10.0  # seconds between Gamma looks for a settled winner
GAMMA_WINNER_PATIENCE = 600.0  # seconds after the end to keep looking

_LINK_DOWN = "link_down"
_END = "end"


class LiveWindowFeed:
    """One window on the live link: a `FrameSink` for the socket, a `WindowFeed` for the engine."""

    # frames come when the exchange sends them: the engine's window must not wait on the
    # next one to run its timers
    arrives_live = True

    def __init__(self, window: DiscoveredWindow, owner: LiveMarketData | None = None) -> None:
        self.window = window
        self.header: MarketHeader = window.header()
        self.tokens: tuple[str, ...] = window.tokens
        self.owner = owner
        self.shadow = _core.Market(
            window.up_token, window.down_token, _core.parse_price(window.tick_size)
        )
        self._inbox: deque[Any] = deque()
        self._wake = trio.Event()
        # bit mask of tokens whose rebuild is under way; a book never seen yet waits for the
        # subscription's dump or the window's first snapshot, not for REST
        self._resyncing = self.shadow.needs_resync()
        self._last_ns = 0
        self._tick_changes = {"up": 0, "down": 0}  # seen so far, epochs of our own included
        self.closed = False  # the engine has read the end
        self.detached = False  # unsubscribed: nothing more will be queued
        self.resolved: Outcome | None = None  # from `market_resolved`
        self.gamma_winner: Outcome | None = None
        # counters
        self.frames_seen = 0
        self.malformed = 0
        self.epochs = 0  # link losses handed on as new book epochs
        self.rest_resyncs = 0  # books rebuilt from `GET /book`
        self.resync_requests = 0

    # ---- FrameSink (called by the socket's reader) ------------------------------------------

    def deliver(self, t_ns: int, frame: str) -> None:
        self._inbox.append((t_ns, frame.encode()))
        self._wake.set()

    def alive(self, t_ns: int) -> None:
        inbox = self._inbox
        # a keep-alive matters only when no market frame is queued (a reference frame does
        # not speak for the market's link)
        if not inbox or isinstance(inbox[-1][-1], ReferenceFrame):
            inbox.append((t_ns, None))
            self._wake.set()

    def link_down(self, reason: str) -> None:
        self._inbox.append((_LINK_DOWN, reason))
        self._wake.set()

    def deliver_reference(self, t_ns: int, frame: ReferenceFrame) -> None:
        """A reference-price frame for the engine, in arrival order with the market's."""
        self._inbox.append((t_ns, frame))
        self._wake.set()

    def resubscribed(self, token: str) -> None:
        pass  # the dump's snapshots arrive as frames

    def rest_book(self, outcome: Outcome, body: bytes, t_ns: int) -> None:
        self._inbox.append(("rest", outcome, body, t_ns))
        self._wake.set()

    def close(self) -> None:
        """No more frames: the iterator ends once what is queued has been read."""
        self.detached = True
        self._inbox.append((_END,))
        self._wake.set()

    # ---- WindowFeed (read by the engine) -------------------------------------------------

    def frames(self) -> LiveWindowFeed:
        return self

    def fallback_outcome(self) -> Outcome | None:
        return self.gamma_winner

    def request_resync(self, outcome: Outcome) -> None:
        """The engine distrusts a book the shadow still trusts: rebuild it anyway."""
        self._start_resync(outcome, resubscribe=False)

    def __aiter__(self) -> LiveWindowFeed:
        return self

    async def __anext__(self) -> tuple[int, bytes | ReferenceFrame | None]:
        inbox = self._inbox
        while True:
            while not inbox:
                if self.closed:
                    raise StopAsyncIteration
                self._wake = trio.Event()
                await self._wake.wait()
            item = inbox.popleft()
            kind = item[0]
            if type(kind) is int:
                frame = item[1]
                self._last_ns = kind
                if frame is None or isinstance(frame, ReferenceFrame) or self._apply(frame):
                    return item  # type: ignore[no-any-return]
                continue
            if kind == "rest":
                rebuilt = self._rest(item[1], item[2], item[3])
                if rebuilt is not None:
                    return rebuilt
                continue
            if kind == _LINK_DOWN:
                return self._new_epoch(item[1])
            self.closed = True
            raise StopAsyncIteration

    # ---- the shadow books -----------------------------------------------------------------

    def _apply(self, frame: bytes) -> bool:
        """Apply to the shadow; False for a frame not to hand on (unreadable)."""
        shadow = self.shadow
        try:
            summary = shadow.apply_frame(frame)
        except CoreError as exc:
            self.malformed += 1
            log.warning("%s: unreadable frame dropped (%s): %.80r", self.header.slug, exc, frame)
            return False
        self.frames_seen += 1
        if summary.resolved is not None and self.resolved is None:
            self.resolved = summary.resolved
        inbox = self._inbox
        if not inbox or isinstance(inbox[0][-1], ReferenceFrame):
            shadow.end_batch()  # the received batch ends: burst checks are due
        needs = shadow.needs_resync()
        if needs != self._resyncing:
            self._resync_changed(needs)
        return True

    def _resync_changed(self, needs: int) -> None:
        fresh = needs & ~self._resyncing
        self._resyncing &= needs  # cleared bits: a WebSocket snapshot rebuilt the book
        if not fresh:
            return
        counters = self.shadow.counters()
        for outcome in OUTCOMES:
            ticks = counters.get(f"{outcome}_tick_changes", 0)
            tick_changed = ticks > self._tick_changes[outcome]
            self._tick_changes[outcome] = ticks
            if fresh & BIT[outcome]:
                self._start_resync(outcome, resubscribe=tick_changed)

    def _start_resync(self, outcome: Outcome, resubscribe: bool) -> None:
        self._resyncing |= BIT[outcome]
        self.resync_requests += 1
        self.shadow.begin_resync(outcome)  # deltas are buffered from here on
        if self.owner is not None:
            self.owner.fetch_book(self, outcome)
            if resubscribe:
                self.owner.socket_resubscribe([self.shadow.token(outcome)])

    def _rest(self, outcome: Outcome, body: bytes, t_ns: int) -> tuple[int, bytes] | None:
        try:
            self.shadow.apply_rest_book(outcome, body)
        except CoreError as exc:
            self.malformed += 1
            log.warning("%s: unreadable REST book (%s)", self.header.slug, exc)
            if self.owner is not None:
                self.owner.fetch_book(self, outcome)
            return None
        if self.shadow.needs_resync() & BIT[outcome]:
            if self.owner is not None:  # a gap in the buffered updates: try a fresher one
                self.owner.fetch_book(self, outcome)
            return None
        self._resyncing &= ~BIT[outcome]
        self.rest_resyncs += 1
        return max(t_ns, self._last_ns), self._snapshot_frame(outcome, body)

    def _snapshot_frame(self, outcome: Outcome, body: bytes) -> bytes:
        shadow = self.shadow
        fmt = _core.format_micros
        try:
            timestamp = str(json.loads(body).get("timestamp", "0"))
        except (ValueError, AttributeError):
            timestamp = "0"
        event = {
            "event_type": "book",
            "asset_id": shadow.token(outcome),
            "market": self.header.condition_id,
            "bids": [{"price": fmt(p), "size": fmt(s)} for p, s in shadow.levels(outcome, "bid")],
            "asks": [{"price": fmt(p), "size": fmt(s)} for p, s in shadow.levels(outcome, "ask")],
            "tick_size": fmt(shadow.tick(outcome)),
            "timestamp": timestamp,
            "hash": f"gabagool-resync-{self.rest_resyncs}",
        }
        return json.dumps([event]).encode()

    def _new_epoch(self, reason: str) -> tuple[int, bytes]:
        """The link was lost: every book of the window is stale from now on."""
        self.epochs += 1
        log.warning("%s: link lost (%s): books dropped until a snapshot", self.header.slug, reason)
        events = []
        t_ns = self._last_ns
        for outcome in OUTCOMES:
            tick = _core.format_micros(self.shadow.tick(outcome))
            events.append({
                "event_type": "tick_size_change",
                "asset_id": self.shadow.token(outcome),
                "market": self.header.condition_id,
                "old_tick_size": tick,
                "new_tick_size": tick,
                "timestamp": str(t_ns // 1_000_000),
                "hash": f"gabagool-epoch-{self.epochs}",
            })
        frame = json.dumps(events).encode()
        self.shadow.apply_frame(frame)
        counters = self.shadow.counters()
        for outcome in OUTCOMES:
            self._tick_changes[outcome] = counters.get(f"{outcome}_tick_changes", 0)
        for outcome in OUTCOMES:
            self._resyncing |= BIT[outcome]
            self.shadow.begin_resync(outcome)
            if self.owner is not None:
                self.owner.fetch_book(self, outcome)
        return t_ns, frame


class LiveMarketData:
    """The live `MarketData`: discovery every minute, one market socket, a feed per window.

    Start it in a nursery (`await nursery.start(data.run)`): it returns once the first
    discovery succeeded (`Unavailable` if it cannot within `discovery_timeout`). Then
    `window(asset, start)` hands out feeds for discovered windows.

    Frames are stamped with unix ns read through `clock`: an engine pacing them by market
    time must read the same clock (market ns = `clock.ns_at(trio.current_time())`), so they
    are due the moment they arrive. A book the engine distrusts on its own (its core found
    a fault the shadow did not) is rebuilt with `feed.request_resync(outcome)`.
    """

    def __init__(
        self,
        settings: PolymarketSettings,
        assets: list[str],
        *,
        clock: UnixClock | None = None,
        seed: int = 0,
        resolution_wait: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.assets = assets
        self._clock = clock
        self.rng = random.Random(seed)
        self.resolution_wait = resolution_wait
        self.transport = transport
        self.discovered: dict[tuple[str, int], DiscoveredWindow] = {}
        self.feeds: dict[tuple[str, int], LiveWindowFeed] = {}
        self.discovery: Discovery | None = None
        self.clob: ClobPublic | None = None
        self.socket: MarketSocket | None = None
        self._nursery: trio.Nursery | None = None
        self.book_fetches = 0
        self.resolution_warnings: list[str] = []

    @property
    def clock(self) -> UnixClock:
        if self._clock is None:
            raise RuntimeError("LiveMarketData.clock is set when run() starts")
        return self._clock

    @property
    def first_start(self) -> int:
        return window_start(self.clock.now_s())

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        if self._clock is None:
            self._clock = UnixClock.from_wall()
        s = self.settings
        timeout = httpx.Timeout(float(s.http_timeout))
        async with httpx.AsyncClient(timeout=timeout, transport=self.transport) as client:
            rest = RestClient(client, RetryPolicy(rng=random.Random(self.rng.random())))
            self.clob = ClobPublic(rest, s.clob_url)
            self.discovery = Discovery(GammaClient(rest, s.gamma_url), self.clob)
            self.socket = MarketSocket(
                s.market_ws_url,
                self.clock,
                ping_interval=float(s.ping_interval),
                stall_after=float(s.stall_after),
                connect_timeout=float(s.http_timeout),
                backoff=Backoff(rng=random.Random(self.rng.random())),
            )
            with trio.fail_after(float(s.discovery_timeout)):
                await self.discover()
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                await nursery.start(self.socket.run)
                nursery.start_soon(self._discover_loop)
                task_status.started()

    async def discover(self) -> list[DiscoveredWindow]:
        assert self.discovery is not None
        found = await self.discovery.windows(self.assets, self.clock.now_s())
        for window in found:
            self.discovered[(window.asset, window.start)] = window
        oldest = window_start(self.clock.now_s()) - 2 * WINDOW_SECONDS
        for key in [k for k in self.discovered if k[1] < oldest]:
            del self.discovered[key]
        for key in [k for k, feed in self.feeds.items() if feed.detached]:
            del self.feeds[key]
        return found

    async def _discover_loop(self) -> None:
        while True:
            await trio.sleep(DISCOVERY_REFRESH)
            try:
                with trio.fail_after(float(self.settings.discovery_timeout)):
                    await self.discover()
            except (Unavailable, trio.TooSlowError) as exc:
                log.warning("discovery failed, keeping the windows known: %s", exc)

    # ---- MarketData -----------------------------------------------------------------------

    def window(self, asset: str, start: int) -> LiveWindowFeed:
        key = (asset, start)
        window = self.discovered.get(key)
        if window is None:
            raise LookupError(f"{asset}-updown-15m-{start} has not been discovered")
        if self.socket is None or self._nursery is None:
            raise RuntimeError("LiveMarketData.window() before run() started")
        feed = self.feeds.get(key)
        if feed is None or feed.detached:
            feed = LiveWindowFeed(window, self)
            self.feeds[key] = feed
            self.socket.add(feed, until=self.clock.trio_time(window.end * NS))
            self._nursery.start_soon(self._settle, feed)
        return feed

    # ---- helpers the feeds call -----------------------------------------------------------

    def fetch_book(self, feed: LiveWindowFeed, outcome: Outcome) -> None:
        if self._nursery is not None:
            self._nursery.start_soon(self._fetch_book, feed, outcome)

    def socket_resubscribe(self, tokens: list[str]) -> None:
        if self.socket is not None:
            self.socket.resubscribe(tokens)

    async def _fetch_book(self, feed: LiveWindowFeed, outcome: Outcome) -> None:
        assert self.clob is not None
        token = feed.shadow.token(outcome)
        backoff = Backoff(rng=random.Random(self.rng.random()))
        failures = 0
        while not feed.detached:
            try:
                body = await self.clob.book(token)
            except (Unavailable, NotFound) as exc:
                failures += 1
                delay = backoff.delay(failures)
                log.warning("%s %s: GET /book failed (%s); again in %.1f s",
                            feed.header.slug, outcome, exc, delay)
                await trio.sleep(delay)
                continue
            self.book_fetches += 1
            feed.rest_book(outcome, body, self.clock.now_ns())
            return

    async def _settle(self, feed: LiveWindowFeed) -> None:
        """After the window: the winner from Gamma beside `market_resolved`, then unsubscribe."""
        header = feed.header
        clock = self.clock
        await trio.sleep_until(clock.trio_time(header.end * NS))
        give_up = clock.trio_time((header.end + int(GAMMA_WINNER_PATIENCE)) * NS)
        detach = clock.trio_time(header.end * NS) + self.resolution_wait
        detached = False
        assert self.discovery is not None
        while feed.gamma_winner is None and trio.current_time() < give_up:
            try:
                winner = await self.discovery.gamma_winner(header.asset, header.start)
            except Unavailable as exc:
                log.warning("%s: Gamma unreachable for the winner: %s", header.slug, exc)
                winner = None
            feed.gamma_winner = winner  # type: ignore[assignment]
            if winner is None:
                if not detached and trio.current_time() >= detach:
                    detached = self._detach(feed)
                await trio.sleep(GAMMA_WINNER_POLL)
        if not detached:
            await trio.sleep_until(detach)
            self._detach(feed)
        self._compare(feed)

    def _detach(self, feed: LiveWindowFeed) -> bool:
        if self.socket is not None:
            self.socket.remove(feed)
        feed.close()
        return True

    def _compare(self, feed: LiveWindowFeed) -> None:
        slug = feed.header.slug
        if feed.resolved is None:
            gamma = feed.gamma_winner or "nothing"
            text = f"{slug}: market_resolved never came; Gamma says {gamma}"
        elif feed.gamma_winner is None:
            text = f"{slug}: market_resolved says {feed.resolved}; Gamma has not settled"
        elif feed.gamma_winner != feed.resolved:
            text = (f"{slug}: market_resolved says {feed.resolved} but Gamma says "
                    f"{feed.gamma_winner}")
        else:
            return
        self.resolution_warnings.append(text)
        log.warning("%s", text)
