"""A fake Polymarket on 127.0.0.1: Gamma and CLOB REST over HTTP (h11 on Trio) and the market
channel over trio-websocket, serving windows simulated by `gabagool.sim`, with fault injection.

The fake's own clock maps Trio time to unix time (`UnixClock`), so it runs on a virtual
clock (`loopback_clock`, which never jumps while bytes it sent are unread by a waiting reader):
each window's frames are streamed at their simulated time to the connections subscribed to
its tokens, and applied to the fake's books (the truth `GET /book` and the tests compare to).

Faults: `drop_connections()` (the socket dies mid-window), `stall_connections()` (PONGs
keep coming, book frames stop), `inject(text)` (a malformed or scripted frame),
`tick_size_change(token)`, `gamma_errors` (statuses the next Gamma requests answer: 500,
429 with Retry-After), `drop_resolution` (no `market_resolved` is sent).
"""

from __future__ import annotations

import datetime
import json
import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any
from urllib.parse import parse_qs, urlsplit

import h11
import msgspec
import trio
from gabagool import _core
from gabagool.sim import WindowSimulator, simulate
from gabagool.types import NS
from gabagool.venues.polymarket.clock import UnixClock
from trio_websocket import ConnectionClosed, WebSocketConnection, WebSocketRequest, serve_websocket

MS = 1_000_000
_numbers = msgspec.json.Encoder(decimal_format="number")


