"""Reference-price sockets: PolyBolt (authenticated, spot and TWAP) and legacy RTDS (public,
Chainlink spot), streaming `ReferenceTick`s into a Trio channel.

A client runs as one task in the caller's nursery (`await feed.run(send_channel)`), closes
the channel when it gives up, returns when the receiving side is closed, and never raises
for anything the exchange does. Its state (`connecting`, `live`, `stale`, `failed`,
`stopped`) and `counters` say what happened; each kind of
trouble is logged once when it starts, never with a credential.

What it does with each trouble (POLYMARKET.md "Reference prices"):
- cannot connect, connection lost, close 4002 (slow consumer), a silent feed (no price for
  `stale_after`, even if the socket still answers pings): reconnect with exponential backoff
  and jitter, resubscribe; the backoff restarts after a connection that delivered prices;
- close 4003 (server draining): reconnect once after a uniform 0..`drain_max_delay` delay;
- authentication refused (an `error` reply to `auth`, or close 4001) and close 4008 (policy,
  i.e. a client bug): stop, state `failed`, the channel closed; retrying cannot help;
- an `error` reply to a subscription: counted and logged, the other subscriptions go on;
- `seq` gaps, `dropped`, duplicates, malformed frames: counted by the frame readers.
Jitter comes from a `random.Random` the caller can seed, so tests and replays repeat.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import trio
from trio_websocket import (
    ConnectionClosed,
    HandshakeError,
    WebSocketConnection,
)

from gabagool.config import PolymarketSettings, ReferenceSettings, Settings
from gabagool.venues.polymarket.reference_frames import (
    RTDS_TOPIC,
    SPOT_CHANNEL,
    TWAP_CHANNEL,
    FeedCounters,
    PolyBoltReader,
    ReferenceTick,
    RtdsReader,
    polybolt_symbol,
    rtds_symbol,
)
from gabagool.venues.polymarket.websocket import websocket_connection

log = logging.getLogger(__name__)

FeedState = Literal["connecting", "live", "stale", "failed", "stopped"]
MAX_SUBSCRIPTIONS = 64  # PolyBolt's limit per connection

CLOSE_AUTH = 4001
CLOSE_SLOW_CONSUMER = 4002
CLOSE_DRAINING = 4003
CLOSE_POLICY = 4008


@dataclass(frozen=True, slots=True)
class ApiCredentials:
    """The CLOB API credentials PolyBolt authenticates with; their repr shows none of them."""

    api_key: str
    secret: str
    passphrase: str

    def __repr__(self) -> str:
        return "ApiCredentials(***)"

    @classmethod
    def from_settings(cls, polymarket: PolymarketSettings) -> ApiCredentials | None:
        """The `[polymarket]` API key, secret and passphrase; None unless all three are set."""
        key, secret, passphrase = (polymarket.api_key, polymarket.api_secret,
                                   polymarket.api_passphrase)
        if not (key and secret and passphrase):
            return None
        return cls(key, secret, passphrase)


@dataclass(frozen=True, slots=True)
class FeedOptions:
    """Timings of a reference socket, in seconds (Trio's unit)."""

    connect_timeout: float = 10.0
    stale_after: float = 5.0
    reconnect_min: float = 0.5
    reconnect_max: float = 30.0
    drain_max_delay: float = 10.0
    ping_interval: float = 5.0  # RTDS's text PING
    twap_window_seconds: int = 60

    @classmethod
    def from_settings(cls, reference: ReferenceSettings) -> FeedOptions:
        return cls(
            connect_timeout=float(reference.connect_timeout),
            stale_after=float(reference.stale_after),
            reconnect_min=float(reference.reconnect_min),
            reconnect_max=float(reference.reconnect_max),
            drain_max_delay=float(reference.drain_max_delay),
            ping_interval=float(reference.rtds_ping_interval),
            twap_window_seconds=int(reference.twap_window),
        )


@dataclass(frozen=True, slots=True)
class _End:
    """How a connection ended: give up, or reconnect (after `delay`, else the backoff)."""

    why: str
    fatal: bool = False
    delay: float | None = None
    stopped: bool = False  # our own consumer went away: nothing is wrong, nothing to do


class _Fatal(Exception):
    """The exchange refused us in a way retrying cannot fix."""


class _SocketFeed:
    """The reconnect loop shared by both feeds; a subclass speaks one protocol."""

    name = "reference"

    def __init__(self, url: str, assets: list[str], options: FeedOptions,
                 rng: random.Random | None) -> None:
        if not assets:
            raise ValueError("a reference feed needs at least one asset")
        self.url = url
        self.assets = list(assets)
        self.options = options
        self.rng = rng if rng is not None else random.Random()
        self.counters = FeedCounters()
        self.state: FeedState = "connecting"
        self.failure: str | None = None
        self._delivered = False  # this connection sent a price

    async def run(self, send: trio.MemorySendChannel[ReferenceTick]) -> None:
        """Stream ticks into `send` until cancelled, or until the exchange refuses us for
        good (then `state == "failed"`, `failure` says why, and `send` is closed)."""
        async with send:
            attempt = 0
            outage = False  # said already: the rest of this run of failures is DEBUG
            while True:
                end = await self._connection(send)
                if end.stopped:
                    self.state = "stopped"
                    log.info("%s feed stopped: %s", self.name, end.why)
                    return
                if end.fatal:
                    self.state, self.failure = "failed", end.why
                    log.error("%s feed stopped: %s", self.name, end.why)
                    return
                if self._delivered:
                    attempt, outage = 0, False
                delay = end.delay if end.delay is not None else self._backoff(attempt)
                attempt += 1
                self.counters.reconnects += 1
                if self.state != "stale":
                    self.state = "connecting"
                # the first failure of an outage is news; the retries until the feed
                # delivers again are not (the windows say when their price goes stale)
                level = logging.DEBUG if outage else logging.WARNING
                outage = True
                log.log(level, "%s feed: %s; reconnecting in %.1f s (attempt %d)", self.name,
                        end.why, delay, attempt)
                await trio.sleep(delay)

    def _backoff(self, attempt: int) -> float:
        """Exponential, capped, with "equal jitter": half fixed, half uniform."""
        base = min(self.options.reconnect_max, self.options.reconnect_min * 2 ** min(attempt, 30))
        return base / 2 + self.rng.random() * base / 2

    async def _connection(self, send: trio.MemorySendChannel[ReferenceTick]) -> _End:
        self._delivered = False
        opts = self.options
        try:
            async with websocket_connection(self.url, connect_timeout=opts.connect_timeout,
                                            close_timeout=opts.connect_timeout) as ws:
                return await self._session(ws, send)
        except BaseExceptionGroup as group:  # a task of the connection's own nursery failed
            leaves = _leaves(group)
            end = self._end_of(leaves[0]) if len(leaves) == 1 else None
            if end is None:
                raise
            return end
        except Exception as exc:
            end = self._end_of(exc)
            if end is None:
                raise
            return end

    def _end_of(self, exc: BaseException) -> _End | None:
        """What the trouble means for the loop; None for a bug of ours (it propagates)."""
        if isinstance(exc, _Fatal):
            return _End(str(exc), fatal=True)
        if isinstance(exc, trio.BrokenResourceError | trio.ClosedResourceError):
            return _End("the receiving side of the tick channel closed", stopped=True)
        if isinstance(exc, ConnectionClosed):
            reason = exc.reason
            return self._closed(reason.code if reason else None, reason.reason if reason else None)
        if isinstance(exc, trio.TooSlowError):
            return _End(f"no reply from {self.url} within {self.options.connect_timeout} s")
        if isinstance(exc, HandshakeError | OSError):
            return _End(f"cannot connect to {self.url} ({type(exc).__name__})")
        return None

    def _closed(self, code: int | None, reason: str | None) -> _End:
        return _End(f"connection closed ({code} {(reason or '')[:60]})".rstrip())

    async def _session(self, ws: WebSocketConnection,
                       send: trio.MemorySendChannel[ReferenceTick]) -> _End:
        raise NotImplementedError

    async def _pump(self, ws: WebSocketConnection, send: trio.MemorySendChannel[ReferenceTick],
                    read: Any) -> _End:
        """Read frames until the socket closes or no price comes for `stale_after`."""
        deadline = trio.current_time() + self.options.stale_after
        while True:
            with trio.move_on_at(deadline) as silence:
                message = await ws.get_message()
            if silence.cancelled_caught:
                self.counters.stale += 1
                if self.state != "stale":
                    self.state = "stale"
                    log.warning("%s feed silent for %.1f s", self.name, self.options.stale_after)
                return _End("no price update")
            ticks = await read(ws, message)
            for tick in ticks:
                await send.send(tick)
            if ticks:
                if self.state != "live":
                    log.info("%s feed live (%s)", self.name, ", ".join(self.assets))
                self.state, self._delivered = "live", True
                deadline = trio.current_time() + self.options.stale_after


class PolyBoltFeed(_SocketFeed):
    """`price.crypto` (spot) and `price.crypto.twap` for each asset on one authenticated
    connection."""

    name = "PolyBolt"

    def __init__(self, url: str, assets: list[str], credentials: ApiCredentials,
                 options: FeedOptions | None = None, rng: random.Random | None = None) -> None:
        super().__init__(url, assets, options or FeedOptions(), rng)
        if 2 * len(self.assets) > MAX_SUBSCRIPTIONS:
            raise ValueError(f"{len(self.assets)} assets need more than {MAX_SUBSCRIPTIONS} "
                             "PolyBolt subscriptions on one connection")
        self._credentials = credentials
        self.reader = PolyBoltReader(self.assets, self.counters)
        self._rids = _rids()

    def _closed(self, code: int | None, reason: str | None) -> _End:
        if code == CLOSE_AUTH:
            self.counters.auth_failures += 1
            return _End("PolyBolt refused the credentials (close 4001); check "
                        "polymarket.api_key, api_secret and api_passphrase", fatal=True)
        if code == CLOSE_POLICY:
            return _End("PolyBolt closed for a policy violation (4008), a client bug; "
                        "not reconnecting", fatal=True)
        if code == CLOSE_DRAINING:
            self.counters.drains += 1
            return _End("PolyBolt is draining (close 4003)",
                        delay=self.rng.random() * self.options.drain_max_delay)
        if code == CLOSE_SLOW_CONSUMER:
            return _End("PolyBolt closed: slow consumer or missed pongs (4002)")
        return super()._closed(code, reason)

    async def _session(self, ws: WebSocketConnection,
                       send: trio.MemorySendChannel[ReferenceTick]) -> _End:
        self.reader.new_connection()
        await self._authenticate(ws)
        subscriptions = []
        for asset in self.assets:
            symbol = polybolt_symbol(asset)
            subscriptions.append({"channel": SPOT_CHANNEL, "filter": {"symbol": symbol}})
            subscriptions.append({"channel": TWAP_CHANNEL, "filter": {
                "symbol": symbol, "window_seconds": self.options.twap_window_seconds}})
        await ws.send_message(json.dumps({"op": "subscribe", "rid": next(self._rids),
                                          "subscriptions": subscriptions}))
        return await self._pump(ws, send, self._read)

    async def _authenticate(self, ws: WebSocketConnection) -> None:
        rid = next(self._rids)
        creds = self._credentials
        await ws.send_message(json.dumps({"op": "auth", "rid": rid, "auth": {
            "apiKey": creds.api_key, "secret": creds.secret, "passphrase": creds.passphrase}}))
        with trio.fail_after(self.options.connect_timeout):
            while True:
                ticks, control = self.reader.read(await ws.get_message())
                if control is None:
                    continue  # nothing is subscribed yet: a stray frame
                op = control.get("op")
                if op == "authed":
                    return
                if op == "error":
                    self.counters.auth_failures += 1
                    raise _Fatal(f"PolyBolt refused the credentials ({_code(control)}); check "
                                 "polymarket.api_key, api_secret and api_passphrase")
                await self._control(ws, control)

    async def _read(self, ws: WebSocketConnection, message: str | bytes) -> list[ReferenceTick]:
        ticks, control = self.reader.read(message)
        if control is not None:
            await self._control(ws, control)
        return ticks

    async def _control(self, ws: WebSocketConnection, control: dict[str, Any]) -> None:
        op = control.get("op")
        if op == "ping":
            await ws.send_message(json.dumps({"op": "pong", "rid": control.get("rid")}))
        elif op == "error":
            self.counters.subscribe_errors += 1
            log.warning("PolyBolt refused a subscription to %s: %s",
                        str(control.get("channel"))[:40], _code(control))
        elif op not in ("subscribed", "unsubscribed", "pong", "authed"):
            self.counters.unknown += 1


class RtdsFeed(_SocketFeed):
    """Legacy RTDS `crypto_prices_chainlink` for each asset: public, no TWAP channel; the
    client sends the text `PING` every `ping_interval`."""

    name = "RTDS"

    def __init__(self, url: str, assets: list[str], options: FeedOptions | None = None,
                 rng: random.Random | None = None) -> None:
        super().__init__(url, assets, options or FeedOptions(), rng)
        self.reader = RtdsReader(self.assets, self.counters)

    async def _session(self, ws: WebSocketConnection,
                       send: trio.MemorySendChannel[ReferenceTick]) -> _End:
        subscriptions = [
            {"topic": RTDS_TOPIC, "type": "*",
             "filters": json.dumps({"symbol": rtds_symbol(asset)}, separators=(",", ":"))}
            for asset in self.assets
        ]
        await ws.send_message(json.dumps({"action": "subscribe", "subscriptions": subscriptions}))
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._ping, ws)
            end = await self._pump(ws, send, self._read)
            nursery.cancel_scope.cancel()
        return end

    async def _ping(self, ws: WebSocketConnection) -> None:
        try:
            while True:
                await trio.sleep(self.options.ping_interval)
                await ws.send_message("PING")
        except ConnectionClosed:
            return  # the pump sees the close too, and decides

    async def _read(self, ws: WebSocketConnection, message: str | bytes) -> list[ReferenceTick]:
        return self.reader.read(message)


