"""The PolyBolt and RTDS clients against fake servers on 127.0.0.1, on a mock clock: every
documented trouble is handled as POLYMARKET.md says, none raises, no credential is logged."""

from __future__ import annotations

import gc
import json
import logging
import os
import random
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from fakes.fake_polybolt import FakePolyBolt, Session
from fakes.fake_rtds import FakeRtds
from gabagool.config import load_settings
from gabagool.core import parse_reference_price
from gabagool.venues.polymarket.reference import (
    ApiCredentials,
    FeedOptions,
    PolyBoltFeed,
    RtdsFeed,
    reference_feed,
)
from gabagool.venues.polymarket.reference_frames import ReferenceTick
from loopback_clock import LoopbackClock

FIXTURES = Path(__file__).parent / "fixtures" / "polymarket"
KEY, SECRET, PASSPHRASE = "key-5f1e0c", "c2VjcmV0LXNob3VsZC1uZXZlci1sZWFr", "pass-phrase-91ad"
CREDS = ApiCredentials(KEY, SECRET, PASSPHRASE)
OPTIONS = FeedOptions(connect_timeout=5, stale_after=5, reconnect_min=0.5, reconnect_max=8,
                      drain_max_delay=10, ping_interval=5)


@pytest.fixture
def clock(loopback_clock: LoopbackClock) -> LoopbackClock:
    # virtual time that never jumps while loopback I/O is in flight, however busy the machine
    return loopback_clock


@pytest.fixture(autouse=True)
def debug_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)


def no_secret_in(caplog: pytest.LogCaptureFixture) -> bool:
    text = caplog.text + "".join(repr(r.args) for r in caplog.records)
    return SECRET not in text and PASSPHRASE not in text


def polybolt_data_frames() -> list[dict[str, Any]]:
    frames = json.loads((FIXTURES / "polybolt_price_frames.json").read_text())
    return [frame for frame in frames["server"] if "v" in frame]


def spot_frame(seq: int, ts_ms: int, price: str) -> dict[str, Any]:
    return {"v": 1, "channel": "price.crypto", "seq": seq, "ts": ts_ms,
            "payload": {"symbol": "btcusd", "timestamp": ts_ms, "value": 1,
                        "full_accuracy_value": price}}


async def collect(feed: PolyBoltFeed | RtdsFeed, serve: Any, count: int,
                  then_wait: float = 0.0) -> list[ReferenceTick]:
    """Run `serve` and the feed; return the first `count` ticks (fewer if the feed stops),
    after letting it run `then_wait` more seconds."""
    got: list[ReferenceTick] = []
    with trio.fail_after(120):
        async with trio.open_nursery() as nursery:
            feed.url = await nursery.start(serve)
            send, receive = trio.open_memory_channel[ReferenceTick](100)
            nursery.start_soon(feed.run, send)
            async with receive:
                async for tick in receive:
                    got.append(tick)
                    if len(got) == count:
                        break
            await trio.sleep(then_wait)
            nursery.cancel_scope.cancel()
    return got


# ---- PolyBolt -----------------------------------------------------------------------------


async def test_polybolt_streams_exact_ticks_and_counts_the_gap_and_the_drop(
    clock: LoopbackClock, caplog: pytest.LogCaptureFixture
) -> None:
    server = FakePolyBolt(KEY, SECRET, PASSPHRASE, [Session(frames=polybolt_data_frames(),
                                                            ping=True)])
    feed = PolyBoltFeed("", ["btc"], CREDS, OPTIONS, random.Random(1))
    ticks = await collect(feed, server.serve, 5, then_wait=0.1)
    usd = parse_reference_price
    assert [(t.kind, t.price) for t in ticks] == [
        ("spot", usd("64123.5")), ("spot", usd("64124.1")), ("spot", usd("64125.02")),
        ("spot", usd("64120")), ("twap", usd("64119.873421"))]
    assert (feed.counters.gaps, feed.counters.dropped, feed.state) == (2, 2, "live")
    auth, subscribe, pong = server.received[:3]
    assert auth["op"] == "auth" and auth["auth"]["apiKey"] == KEY
    assert subscribe["subscriptions"] == [
        {"channel": "price.crypto", "filter": {"symbol": "btcusd"}},
        {"channel": "price.crypto.twap", "filter": {"symbol": "btcusd", "window_seconds": 60}}]
    assert pong == {"op": "pong", "rid": "srv1"}
    assert no_secret_in(caplog) and SECRET not in repr(CREDS)