def _iso(unix_s: int) -> str:
    return datetime.datetime.fromtimestamp(unix_s, tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class FakeWindow:
    sim: WindowSimulator
    frames: list[tuple[int, str]]
    market: Any  # the truth: `_core.Market` with every frame streamed so far
    outcome: str  # "up" | "down", the simulator's rule
    last_ms: int = 0
    tick_override: dict[str, str] = field(default_factory=dict)
    resolved_sent: bool = False
    streamed: int = 0  # frames streamed so far
    delivered: int = 0  # of those, frames at least one subscribed connection was sent

    @property
    def header(self) -> Any:
        return self.sim.header

    @property
    def tokens(self) -> tuple[str, str]:
        return (self.sim.up_token, self.sim.down_token)


class FakeConnection:
    def __init__(self, ws: WebSocketConnection) -> None:
        self.ws = ws
        self.tokens: set[str] = set()
        self.subscribed = False
        self.stalled = False
        self.pings = 0
        self.sent_frames = 0
        self.send, self.receive = trio.open_memory_channel[str](math.inf)
        self.scope = trio.CancelScope()


class FakePolymarket:
    def __init__(
        self,
        assets: Iterable[str],
        first_start: int,
        windows: int = 2,
        seed: int = 7,
        *,
        clob_tokens_down_first: bool = True,
    ) -> None:
        self.first_start = first_start
        self.windows: dict[tuple[str, int], FakeWindow] = {}
        for asset in assets:
            for sim in simulate(asset, windows, seed, start=first_start):
                frames = list(sim.frames())  # runs the model: sets the outcome too
                market = _core.Market(sim.up_token, sim.down_token, 10_000)
                self.windows[(asset, sim.start)] = FakeWindow(
                    sim=sim, frames=frames, market=market, outcome=sim.outcome or "up"
                )
        self.by_token: dict[str, FakeWindow] = {}
        for window in self.windows.values():
            for token in window.tokens:
                self.by_token[token] = window
        # Gamma lists Down first for odd windows: clients must map tokens by label
        self.down_first = clob_tokens_down_first
        self.connections: list[FakeConnection] = []
        self.gamma_errors: list[int] = []  # statuses for the next Gamma requests
        self.gamma_bodies: dict[str, str] = {}  # slug -> body served instead (malformed)
        self.on_send: Callable[[str], None] | None = None  # benches stamp frames here
        self.retry_after = "1"
        self.drop_resolution = False
        self.gamma_winner: dict[str, str] = {}  # slug -> the winner Gamma reports instead
        self.gamma_requests = 0
        self.book_requests = 0
        self.subscribe_messages: list[dict[str, Any]] = []
        self.connections_accepted = 0
        self.clock: UnixClock | None = None
        self.http_port = 0
        self.ws_port = 0
        self._nursery: trio.Nursery | None = None

    # ---- lifecycle -----------------------------------------------------------------------

    @property
    def gamma_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def clob_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}/ws/market"

    async def run(self, clock: UnixClock, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Serve until cancelled; `nursery.start(fake.run, clock)` returns once bound."""
        self.clock = clock
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            listeners = await nursery.start(
                partial(trio.serve_tcp, self._http_connection, 0, host="127.0.0.1")
            )
            self.http_port = listeners[0].socket.getsockname()[1]
            server = await nursery.start(serve_websocket, self._ws_handler, "127.0.0.1", 0, None)
            self.ws_port = server.port
            for window in self.windows.values():
                nursery.start_soon(self._stream, window)
            task_status.started()

    # ---- the market: frames at their time ------------------------------------------------

    async def _stream(self, window: FakeWindow) -> None:
        assert self.clock is not None
        for t_ns, text in window.frames:
            await trio.sleep_until(self.clock.trio_time(t_ns))
            if '"market_resolved"' in text:
                window.resolved_sent = not self.drop_resolution
                if self.drop_resolution:
                    continue
            window.market.apply_frame(text)
            window.market.end_batch()
            window.streamed += 1
            self._broadcast(window, text, t_ns)

    def _broadcast(self, window: FakeWindow, text: str, t_ns: int | None = None) -> None:
        if t_ns is not None:
            window.last_ms = max(window.last_ms, t_ns // MS)
        sent = False
        for conn in self.connections:
            if conn.stalled or not conn.subscribed:
                continue
            if any(token in conn.tokens for token in window.tokens):
                conn.send.send_nowait(text)
                conn.sent_frames += 1
                sent = True
        if sent and t_ns is not None:
            window.delivered += 1

    def book_event(self, window: FakeWindow, token: str, rest: bool = False) -> dict[str, Any]:
        outcome = "up" if token == window.sim.up_token else "down"
        market = window.market
        bids = [{"price": _core.format_micros(p), "size": _core.format_micros(s)}
                for p, s in market.levels(outcome, "bid")]
        asks = [{"price": _core.format_micros(p), "size": _core.format_micros(s)}
                for p, s in market.levels(outcome, "ask")]
        # levels come best first; REST lists bids ascending and asks descending (best last)
        if rest:
            bids.sort(key=lambda level: _core.parse_price(level["price"]))
            asks.sort(key=lambda level: -_core.parse_price(level["price"]))
        tick = window.tick_override.get(token) or _core.format_micros(market.tick(outcome))
        event: dict[str, Any] = {
            "market": window.header.condition_id,
            "asset_id": token,
            "timestamp": str(window.last_ms),
            "hash": f"fake-{token[-6:]}-{window.last_ms}-{len(bids)}-{len(asks)}",
            "bids": bids,
            "asks": asks,
            "tick_size": tick,
        }
        if rest:
            event["min_order_size"] = window.header.min_order_size
            event["neg_risk"] = False
        else:
            event["event_type"] = "book"
        return event

    # ---- faults --------------------------------------------------------------------------

    def drop_connections(self) -> int:
        dropped = 0
        for conn in list(self.connections):
            conn.scope.cancel()
            dropped += 1
        return dropped

    def stall_connections(self) -> None:
        for conn in self.connections:
            conn.stalled = True

    def inject(self, window: FakeWindow, text: str) -> None:
        """Send `text` to every connection subscribed to the window (nothing applied here)."""
        self._broadcast(window, text)

    def tick_size_change(self, window: FakeWindow, token: str, new_tick: str = "0.001") -> None:
        old = window.tick_override.get(token) or window.header.tick_size
        window.tick_override[token] = new_tick
        frame = {
            "event_type": "tick_size_change",
            "market": window.header.condition_id,
            "asset_id": token,
            "old_tick_size": old,
            "new_tick_size": new_tick,
            "timestamp": str(window.last_ms),
        }
        self._broadcast(window, json.dumps(frame))

    def window_at(self, asset: str, start: int) -> FakeWindow:
        return self.windows[(asset, start)]

    # ---- the market socket ---------------------------------------------------------------

    async def _ws_handler(self, request: WebSocketRequest) -> None:
        ws = await request.accept()
        conn = FakeConnection(ws)
        self.connections.append(conn)
        self.connections_accepted += 1
        try:
            with conn.scope:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._ws_writer, conn)
                    await self._ws_reader(conn)
                    nursery.cancel_scope.cancel()
        finally:
            # dropped or done: trio-websocket closes the connection when the handler returns
            self.connections.remove(conn)

    async def _ws_writer(self, conn: FakeConnection) -> None:
        async for text in conn.receive:
            if self.on_send is not None:
                self.on_send(text)
            try:
                await conn.ws.send_message(text)
            except ConnectionClosed:
                return

    async def _ws_reader(self, conn: FakeConnection) -> None:
        while True:
            try:
                message = await conn.ws.get_message()
            except ConnectionClosed:
                return
            if message == "PING":
                conn.pings += 1
                conn.send.send_nowait("PONG")
                continue
            try:
                body = json.loads(message)
            except ValueError:
                conn.send.send_nowait("INVALID OPERATION")
                continue
            self.subscribe_messages.append(body)
            ids = [i for i in body.get("assets_ids", []) if isinstance(i, str)]
            if body.get("type") == "market" or body.get("operation") == "subscribe":
                conn.tokens.update(ids)
                conn.subscribed = True
                if body.get("initial_dump", body.get("type") == "market"):
                    dump = [self.book_event(self.by_token[t], t) for t in ids
                            if t in self.by_token and self._has_book(t)]
                    if dump:
                        conn.send.send_nowait(json.dumps(dump))
            elif body.get("operation") == "unsubscribe":
                conn.tokens.difference_update(ids)

    def _has_book(self, token: str) -> bool:
        window = self.by_token[token]
        outcome = "up" if token == window.sim.up_token else "down"
        return bool(window.market.has_snapshot(outcome))

    # ---- HTTP: Gamma and CLOB REST ---------------------------------------------------------

    async def _http_connection(self, stream: trio.SocketStream) -> None:
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    data = await stream.receive_some(65536)
                    conn.receive_data(data)
                    if not data:
                        return
                    continue
                if isinstance(event, h11.Request):
                    status, body, headers = self._route(event.target.decode())
                    while not isinstance(conn.next_event(), h11.EndOfMessage):
                        pass
                    head = [("content-type", "application/json"),
                            ("content-length", str(len(body))), *headers]
                    await stream.send_all(conn.send(h11.Response(status_code=status, headers=head)))
                    await stream.send_all(conn.send(h11.Data(data=body)))
                    await stream.send_all(conn.send(h11.EndOfMessage()))
                    conn.start_next_cycle()
                    continue
                if isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                    return
        except (h11.RemoteProtocolError, trio.BrokenResourceError, trio.ClosedResourceError):
            return
        finally:
            await stream.aclose()

    def _route(self, target: str) -> tuple[int, bytes, list[tuple[str, str]]]:
        parts = urlsplit(target)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/events":
            self.gamma_requests += 1
            if self.gamma_errors:
                status = self.gamma_errors.pop(0)
                headers = [("retry-after", self.retry_after)] if status == 429 else []
                return status, b'{"error": "fake"}', headers
            slug = query.get("slug", "")
            body = self.gamma_bodies.get(slug) or self._gamma_events(slug)
            return 200, body.encode(), []
        if parts.path.startswith("/clob-markets/"):
            cid = parts.path.rsplit("/", 1)[1]
            for window in self.windows.values():
                if window.header.condition_id == cid:
                    return 200, self._clob_market(window).encode(), []
            return 404, b'{"error": "market not found"}', []
        if parts.path == "/book":
            self.book_requests += 1
            token = query.get("token_id", "")
            window = self.by_token.get(token)
            if window is None or not self._has_book(token):
                return 404, b'{"error": "No orderbook exists for the requested token id"}', []
            return 200, json.dumps(self.book_event(window, token, rest=True)).encode(), []
        return 404, b'{"error": "no route"}', []

    def _now_s(self) -> int:
        assert self.clock is not None
        return self.clock.now_ns() // NS

    def _gamma_events(self, slug: str) -> str:
        for window in self.windows.values():
            header = window.header
            if header.slug != slug:
                continue
            closed = self._now_s() >= header.end
            labels, tokens = ["Up", "Down"], [header.up_token, header.down_token]
            if self.down_first and (header.start // 900) % 2:
                labels, tokens = labels[::-1], tokens[::-1]
            prices = ["0.5", "0.5"]
            if closed:
                winner = self.gamma_winner.get(slug, window.outcome)
                prices = ["1" if label.lower() == winner else "0" for label in labels]
            fee = header.fee_schedule
            # numbers as Gamma writes them: JSON numbers, exact in the text
            market = {
                "slug": slug, "conditionId": header.condition_id,
                "outcomes": json.dumps(labels), "clobTokenIds": json.dumps(tokens),
                "eventStartTime": _iso(header.start), "endDate": _iso(header.end),
                "orderPriceMinTickSize": Decimal(header.tick_size),
                "orderMinSize": Decimal(header.min_order_size),
                "acceptingOrders": not closed, "closed": closed, "negRisk": False,
                "feesEnabled": True,
                "feeSchedule": {
                    "exponent": fee.exponent,
                    "rate": Decimal(fee.rate),
                    "takerOnly": fee.taker_only,
                    "rebateRate": Decimal(fee.rebate_rate),
                },
                "outcomePrices": json.dumps(prices), "version": "v1",
            }
            price_to_beat = Decimal(header.price_to_beat) if header.price_to_beat else None
            event = {"slug": slug, "startTime": _iso(header.start), "endDate": _iso(header.end),
                     "closed": closed, "eventMetadata": {"priceToBeat": price_to_beat},
                     "markets": [market]}
            return _numbers.encode([event]).decode()
        return "[]"

    def _clob_market(self, window: FakeWindow) -> str:
        header = window.header
        fee = header.fee_schedule
        body = {
            "t": [{"t": header.up_token, "o": "Up"}, {"t": header.down_token, "o": "Down"}],
            "mts": Decimal(header.tick_size), "nr": False,
            "fd": {"r": Decimal(fee.rate), "e": fee.exponent, "to": fee.taker_only},
            "mos": Decimal(header.min_order_size), "ao": True,
        }
        return _numbers.encode(body).decode()


class ThreadedFake:
    """The fake exchange on the wall clock, in a thread, for a command run in a subprocess."""

    def __init__(self, fake: FakePolymarket) -> None:
        self.fake = fake
        self.ready = threading.Event()
        self.token: trio.lowlevel.TrioToken | None = None
        self.scope: trio.CancelScope | None = None
        self.thread = threading.Thread(target=trio.run, args=(self._main,), daemon=True)

    async def _main(self) -> None:
        self.token = trio.lowlevel.current_trio_token()
        with trio.CancelScope() as self.scope:
            async with trio.open_nursery() as nursery:
                await nursery.start(self.fake.run, UnixClock.from_wall())
                self.ready.set()

    def __enter__(self) -> FakePolymarket:
        self.thread.start()
        assert self.ready.wait(30)
        return self.fake

    def __exit__(self, *exc: object) -> None:
        assert self.token is not None and self.scope is not None
        trio.from_thread.run_sync(self.scope.cancel, trio_token=self.token)
        self.thread.join(10)
