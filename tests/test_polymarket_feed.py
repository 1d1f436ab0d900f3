"""The live window feed on its own (no network): frames in, the engine's books kept equal to
the feed's shadow; a REST resync replays the deltas buffered meanwhile; a lost link empties
the books at once; unreadable frames are dropped and counted."""

from __future__ import annotations

import json
from pathlib import Path

import trio
from gabagool import _core
from gabagool.venues.base import Outcome
from gabagool.venues.polymarket.discovery import DiscoveredWindow
from gabagool.venues.polymarket.live_feed import LiveWindowFeed

FIXTURES = Path(__file__).parent / "fixtures" / "polymarket"
UP = "12345678901234567890"  # the token of the `GET /book` fixture
DOWN = "98765432109876543210"
MARKET = "0xc8f1cf5d4f26e0fd9c8fe89f2a7b3263b902cf14fde7bfccef525753bb492e47"
REST_TS = 1703875200000  # the fixture's timestamp


class Owner:
    """Stands in for `LiveMarketData`: records what the feed asks for."""

    def __init__(self) -> None:
        self.fetches: list[Outcome] = []
        self.resubscribed: list[list[str]] = []

    def fetch_book(self, feed: LiveWindowFeed, outcome: Outcome) -> None:
        self.fetches.append(outcome)

    def socket_resubscribe(self, tokens: list[str]) -> None:
        self.resubscribed.append(tokens)


def make_feed(owner: Owner) -> LiveWindowFeed:
    window = DiscoveredWindow(
        asset="btc", slug="btc-updown-15m-1703874600", condition_id=MARKET, up_token=UP,
        down_token=DOWN, start=1703874600, end=1703875500, tick_size="0.01",
        min_order_size="5", neg_risk=False, accepting_orders=True, fee_rate="0.072",
        fee_exponent=1, fee_taker_only=True, rebate_rate="0.2", price_to_beat=None,
        version="v1",
    )
    return LiveWindowFeed(window, owner)  # type: ignore[arg-type]