@pytest.mark.parametrize("auth", ["error", "close4001"])
async def test_polybolt_refused_credentials_stop_the_feed_without_a_retry_loop(
    clock: LoopbackClock, caplog: pytest.LogCaptureFixture, auth: str
) -> None:
    server = FakePolyBolt(KEY, SECRET, PASSPHRASE, [Session(auth=auth)])
    feed = PolyBoltFeed("", ["btc"], CREDS, OPTIONS, random.Random(1))
    assert await collect(feed, server.serve, 1) == []  # the channel closed: the feed gave up
    assert (feed.state, feed.counters.auth_failures, server.connections) == ("failed", 1, 1)
    assert feed.failure is not None and "credentials" in feed.failure
    assert SECRET not in feed.failure and PASSPHRASE not in feed.failure
    assert no_secret_in(caplog)


async def test_polybolt_wrong_credentials_are_refused_and_not_logged(
    clock: LoopbackClock, caplog: pytest.LogCaptureFixture
) -> None:
    server = FakePolyBolt(KEY, "another-secret", PASSPHRASE, [Session()])
    feed = PolyBoltFeed("", ["btc"], CREDS, OPTIONS, random.Random(1))
    await collect(feed, server.serve, 1)
    assert feed.state == "failed" and no_secret_in(caplog)


async def test_polybolt_a_refused_subscription_is_counted_and_the_rest_goes_on(
    clock: LoopbackClock, caplog: pytest.LogCaptureFixture
) -> None:
    script = Session(subscribe_errors={"price.crypto.twap": "not_entitled"},
                     frames=[spot_frame(1, 1000, "64000.5")])
    server = FakePolyBolt(KEY, SECRET, PASSPHRASE, [script])
    feed = PolyBoltFeed("", ["btc"], CREDS, OPTIONS, random.Random(1))
    ticks = await collect(feed, server.serve, 1)
    assert ticks[0].price == parse_reference_price("64000.5")
    assert feed.counters.subscribe_errors == 1
    assert "not_entitled" in caplog.text and no_secret_in(caplog)


async def test_polybolt_a_malformed_frame_is_counted_and_skipped(
    clock: LoopbackClock, caplog: pytest.LogCaptureFixture
) -> None:
    frames: list[Any] = ["{not json", {"v": 1, "channel": "price.crypto", "seq": "one"},
                         spot_frame(1, 1000, "64000.5")]
    server = FakePolyBolt(KEY, SECRET, PASSPHRASE, [Session(frames=frames)])
    feed = PolyBoltFeed("", ["btc"], CREDS, OPTIONS, random.Random(1))
    assert len(await collect(feed, server.serve, 1)) == 1
    assert feed.counters.malformed == 2 and server.connections == 1
    assert no_secret_in(caplog)


async def test_polybolt_a_silent_feed_goes_stale_and_is_replaced(
    clock: LoopbackClock, caplog: pytest.LogCaptureFixture
) -> None:
    # first connection: one price, then silence (the socket stays open); second: prices
    silent = Session(frames=[spot_frame(1, 1000, "64000")])
    talking = Session(frames=[spot_frame(1, 9000, "64001")])
    server = FakePolyBolt(KEY, SECRET, PASSPHRASE, [silent, talking])
    feed = PolyBoltFeed("", ["btc"], CREDS, OPTIONS, random.Random(1))
    ticks = await collect(feed, server.serve, 2)
    assert [t.ts_ms for t in ticks] == [1000, 9000]
    assert (feed.counters.stale, feed.counters.reconnects, server.connections) == (1, 1, 2)
    assert server.connected_at[1] - server.connected_at[0] >= OPTIONS.stale_after
    assert feed.state == "live"
    assert "silent" in caplog.text and no_secret_in(caplog)


