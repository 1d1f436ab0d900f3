"""The market channel: one WebSocket for every subscribed token, kept alive and honest.

- Subscribes with `initial_dump` (without it some tokens never get a first snapshot) and
  `custom_feature_enabled` (for `best_bid_ask`, `new_market`, `market_resolved`); tokens
  are added and removed at rollover with `operation` messages, without reconnecting.
- Sends the text `PING` every `ping_interval` once subscribed; a link with no PONG and no
  frame for two intervals is dead and replaced.
- A token whose frames stop far beyond its usual rate while PONGs keep coming is a silent
  stall (the exchange does this, for hours): the connection is replaced, and the sinks
  resync from a snapshot.
- Reconnects with exponential backoff and full jitter (seeded), then resubscribes.

Frames are handed on untouched, as received, with their receive time (unix ns read through
Trio's clock); parsing is the core's. A frame goes to every sink whose token it names.
"""

from __future__ import annotations

import json
import logging
import math
import random
from collections.abc import Iterable
from typing import Any, Protocol
from urllib.parse import urlsplit

import trio
from trio_websocket import (
    ConnectionClosed,
    ConnectionRejected,
    ConnectionTimeout,
    DisconnectionTimeout,
    HandshakeError,
    WebSocketConnection,
)

from gabagool.venues.polymarket.clock import UnixClock
from gabagool.venues.polymarket.websocket import websocket_connection

log = logging.getLogger("gabagool.polymarket")

MAX_TOKENS = 400  # the exchange stops sending snapshots past ~500 per connection
STALL_RATE_MULTIPLE = 20  # silent this many usual intervals (and `stall_after` s) = stalled
RATE_MIN_FRAMES = 5  # frames before a token's usual rate is trusted
RATE_WEIGHT = 0.1  # EWMA weight of the newest inter-frame interval
STALL_CHECK_INTERVAL = 1.0  # seconds between stall checks


class FrameSink(Protocol):
    """A consumer of one window's frames (a live window feed, a recorder's file)."""

    @property
    def tokens(self) -> tuple[str, ...]: ...

    def deliver(self, t_ns: int, frame: str) -> None: ...

    def alive(self, t_ns: int) -> None:
        """A PONG: the link is up even if the market is quiet."""

    def link_down(self, reason: str) -> None:
        """The connection was lost or replaced: books are stale until the next snapshot."""

    def resubscribed(self, token: str) -> None:
        """A fresh subscription (with `initial_dump`) was sent for `token`."""


class Stalled(Exception):
    """A token's frames stopped while the link answered PINGs."""


class DeadLink(Exception):
    """Neither a PONG nor a frame for too long."""


class _TokenRate:
    __slots__ = ("frames", "interval", "last", "until")

    def __init__(self, now: float, until: float = math.inf) -> None:
        self.until = until  # Trio time after which silence is normal (the window ended)
        self.last = now
        self.interval = 0.0
        self.frames = 0

    def seen(self, now: float) -> None:
        gap = now - self.last
        self.last = now
        self.frames += 1
        if self.frames == 2:
            self.interval = gap
        elif self.frames > 2:
            self.interval += RATE_WEIGHT * (gap - self.interval)


class Backoff:
    """Seconds before reconnect attempt n: exponential, capped, full jitter, seeded."""

    def __init__(self, base: float = 0.5, cap: float = 30.0, rng: random.Random | None = None):
        self.base = base
        self.cap = cap
        self.rng = rng or random.Random(0)

    def delay(self, failures: int) -> float:
        ceiling = min(self.cap, self.base * 2 ** max(0, failures - 1))
        return self.rng.uniform(0, ceiling)


