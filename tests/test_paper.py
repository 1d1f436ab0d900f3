"""The paper venue: taker walks, post-only rules, queue position, fees, the events it answers."""

from __future__ import annotations

import json

import pytest
from gabagool.core import Market
from gabagool.venues.base import (
    Accepted,
    Cancelled,
    CancelRejected,
    Filled,
    OrderRequest,
    Rejected,
    Settled,
    VenueEvent,
)
from gabagool.venues.paper import PaperError, PaperExchange
from gabagool.venues.paper_market import PaperMarket
from test_engine_scenarios import CONDITION, DOWN, UP, header, resolved

M = CONDITION


def shares(n: float) -> int:
    return int(n * 1_000_000)


def cents(n: int) -> int:
    return n * 10_000


def trade_frame(token: str, price: int, size: int, ts: int) -> bytes:
    return json.dumps(
        {
            "event_type": "last_trade_price",
            "market": M,
            "asset_id": token,
            "price": f"{price / 1e6:.2f}",
            "size": f"{size / 1e6:g}",
            "side": "SELL",
            "timestamp": str(ts),
            "fee_rate_bps": "0",
        }
    ).encode()


def books() -> Market:
    return Market(UP, DOWN, cents(1))


@pytest.fixture
def venue() -> PaperMarket:
    book = books()
    book.apply_snapshot(
        "up",
        [(cents(40), shares(100)), (cents(39), shares(50))],
        [(cents(42), shares(10)), (cents(43), shares(20)), (cents(45), shares(100))],
    )
    book.apply_snapshot("down", [(cents(57), shares(100))], [(cents(59), shares(100))])
    return PaperMarket(header(), book, min_order_size=shares(5))


def on_frame(venue: PaperMarket, frame: bytes) -> list[VenueEvent]:
    """The frame into the books the venue reads (the engine's part), then to the venue."""
    book = venue.market
    assert isinstance(book, Market)
    return venue.on_book(book.apply_frame(frame))


def order(**kw) -> OrderRequest:  # type: ignore[no-untyped-def]
    base = dict(
        market_id=M,
        outcome="up",
        action="buy",
        price=cents(43),
        size=shares(25),
        order_type="FAK",
        client_id="c1",
        rule="opening",
    )
    base.update(kw)
    return OrderRequest(**base)  # type: ignore[arg-type]


def fills(events: list[VenueEvent]) -> list[Filled]:
    return [e for e in events if isinstance(e, Filled)]


def test_taker_buy_walks_levels_pays_each_levels_fee_and_consumes_the_book(venue) -> None:
    events = venue.submit(order())
    assert isinstance(events[0], Accepted) and not events[0].resting
    taken = fills(events)
    assert [(f.price, f.size) for f in taken] == [(cents(42), shares(10)), (cents(43), shares(15))]
    assert [f.fee for f in taken] == [
        venue.fees.taker_fee(cents(42), shares(10)),
        venue.fees.taker_fee(cents(43), shares(15)),
    ]
    assert all(not f.maker and f.client_id == "c1" for f in taken)
    # what was taken stays taken until the feed updates the token's book again
    again = fills(venue.submit(order(client_id="c2", size=shares(10))))
    assert sum(f.size for f in again) == shares(5) and again[-1].price == cents(43)
    assert isinstance(venue.submit(order(client_id="c3"))[-1], Cancelled)  # nothing left
    assert venue.market.levels("up", "ask")[0] == (cents(42), shares(10))  # its book untouched
    spent = taken + again
    assert venue.cash == -sum(f.price * f.size + f.fee * 1_000_000 for f in spent)


def test_fak_stops_at_its_limit_and_its_remainder_is_cancelled(venue) -> None:
    events = venue.submit(order(price=cents(42), size=shares(30)))
    assert sum(f.size for f in fills(events)) == shares(10)
    assert isinstance(events[-1], Cancelled) and "remainder" in events[-1].reason


def test_fok_is_refused_whole_when_the_book_cannot_fill_it(venue) -> None:
    (event,) = venue.submit(order(order_type="FOK", price=cents(43), size=shares(31)))
    assert isinstance(event, Rejected) and event.reason == "unfillable"
    assert venue.market.best_ask("up") == (cents(42), shares(10))