async def test_polybolt_draining_reconnects_once_after_a_jittered_delay(
    clock: LoopbackClock, caplog: pytest.LogCaptureFixture
) -> None:
    draining = Session(frames=[spot_frame(1, 1000, "64000")], close_code=4003)
    server = FakePolyBolt(KEY, SECRET, PASSPHRASE, [draining, Session(
        frames=[spot_frame(1, 2000, "64002")])])
    feed = PolyBoltFeed("", ["btc"], CREDS, OPTIONS, random.Random(7))
    ticks = await collect(feed, server.serve, 2)
    assert [t.ts_ms for t in ticks] == [1000, 2000]
    delay = server.connected_at[1] - server.connected_at[0]
    assert delay == pytest.approx(random.Random(7).random() * 10, abs=0.5)
    assert (feed.counters.drains, feed.counters.reconnects, server.connections) == (1, 1, 2)
    assert no_secret_in(caplog)


async def test_polybolt_policy_close_is_a_bug_and_is_not_retried(
    clock: LoopbackClock, caplog: pytest.LogCaptureFixture
) -> None:
    server = FakePolyBolt(KEY, SECRET, PASSPHRASE, [Session(close_code=4008)])
    feed = PolyBoltFeed("", ["btc"], CREDS, OPTIONS, random.Random(1))
    assert await collect(feed, server.serve, 1) == []
    assert (feed.state, server.connections) == ("failed", 1)
    assert feed.failure is not None and "4008" in feed.failure


async def test_polybolt_slow_consumer_close_reconnects_with_backoff(
    clock: LoopbackClock, caplog: pytest.LogCaptureFixture
) -> None:
    dropped = Session(close_code=4002)
    server = FakePolyBolt(KEY, SECRET, PASSPHRASE, [dropped, dropped, dropped, Session(
        frames=[spot_frame(1, 5000, "64005")])])
    feed = PolyBoltFeed("", ["btc"], CREDS, OPTIONS, random.Random(3))
    ticks = await collect(feed, server.serve, 1)
    assert ticks[0].ts_ms == 5000 and server.connections == 4
    gaps = [b - a for a, b in zip(server.connected_at, server.connected_at[1:], strict=False)]
    rng = random.Random(3)
    expected = [random_backoff(rng, n) for n in range(3)]
    # each gap is the backoff plus the closing handshake's own (virtual) time, which on the
    # loopback clock is none: equal to the backoff but for the clock's float arithmetic
    pairs = list(zip(gaps, expected, strict=True))
    assert all(want - 1e-6 <= gap <= want + 0.5 for gap, want in pairs), pairs


def open_sockets() -> int:
    fds = Path("/proc/self/fd")
    count = 0
    for fd in fds.iterdir():
        try:
            count += os.readlink(fd).startswith("socket:")
        except OSError:
            pass  # the listing's own descriptor, closed by now
    return count


async def test_reconnects_leave_no_socket_open_for_the_garbage_collector(
    clock: LoopbackClock,
) -> None:
    # trio-websocket's own connect left each closed connection's socket to the garbage
    # collector: a feed reconnecting through an outage held one descriptor per attempt
    dropped = Session(close_code=4002)
    server = FakePolyBolt(KEY, SECRET, PASSPHRASE, [dropped, dropped, dropped, Session(
        frames=[spot_frame(1, 5000, "64005")])])
    feed = PolyBoltFeed("", ["btc"], CREDS, OPTIONS, random.Random(3))
    gc.collect()
    before = open_sockets()
    gc.disable()
    try:
        ticks = await collect(feed, server.serve, 1)
        left = open_sockets()
    finally:
        gc.enable()
    assert len(ticks) == 1 and server.connections == 4
    assert left == before, f"{left - before} sockets left open after the feed stopped"


def random_backoff(rng: random.Random, attempt: int) -> float:
    base = min(8.0, 0.5 * 2**attempt)
    return base / 2 + rng.random() * base / 2


async def test_an_unreachable_server_is_retried_with_growing_capped_backoff(
    clock: LoopbackClock, caplog: pytest.LogCaptureFixture
) -> None:
    with trio.socket.socket() as sock:  # a port nothing listens on
        await sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    feed = PolyBoltFeed(f"ws://127.0.0.1:{port}/ws", ["btc"], CREDS, OPTIONS, random.Random(5))
    send, receive = trio.open_memory_channel[ReferenceTick](1)
    async with receive:
        with trio.move_on_after(60):
            await feed.run(send)
    assert feed.state == "connecting" and feed.counters.reconnects >= 6
    fresh = PolyBoltFeed("", ["btc"], CREDS, OPTIONS, random.Random(5))
    delays = [fresh._backoff(n) for n in range(8)]
    rng = random.Random(5)
    assert delays == [random_backoff(rng, n) for n in range(8)]
    assert max(delays) <= 8.0
    assert no_secret_in(caplog)