class MarketSocket:
    def __init__(
        self,
        url: str,
        clock: UnixClock,
        *,
        ping_interval: float = 10.0,
        stall_after: float = 60.0,
        connect_timeout: float = 10.0,
        backoff: Backoff | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ValueError(f"market socket URL {url!r} is not ws://host/... or wss://host/...")
        self.url = url
        self.clock = clock
        self.ping_interval = ping_interval
        self.stall_after = stall_after
        self.connect_timeout = connect_timeout
        self.backoff = backoff or Backoff()
        self.sinks: list[FrameSink] = []
        self.until: dict[str, float] = {}
        self.rates: dict[str, _TokenRate] = {}
        # counters (the view, the API and tests read them)
        self.connects = 0
        self.reconnects = 0
        self.stalls = 0
        self.dead_links = 0
        self.frames = 0
        self.pongs = 0
        self.unrouted = 0
        self.connected = trio.Event()  # set on each subscription, replaced on loss
        self._ws: WebSocketConnection | None = None
        self._outbox_send, self._outbox = trio.open_memory_channel[str](math.inf)
        self._last_heard = -math.inf
        self._has_sinks = trio.Event()

    # ---- subscriptions ------------------------------------------------------------------

    @property
    def tokens(self) -> list[str]:
        return [token for sink in self.sinks for token in sink.tokens]

    def add(self, sink: FrameSink, until: float = math.inf) -> None:
        """Start routing the sink's tokens; subscribes them now if connected. Past `until`
        (Trio time: the window's end) a silent token is not a stall."""
        if len(self.tokens) + len(sink.tokens) > MAX_TOKENS:
            raise ValueError(f"more than {MAX_TOKENS} tokens on one market connection")
        self.sinks.append(sink)
        self._has_sinks.set()
        now = trio.current_time()
        for token in sink.tokens:
            self.until[token] = until
            self.rates[token] = _TokenRate(now, until)
        if self._ws is not None:
            self._queue(_subscribe_op("subscribe", sink.tokens))
            for token in sink.tokens:
                sink.resubscribed(token)

    def remove(self, sink: FrameSink) -> None:
        if sink not in self.sinks:
            return
        self.sinks.remove(sink)
        for token in sink.tokens:
            self.rates.pop(token, None)
            self.until.pop(token, None)
        if self._ws is not None:
            self._queue(json.dumps({"operation": "unsubscribe", "assets_ids": list(sink.tokens)}))

    def resubscribe(self, tokens: Iterable[str]) -> None:
        """Ask for fresh snapshots (after a `tick_size_change`): unsubscribe and subscribe
        with `initial_dump`, on the same connection."""
        tokens = list(tokens)
        if self._ws is None or not tokens:
            return  # the next connection subscribes everything with a dump anyway
        self._queue(json.dumps({"operation": "unsubscribe", "assets_ids": tokens}))
        self._queue(_subscribe_op("subscribe", tokens))

    def _queue(self, message: str) -> None:
        self._outbox_send.send_nowait(message)

    # ---- the connection loop ----------------------------------------------------------------

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Connect, subscribe, read; on any loss reconnect with backoff. Runs until cancelled.
        `nursery.start(socket.run)` returns at once: the first connection may take a while."""
        task_status.started()
        failures = 0
        while True:
            while not self.sinks:  # nothing to subscribe: no connection to keep alive
                self._has_sinks = trio.Event()
                await self._has_sinks.wait()
            subscribed = False
            try:
                async with websocket_connection(
                    self.url, connect_timeout=self.connect_timeout, close_timeout=1.0
                ) as ws:
                    try:
                        self.connects += 1
                        if self.connects > 1:
                            self.reconnects += 1
                        await self._subscribe_all(ws)
                        subscribed = True
                        failures = 0
                        await self._serve(ws)
                    finally:
                        self._lost()
            except Exception as exc:  # noqa: BLE001 - classified below, others re-raised
                reason = self._classify(exc)
            if not subscribed:
                failures += 1
            delay = self.backoff.delay(max(1, failures))
            log.warning("market socket: %s; reconnecting in %.2f s", reason, delay)
            for sink in list(self.sinks):
                sink.link_down(reason)
            await trio.sleep(delay)

    def _classify(self, exc: Exception) -> str:
        """One line for a lost connection; anything unexpected is re-raised (a bug)."""
        leaves = list(_leaves(exc))
        for leaf in leaves:
            if isinstance(leaf, Stalled):
                self.stalls += 1
                return f"silent stall: {leaf}"
            if isinstance(leaf, DeadLink):
                self.dead_links += 1
                return f"dead link: {leaf}"
        for leaf in leaves:
            if isinstance(leaf, ConnectionClosed):
                return f"closed by the exchange: {leaf.reason}"
            if isinstance(leaf, _CONNECT_ERRORS):
                return f"cannot connect to {self.url}: {type(leaf).__name__}: {leaf}"
        raise exc

    def _lost(self) -> None:
        self._ws = None
        self.connected = trio.Event()
        # queued operations were for the lost connection; the next one subscribes everything
        while True:
            try:
                self._outbox.receive_nowait()
            except trio.WouldBlock:
                break

    async def _subscribe_all(self, ws: WebSocketConnection) -> None:
        tokens = self.tokens
        # from here a token added while the subscription is sent is queued as an operation
        self._ws = ws
        await ws.send_message(json.dumps({
            "type": "market",
            "assets_ids": tokens,
            "initial_dump": True,
            "custom_feature_enabled": True,
        }))
        now = trio.current_time()
        self._last_heard = now
        for token in tokens:
            self.rates[token] = _TokenRate(now, self.until.get(token, math.inf))
        for sink in list(self.sinks):
            for token in sink.tokens:
                sink.resubscribed(token)
        self.connected.set()

    async def _serve(self, ws: WebSocketConnection) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._pinger, ws)
            nursery.start_soon(self._sender, ws)
            nursery.start_soon(self._watch, ws)
            await self._reader(ws)
            nursery.cancel_scope.cancel()

    async def _reader(self, ws: WebSocketConnection) -> None:
        clock, rates = self.clock, self.rates
        while True:
            message = await ws.get_message()
            now = trio.current_time()
            self._last_heard = now
            t_ns = clock.ns_at(now)
            if isinstance(message, bytes):
                message = message.decode("utf-8", "replace")
            if message == "PONG":
                self.pongs += 1
                for sink in self.sinks:
                    sink.alive(t_ns)
                continue
            self.frames += 1
            routed = False
            for sink in self.sinks:
                named = False
                for token in sink.tokens:
                    if token in message:
                        named = True
                        rate = rates.get(token)
                        if rate is not None:
                            rate.seen(now)
                if named:
                    routed = True
                    sink.deliver(t_ns, message)
            if not routed:
                self.unrouted += 1

    async def _pinger(self, ws: WebSocketConnection) -> None:
        while True:
            await trio.sleep(self.ping_interval)
            await ws.send_message("PING")

    async def _sender(self, ws: WebSocketConnection) -> None:
        async for message in self._outbox:
            await ws.send_message(message)

    async def _watch(self, ws: WebSocketConnection) -> None:
        """Dead link (nothing heard) and silent stalls (one token's frames stopped)."""
        dead_after = 2 * self.ping_interval + 1
        while True:
            await trio.sleep(STALL_CHECK_INTERVAL)
            now = trio.current_time()
            if now - self._last_heard > dead_after:
                raise DeadLink(f"nothing heard for {now - self._last_heard:.1f} s")
            for token, rate in self.rates.items():
                if rate.frames < RATE_MIN_FRAMES or now > rate.until:
                    continue
                limit = max(self.stall_after, STALL_RATE_MULTIPLE * rate.interval)
                silent = now - rate.last
                if silent > limit:
                    raise Stalled(
                        f"token ...{token[-8:]} silent {silent:.1f} s "
                        f"(usual interval {rate.interval:.2f} s)"
                    )


_CONNECT_ERRORS = (
    OSError,
    HandshakeError,
    ConnectionRejected,
    ConnectionTimeout,
    DisconnectionTimeout,
    trio.BrokenResourceError,
    trio.TooSlowError,
)


def _leaves(exc: BaseException) -> Iterable[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from _leaves(inner)
    else:
        yield exc


def _subscribe_op(operation: str, tokens: Iterable[str]) -> str:
    return json.dumps({
        "operation": operation,
        "assets_ids": list(tokens),
        "initial_dump": True,
        "custom_feature_enabled": True,
    })
