"""End to end against the fake exchange: discovery, the market socket and the live window
feeds, with each fault the exchange is known for. An "engine" here is what the engine's feed
does with a `WindowFeed`: every frame into a core `Market`, in order."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import trio
from fakes.fake_polymarket import FakePolymarket, FakeWindow
from gabagool import _core
from gabagool.config import PolymarketSettings
from gabagool.types import NS
from gabagool.venues.polymarket.clock import UnixClock
from gabagool.venues.polymarket.live_feed import LiveMarketData, LiveWindowFeed

START = 1_767_225_600
OUTCOMES = ("up", "down")


class EngineBooks:
    """The engine's side: its own `Market`, fed exactly what the feed yields."""

    def __init__(self, feed: LiveWindowFeed) -> None:
        h = feed.header
        self.market = _core.Market(h.up_token, h.down_token, _core.parse_price(h.tick_size))
        self.feed = feed
        self.frames = 0
        self.keepalives = 0
        self.resolved: str | None = None
        self.stale_reads = 0  # frames at which a book was live though the shadow distrusted it

    async def consume(self) -> None:
        async for _t_ns, frame in self.feed.frames():
            if frame is None:
                self.keepalives += 1
                continue
            self.frames += 1
            summary = self.market.apply_frame(frame)
            self.market.end_batch()
            if summary.resolved is not None:
                self.resolved = summary.resolved
            for bit, outcome in enumerate(OUTCOMES):
                distrusted = self.feed.shadow.needs_resync() & (1 << bit)
                if distrusted and self.market.best_bid(outcome) is not None:
                    self.stale_reads += 1


def assert_books_match(engine: Any, truth: Any) -> None:
    for outcome in OUTCOMES:
        for side in ("bid", "ask"):
            assert engine.levels(outcome, side) == truth.levels(outcome, side), (outcome, side)


async def run_live(
    fake: FakePolymarket,
    starts: list[int],
    fault: Callable[[FakePolymarket, LiveMarketData, UnixClock], Awaitable[None]] | None = None,
    *,
    clock_start: int = START - 30,
) -> tuple[LiveMarketData, list[EngineBooks]]:
    engines: list[EngineBooks] = []
    async with trio.open_nursery() as nursery:
        clock = UnixClock.starting_at(clock_start * NS)
        await nursery.start(fake.run, clock)
        settings = PolymarketSettings(
            gamma_url=fake.gamma_url, clob_url=fake.clob_url, market_ws_url=fake.ws_url
        )
        data = LiveMarketData(settings, ["btc"], clock=clock, resolution_wait=30.0)
        await nursery.start(data.run)
        if fault is not None:
            nursery.start_soon(fault, fake, data, clock)
        async with trio.open_nursery() as windows:
            for start in starts:
                # as the engine does: the next window opens before the current one ends
                await at(clock, start - 30)
                while ("btc", start) not in data.discovered:
                    await trio.sleep(5)
                engine = EngineBooks(data.window("btc", start))
                engines.append(engine)
                windows.start_soon(engine.consume)
        nursery.cancel_scope.cancel()
    return data, engines


async def at(clock: UnixClock, unix_s: int) -> None:
    await trio.sleep_until(clock.trio_time(unix_s * NS))


async def test_two_windows_discovered_and_rolled_over(loopback_clock: trio.abc.Clock) -> None:
    fake = FakePolymarket(["btc"], START, windows=2)
    data, engines = await run_live(fake, [START, START + 900])
    assert data.socket is not None
    assert data.socket.connects == 1 and data.socket.reconnects == 0
    first = fake.subscribe_messages[0]
    assert first["type"] == "market" and first["initial_dump"] and first["custom_feature_enabled"]
    # the second window was added on the same connection, the first one removed from it
    ops = [(m.get("operation"), m.get("assets_ids")) for m in fake.subscribe_messages[1:]]
    second, first_window = fake.window_at("btc", START + 900), fake.window_at("btc", START)
    assert ("subscribe", list(second.tokens)) in ops
    assert ("unsubscribe", list(first_window.tokens)) in ops
    for engine, start in zip(engines, [START, START + 900], strict=True):
        window = fake.window_at("btc", start)
        assert_books_match(engine.market, window.market)
        # every streamed frame, plus the books rebuilt from REST after the tick changes
        assert engine.frames == window.streamed + engine.feed.rest_resyncs
        assert engine.resolved == window.outcome == engine.feed.gamma_winner
        assert engine.feed.malformed == 0 and engine.feed.epochs == 0
        assert engine.keepalives > 0  # PONGs while the market was quiet
    assert data.resolution_warnings == []