async def test_a_feed_whose_consumer_went_away_just_stops(
    clock: LoopbackClock, caplog: pytest.LogCaptureFixture
) -> None:
    server = FakePolyBolt(KEY, SECRET, PASSPHRASE, [Session(frames=[spot_frame(1, 1, "5")])])
    feed = PolyBoltFeed("", ["btc"], CREDS, OPTIONS, random.Random(1))
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            feed.url = await nursery.start(server.serve)
            send, receive = trio.open_memory_channel[ReferenceTick](0)
            receive.close()
            await feed.run(send)
            nursery.cancel_scope.cancel()
    assert (feed.state, feed.counters.reconnects) == ("stopped", 0)


def test_the_source_setting_picks_the_feed() -> None:
    def settings(**environ: str) -> Any:
        return load_settings(dotenv=None, environ={f"GABAGOOL_{k.upper()}": v
                                                   for k, v in environ.items()})

    keys = {"polymarket_api_key": KEY, "polymarket_api_secret": SECRET,
            "polymarket_api_passphrase": PASSPHRASE}
    assert isinstance(reference_feed(settings(), ["btc"]), RtdsFeed)
    polybolt = reference_feed(settings(**keys), ["btc", "eth"])
    assert isinstance(polybolt, PolyBoltFeed)
    assert polybolt.url == "wss://ws-live-v2.polymarket.com/ws"
    assert SECRET not in repr(vars(polybolt))
    assert reference_feed(settings(reference_source="off"), ["btc"]) is None
    custom = reference_feed(settings(reference_source="rtds", reference_rtds_url="ws://127.0.0.1:9"),
                            ["btc"])
    assert isinstance(custom, RtdsFeed) and custom.url == "ws://127.0.0.1:9"
    with pytest.raises(ValueError, match="needs polymarket.api_key"):
        reference_feed(settings(reference_source="polybolt"), ["btc"])


def test_options_come_from_the_reference_settings() -> None:
    settings = load_settings(dotenv=None, environ={"GABAGOOL_REFERENCE_STALE_AFTER": "3"})
    options = FeedOptions.from_settings(settings.reference)
    assert (options.stale_after, options.twap_window_seconds, options.ping_interval) == (3, 60, 5)


# ---- RTDS ---------------------------------------------------------------------------------


def rtds_frames() -> list[Any]:
    return json.loads((FIXTURES / "rtds_chainlink_update.json").read_text())


async def test_rtds_streams_chainlink_ticks_and_pings_every_five_seconds(
    clock: LoopbackClock, caplog: pytest.LogCaptureFixture
) -> None:
    # the updates, then a malformed frame, then the socket stays open but the prices stop
    server = FakeRtds([*rtds_frames(), "{broken"])
    options = FeedOptions(stale_after=12, ping_interval=5)
    feed = RtdsFeed("", ["btc"], options, random.Random(1))
    ticks = await collect(feed, server.serve, 4, then_wait=11)
    assert [t.price for t in ticks] == [parse_reference_price(p) for p in (
        "76568.78", "76566.66361659291", "76579.44275333079", "76578.51")]
    assert all(t.source == "rtds" and t.kind == "spot" for t in ticks)
    assert server.subscriptions[0] == {"action": "subscribe", "subscriptions": [
        {"topic": "crypto_prices_chainlink", "type": "*", "filters": '{"symbol":"btc/usd"}'}]}
    assert server.pings == 2 and feed.counters.malformed == 1
    assert (feed.state, server.connections) == ("live", 1)


async def test_rtds_a_silent_feed_goes_stale_and_reconnects(
    clock: LoopbackClock, caplog: pytest.LogCaptureFixture
) -> None:
    server = FakeRtds([rtds_frames()[0]])
    feed = RtdsFeed("", ["btc"], OPTIONS, random.Random(1))
    ticks = await collect(feed, server.serve, 2)
    assert len(ticks) == 2 and server.connections == 2  # the same update, resent on reconnect
    assert feed.counters.stale == 1 and feed.counters.reconnects == 1