def book(token: str, ts: int, bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> str:
    return json.dumps({
        "event_type": "book", "asset_id": token, "market": MARKET, "timestamp": str(ts),
        "hash": f"h{ts}", "bids": [{"price": p, "size": s} for p, s in bids],
        "asks": [{"price": p, "size": s} for p, s in asks],
    })


def change(ts: int, token: str, side: str, price: str, size: str, best_bid: str,
           best_ask: str) -> str:
    return json.dumps({
        "event_type": "price_change", "market": MARKET, "timestamp": str(ts),
        "price_changes": [{"asset_id": token, "price": price, "size": size, "side": side,
                           "hash": f"c{ts}{price}", "best_bid": best_bid,
                           "best_ask": best_ask}],
    })


class Engine:
    def __init__(self) -> None:
        self.market = _core.Market(UP, DOWN, 10_000)

    async def take(self, feed: LiveWindowFeed, count: int) -> None:
        frames = feed.frames()
        for _ in range(count):
            with trio.fail_after(1):
                _t, frame = await frames.__anext__()
            if frame is not None:
                self.market.apply_frame(frame)
                self.market.end_batch()


def same_books(a: object, b: object) -> bool:
    return all(a.levels(o, s) == b.levels(o, s)  # type: ignore[attr-defined]
               for o in ("up", "down") for s in ("bid", "ask"))


async def test_rest_resync_replays_only_the_deltas_newer_than_the_snapshot() -> None:
    owner, engine = Owner(), Engine()
    feed = make_feed(owner)
    feed.deliver(1, book(UP, REST_TS - 5000, [("0.40", "10")], [("0.60", "10")]))
    # best_bid disagrees with the book: the token is distrusted and rebuilt from REST
    feed.deliver(2, change(REST_TS - 4000, UP, "BUY", "0.41", "5", "0.45", "0.60"))
    await engine.take(feed, 2)
    assert owner.fetches == ["up"]
    assert engine.market.best_bid("up") is None  # the engine's book is empty meanwhile
    # two deltas arrive while GET /book is under way: one older than its snapshot, one newer
    feed.deliver(3, change(REST_TS - 1, UP, "BUY", "0.30", "7", "0.50", "0.51"))
    feed.deliver(4, change(REST_TS + 1, UP, "SELL", "0.51", "0", "0.50", "0.52"))
    feed.rest_book("up", (FIXTURES / "clob_book_response.json").read_bytes(), 5)
    await engine.take(feed, 3)
    assert feed.rest_resyncs == 1
    # REST lists the best levels last: the best bid is 0.50, and 0.51 was emptied after it
    assert engine.market.best_bid("up") == (500_000, 150_000_000)
    assert engine.market.best_ask("up") == (520_000, 180_000_000)
    assert [p for p, _ in engine.market.levels("up", "bid")] == [500_000, 490_000, 480_000]
    assert same_books(engine.market, feed.shadow)


async def test_a_lost_link_empties_every_book_until_a_snapshot() -> None:
    owner, engine = Owner(), Engine()
    feed = make_feed(owner)
    feed.deliver(1, book(UP, 1000, [("0.40", "10")], [("0.60", "10")]))
    feed.deliver(2, book(DOWN, 1000, [("0.40", "10")], [("0.60", "10")]))
    await engine.take(feed, 2)
    assert engine.market.best_bid("down") == (400_000, 10_000_000)
    feed.link_down("dropped")
    await engine.take(feed, 1)
    assert feed.epochs == 1 and sorted(owner.fetches) == ["down", "up"]
    for outcome in ("up", "down"):
        assert engine.market.best_bid(outcome) is None
        assert engine.market.best_ask(outcome) is None
    assert engine.market.tick("up") == 10_000  # the tick is kept
    # the resubscription's snapshot brings a book back, the same on both sides
    feed.deliver(3, book(UP, 2000, [("0.41", "3")], [("0.59", "4")]))
    await engine.take(feed, 1)
    assert engine.market.best_bid("up") == (410_000, 3_000_000)
    assert same_books(engine.market, feed.shadow)


async def test_unreadable_frames_are_counted_not_handed_on() -> None:
    owner, engine = Owner(), Engine()
    feed = make_feed(owner)
    feed.deliver(1, book(UP, 999, [], [])[:-12])  # cut inside its bids
    feed.deliver(2, book(UP, 1000, [("0.40", "10")], [("0.60", "10")]))
    await engine.take(feed, 1)
    assert feed.malformed == 1 and feed.frames_seen == 1
    assert engine.market.counters()["frame_errors"] == 0
    assert engine.market.best_bid("up") == (400_000, 10_000_000)


async def test_a_tick_size_change_resubscribes_the_token() -> None:
    owner, engine = Owner(), Engine()
    feed = make_feed(owner)
    feed.deliver(1, book(DOWN, 1000, [("0.40", "10")], [("0.60", "10")]))
    feed.deliver(2, json.dumps({"event_type": "tick_size_change", "asset_id": DOWN,
                                "market": MARKET, "old_tick_size": "0.01",
                                "new_tick_size": "0.001", "timestamp": "1001"}))
    await engine.take(feed, 2)
    assert owner.resubscribed == [[DOWN]] and owner.fetches == ["down"]
    assert engine.market.tick("down") == 1_000 and engine.market.best_bid("down") is None


async def test_keepalives_pass_only_when_nothing_else_is_queued() -> None:
    feed = make_feed(Owner())
    feed.alive(1)
    feed.alive(2)  # one keep-alive already waits: nothing added
    feed.deliver(3, book(UP, 1000, [("0.40", "10")], [("0.60", "10")]))
    feed.alive(4)  # a frame waits: the link is evidently alive
    frames = feed.frames()
    assert await frames.__anext__() == (1, None)
    t, frame = await frames.__anext__()
    assert t == 3 and frame is not None
    feed.close()
    assert [item async for item in frames] == []