async def test_socket_dropped_mid_window_no_stale_book_until_resync(
    loopback_clock: trio.abc.Clock,
) -> None:
    fake = FakePolymarket(["btc"], START, windows=1)

    async def drop(fake: FakePolymarket, data: LiveMarketData, clock: UnixClock) -> None:
        await at(clock, START + 300)
        assert fake.drop_connections() == 1

    data, [engine] = await run_live(fake, [START], drop)
    assert data.socket is not None and data.socket.reconnects == 1
    assert engine.feed.epochs == 1
    assert engine.stale_reads == 0  # between the drop and the snapshot no book was live
    counters = engine.market.counters()
    assert counters["up_snapshots"] >= 2 and counters["down_snapshots"] >= 2
    assert len([m for m in fake.subscribe_messages if m.get("type") == "market"]) == 2
    assert_books_match(engine.market, fake.window_at("btc", START).market)


async def test_silent_stall_is_detected_and_the_link_replaced(
    loopback_clock: trio.abc.Clock,
) -> None:
    fake = FakePolymarket(["btc"], START, windows=1)
    stalled_at: list[float] = []

    async def stall(fake: FakePolymarket, data: LiveMarketData, clock: UnixClock) -> None:
        await at(clock, START + 200)
        fake.stall_connections()
        stalled_at.append(trio.current_time())

    data, [engine] = await run_live(fake, [START], stall)
    socket = data.socket
    assert socket is not None
    # PONGs kept coming (else the link would have been found dead first, at 21 s)
    assert socket.stalls == 1 and socket.dead_links == 0 and socket.reconnects == 1
    assert engine.feed.epochs == 1 and engine.stale_reads == 0
    assert_books_match(engine.market, fake.window_at("btc", START).market)


async def test_malformed_frames_are_counted_and_the_book_rebuilt_from_rest(
    loopback_clock: trio.abc.Clock,
) -> None:
    fake = FakePolymarket(["btc"], START, windows=1)

    async def garble(fake: FakePolymarket, data: LiveMarketData, clock: UnixClock) -> None:
        await at(clock, START + 100)
        window: FakeWindow = fake.window_at("btc", START)
        up = window.sim.up_token
        fake.inject(window, json.dumps({"asset_id": up, "event_type": "price_change"})[:-5])
        bad = {"event_type": "price_change", "market": window.header.condition_id,
               "timestamp": str(window.last_ms), "price_changes": [
                   {"asset_id": up, "price": "1.7", "size": "10", "side": "BUY",
                    "hash": "x", "best_bid": "0.5", "best_ask": "0.51"}]}
        fake.inject(window, json.dumps(bad))

    data, [engine] = await run_live(fake, [START], garble)
    feed = engine.feed
    assert feed.malformed == 1  # the unreadable one, not handed on
    assert engine.market.counters()["frame_errors"] == 0
    assert engine.market.counters()["up_bad_number"] == 1
    assert feed.rest_resyncs >= 1 and data.book_fetches >= 1
    assert engine.stale_reads == 0
    assert_books_match(engine.market, fake.window_at("btc", START).market)