def reference_feed(settings: Settings, assets: list[str],
                   rng: random.Random | None = None) -> PolyBoltFeed | RtdsFeed | None:
    """The feed `reference.source` asks for: `auto` is PolyBolt when the CLOB API credentials
    are set, else RTDS; `off` is None. ValueError when PolyBolt is asked for without them."""
    reference = settings.reference
    options = FeedOptions.from_settings(reference)
    credentials = ApiCredentials.from_settings(settings.polymarket)
    source = reference.source
    if source == "off":
        return None
    if source == "auto":
        source = "polybolt" if credentials is not None else "rtds"
    if source == "rtds":
        return RtdsFeed(reference.rtds_url, assets, options, rng)
    if credentials is None:
        raise ValueError("reference.source = polybolt needs polymarket.api_key, api_secret "
                         "and api_passphrase")
    return PolyBoltFeed(reference.polybolt_url, assets, credentials, options, rng)


def _leaves(group: BaseExceptionGroup) -> list[BaseException]:
    out: list[BaseException] = []
    for exc in group.exceptions:
        out.extend(_leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc])
    return out


def _code(control: dict[str, Any]) -> str:
    """An error reply's code, cut short: the server's words, never our request."""
    return str(control.get("code") or control.get("message") or "no code")[:60]


def _rids() -> Iterator[str]:
    n = 0
    while True:
        n += 1
        yield f"r{n}"