def test_taker_sell_walks_the_bids(venue) -> None:
    events = venue.submit(order(action="sell", price=cents(39), size=shares(120)))
    got = [(f.price, f.size) for f in fills(events)]
    assert got == [(cents(40), shares(100)), (cents(39), shares(20))]
    more = venue.submit(order(action="sell", price=cents(39), size=shares(40), client_id="x"))
    assert sum(f.size for f in fills(more)) == shares(30)


def test_post_only_bid_that_would_cross_is_refused_and_says_so(venue) -> None:
    (event,) = venue.submit(order(order_type="GTC", post_only=True, price=cents(42)))
    assert isinstance(event, Rejected) and event.reason == "post_only_cross"
    assert venue.reconcile() == []


def test_maker_bid_fills_only_after_the_queue_ahead_trades_and_pays_no_fee(venue) -> None:
    events = venue.submit(order(order_type="GTC", post_only=True, price=cents(40), size=shares(10)))
    assert events == [Accepted(market_id=M, client_id="c1", venue_id="paper-c1", resting=True)]
    assert fills(on_frame(venue, trade_frame(UP, cents(40), shares(95), 1))) == []
    got = fills(on_frame(venue, trade_frame(UP, cents(40), shares(8), 2)))
    assert [(f.price, f.size, f.fee, f.maker) for f in got] == [(cents(40), shares(3), 0, True)]
    assert fills(on_frame(venue, trade_frame(DOWN, cents(40), shares(50), 3))) == []
    assert fills(on_frame(venue, trade_frame(UP, cents(41), shares(50), 4))) == []
    rest = fills(on_frame(venue, trade_frame(UP, cents(40), shares(50), 5)))
    assert sum(f.size for f in rest) == shares(7)
    assert venue.reconcile() == []


def test_a_trade_through_the_bid_fills_it_whatever_the_queue(venue) -> None:
    venue.submit(order(order_type="GTC", post_only=True, price=cents(40), size=shares(10)))
    got = fills(on_frame(venue, trade_frame(UP, cents(38), shares(4), 1)))
    assert [(f.price, f.size) for f in got] == [(cents(40), shares(4))]


def test_cancel_and_cancel_all_answer_with_events(venue) -> None:
    venue.submit(order(order_type="GTC", post_only=True, price=cents(40)))
    venue.submit(order(order_type="GTC", post_only=True, price=cents(39), client_id="c2"))
    assert venue.cancel("c1") == [Cancelled(market_id=M, client_id="c1", reason="requested")]
    (again,) = venue.cancel("c1")
    assert isinstance(again, CancelRejected)
    assert [r.client_id for r in venue.reconcile()] == ["c2"]
    assert [e.client_id for e in venue.cancel_all()] == ["c2"]  # type: ignore[union-attr]
    assert fills(on_frame(venue, trade_frame(UP, cents(30), shares(500), 1))) == []


def test_off_tick_small_and_out_of_range_orders_are_rejected_as_invalid(venue) -> None:
    for bad, word in (
        (order(price=cents(43) + 5_000), "tick"),
        (order(size=shares(4)), "minimum"),
        (order(price=1_000_000), "outside"),
        (order(market_id="0xnope"), "unknown market"),
    ):
        (event,) = venue.submit(bad)
        assert isinstance(event, Rejected) and event.reason == "invalid" and word in event.detail


def test_the_resolution_frame_is_a_settlement_event_and_the_payout_is_a_dollar_a_share(
    venue,
) -> None:
    venue.submit(order(size=shares(10), price=cents(42)))
    paid = venue.cash
    assert on_frame(venue, resolved("up").encode()) == [Settled(market_id=M, winner="up")]
    assert venue.payout("up", shares(10), 0) == 10 * 10**12
    assert venue.cash == paid + 10 * 10**12


async def test_the_exchange_opens_a_market_once_and_reconciles_what_rests() -> None:
    exchange = PaperExchange(latency=0.25)
    assert exchange.latency_ns == 250_000_000
    book = books()
    market = exchange.open_market(header(), book, min_order_size=shares(5))
    with pytest.raises(PaperError, match="open already"):
        exchange.open_market(header(), books())
    book.apply_snapshot("up", [(cents(40), shares(100))], [(cents(42), shares(10))])
    market.submit(order(order_type="GTC", post_only=True, price=cents(40)))
    assert [r.client_id for r in await exchange.reconcile(M)] == ["c1"]
    assert await exchange.reconcile("0xgone") == []
    assert await exchange.cancel_all() == 1
    exchange.close_market(M)
    assert exchange.open_orders() == [] and exchange.cash == 0