async def test_tick_size_change_resubscribes_and_rebuilds(loopback_clock: trio.abc.Clock) -> None:
    fake = FakePolymarket(["btc"], START, windows=1)

    async def tick(fake: FakePolymarket, data: LiveMarketData, clock: UnixClock) -> None:
        await at(clock, START + 150)
        window = fake.window_at("btc", START)
        fake.tick_size_change(window, window.sim.down_token)

    data, [engine] = await run_live(fake, [START], tick)
    down = fake.window_at("btc", START).sim.down_token
    resubscribed = [m for m in fake.subscribe_messages
                    if m.get("operation") == "subscribe" and m.get("assets_ids") == [down]]
    assert resubscribed and resubscribed[0]["initial_dump"]
    assert engine.market.counters()["down_tick_changes"] >= 1
    assert engine.stale_reads == 0
    assert_books_match(engine.market, fake.window_at("btc", START).market)


async def test_missing_market_resolved_falls_back_to_gamma_with_a_warning(
    loopback_clock: trio.abc.Clock,
) -> None:
    fake = FakePolymarket(["btc"], START, windows=1)
    fake.drop_resolution = True
    data, [engine] = await run_live(fake, [START])
    window = fake.window_at("btc", START)
    assert engine.resolved is None and engine.feed.resolved is None
    assert engine.feed.fallback_outcome() == window.outcome
    assert len(data.resolution_warnings) == 1
    assert "market_resolved never came" in data.resolution_warnings[0]


async def test_gamma_errors_at_start_are_retried(loopback_clock: trio.abc.Clock) -> None:
    fake = FakePolymarket(["btc"], START, windows=1)
    fake.gamma_errors = [500, 429, 500]
    data, [engine] = await run_live(fake, [START])
    assert fake.gamma_requests >= 4
    assert_books_match(engine.market, fake.window_at("btc", START).market)


async def test_gamma_disagreeing_with_market_resolved_is_warned(
    loopback_clock: trio.abc.Clock,
) -> None:
    fake = FakePolymarket(["btc"], START, windows=1)
    window = fake.window_at("btc", START)
    other = "down" if window.outcome == "up" else "up"
    fake.gamma_winner[window.header.slug] = other
    data, [engine] = await run_live(fake, [START])
    assert engine.feed.resolved == window.outcome and engine.feed.gamma_winner == other
    assert data.resolution_warnings == [
        f"{window.header.slug}: market_resolved says {window.outcome} but Gamma says {other}"
    ]


class Sink:
    def __init__(self, tokens: tuple[str, ...]) -> None:
        self.tokens = tokens
        self.downs: list[str] = []
        self.frames: list[str] = []

    def deliver(self, t_ns: int, frame: str) -> None:
        self.frames.append(frame)

    def alive(self, t_ns: int) -> None:
        pass

    def link_down(self, reason: str) -> None:
        self.downs.append(reason)

    def resubscribed(self, token: str) -> None:
        pass


def test_backoff_grows_to_its_cap_with_seeded_jitter() -> None:
    import random

    from gabagool.venues.polymarket.market_socket import Backoff

    a, b = Backoff(0.5, 8.0, random.Random(3)), Backoff(0.5, 8.0, random.Random(3))
    delays = [a.delay(n) for n in range(1, 9)]
    assert delays == [b.delay(n) for n in range(1, 9)]  # reproducible
    for n, delay in enumerate(delays, start=1):
        assert 0 <= delay <= min(8.0, 0.5 * 2 ** (n - 1))


async def test_unreachable_socket_is_retried_with_backoff(loopback_clock: trio.abc.Clock) -> None:
    import random

    from gabagool.venues.polymarket.market_socket import Backoff, MarketSocket

    async with trio.open_nursery() as nursery:
        clock = UnixClock.starting_at(START * NS)
        socket = MarketSocket("ws://127.0.0.1:9/ws/market", clock,
                              backoff=Backoff(1.0, 30.0, random.Random(1)))
        sink = Sink(("1", "2"))
        await nursery.start(socket.run)
        await trio.sleep(60)
        assert socket.connects == 0  # the socket is never established
        socket.add(sink)
        await trio.sleep(300)
        assert len(sink.downs) >= 5
        assert all(reason.startswith("cannot connect to ws://127.0.0.1:9") for reason in sink.downs)
        # backoff, not a hot loop: fewer attempts than a fixed one-second retry would make
        assert len(sink.downs) < 40
        nursery.cancel_scope.cancel()
