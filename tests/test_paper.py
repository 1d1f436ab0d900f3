"""The paper exchange: taker walks, post-only rules, queue position, fees, settlement."""

from __future__ import annotations

import pytest
import trio
from gabagool._core import Market
from gabagool.venues.base import Fill, MarketSpec, OrderRequest
from gabagool.venues.paper import PaperError, PaperExchange

M = "0xmarket"


class OnePercentTakerFee:
    """1% of notional for takers, nothing for makers: easy to check by hand."""

    def fee(self, price: int, size: int, maker: bool) -> int:
        return 0 if maker else price * size // 100_000_000


def shares(n: float) -> int:
    return int(n * 1_000_000)


def cents(n: int) -> int:
    return n * 10_000


@pytest.fixture
def venue() -> tuple[PaperExchange, Market, list[Fill]]:
    market = Market("UP", "DOWN", cents(1))
    market.apply_snapshot(
        "up",
        [(cents(40), shares(100)), (cents(39), shares(50))],
        [(cents(42), shares(10)), (cents(43), shares(20)), (cents(45), shares(100))],
    )
    market.apply_snapshot("down", [(cents(57), shares(100))], [(cents(59), shares(100))])
    exchange = PaperExchange()
    fills: list[Fill] = []
    spec = MarketSpec(
        market_id=M,
        market=market,
        fees=OnePercentTakerFee(),
        min_order_size=shares(5),
    )
    exchange.register_market(spec, fills.append)
    return exchange, market, fills


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


async def test_taker_buy_walks_levels_pays_each_levels_fee_and_consumes_the_book(venue) -> None:
    exchange, market, fills = venue
    ack = await exchange.place(order())
    assert ack.accepted and not ack.resting and ack.filled == shares(25)
    assert [(f.price, f.size) for f in fills] == [(cents(42), shares(10)), (cents(43), shares(15))]
    assert [f.fee for f in fills] == [
        cents(42) * shares(10) // 10**8,
        cents(43) * shares(15) // 10**8,
    ]
    assert all(not f.maker and f.client_id == "c1" and f.rule == "opening" for f in fills)
    # what was taken stays taken until the feed updates the token's book again
    again = await exchange.place(order(client_id="c2", size=shares(10)))
    assert again.filled == shares(5) and fills[-1].price == cents(43)
    exchange.observe(M, 0b10, [])  # a Down update: Up's levels stay consumed
    assert (await exchange.place(order(client_id="c3", price=cents(43)))).filled == 0
    exchange.observe(M, 0b01, [])
    assert (await exchange.place(order(client_id="c4", price=cents(42)))).filled == shares(10)
    assert market.levels("up", "ask")[0] == (cents(42), shares(10))  # the core's book untouched
    expected_cash = -sum(f.price * f.size + f.fee * 1_000_000 for f in fills)
    assert exchange.cash == expected_cash


async def test_fak_stops_at_its_limit_and_leaves_the_rest_unfilled(venue) -> None:
    exchange, _market, fills = venue
    ack = await exchange.place(order(price=cents(42), size=shares(30)))
    assert ack.accepted and ack.filled == shares(10) and not ack.resting
    assert sum(f.size for f in fills) == shares(10)


async def test_fok_is_refused_whole_when_the_book_cannot_fill_it(venue) -> None:
    exchange, market, fills = venue
    ack = await exchange.place(order(order_type="FOK", price=cents(43), size=shares(31)))
    assert not ack.accepted and "FOK" in ack.reason
    assert fills == [] and market.best_ask("up") == (cents(42), shares(10))


async def test_taker_sell_walks_the_bids(venue) -> None:
    exchange, market, fills = venue
    ack = await exchange.place(order(action="sell", price=cents(39), size=shares(120)))
    assert ack.filled == shares(120)
    assert [(f.price, f.size) for f in fills] == [(cents(40), shares(100)), (cents(39), shares(20))]
    ack = await exchange.place(
        order(action="sell", price=cents(39), size=shares(40), client_id="x")
    )
    assert ack.filled == shares(30)


async def test_post_only_bid_that_would_cross_is_refused_and_says_so(venue) -> None:
    exchange, _market, fills = venue
    ack = await exchange.place(order(order_type="GTC", post_only=True, price=cents(42)))
    assert not ack.accepted and ack.post_only_cross and fills == []
    assert exchange.open_orders(M) == []


async def test_maker_bid_fills_only_after_the_queue_ahead_trades_and_pays_no_fee(venue) -> None:
    exchange, _market, fills = venue
    ack = await exchange.place(
        order(order_type="GTC", post_only=True, price=cents(40), size=shares(10))
    )
    assert ack.accepted and ack.resting
    (resting,) = exchange.open_orders(M)
    assert resting.queue_ahead == shares(100)
    exchange.observe(M, 0, [("up", cents(40), shares(95), "SELL")])
    assert fills == []
    exchange.observe(M, 0, [("up", cents(40), shares(8), "SELL")])
    assert [(f.price, f.size, f.fee, f.maker) for f in fills] == [(cents(40), shares(3), 0, True)]
    exchange.observe(M, 0, [("down", cents(40), shares(50), "SELL")])  # other token
    exchange.observe(M, 0, [("up", cents(41), shares(50), "SELL")])  # above the bid
    assert len(fills) == 1
    exchange.observe(M, 0, [("up", cents(40), shares(50), "SELL")])
    assert sum(f.size for f in fills) == shares(10)
    assert exchange.open_orders(M) == []


async def test_a_trade_through_the_bid_fills_it_whatever_the_queue(venue) -> None:
    exchange, _market, fills = venue
    await exchange.place(order(order_type="GTC", post_only=True, price=cents(40), size=shares(10)))
    exchange.observe(M, 0, [("up", cents(38), shares(4), "SELL")])
    assert [(f.price, f.size) for f in fills] == [(cents(40), shares(4))]


async def test_cancel_and_cancel_all_remove_resting_orders(venue) -> None:
    exchange, _market, fills = venue
    a = await exchange.place(order(order_type="GTC", post_only=True, price=cents(40)))
    await exchange.place(order(order_type="GTC", post_only=True, price=cents(39), client_id="c2"))
    assert await exchange.cancel(a.order_id) is True
    assert await exchange.cancel(a.order_id) is False
    assert len(exchange.open_orders(M)) == 1
    assert await exchange.cancel_all(M) == 1
    exchange.observe(M, 0, [("up", cents(30), shares(500), "SELL")])
    assert fills == [] and exchange.open_orders() == []


async def test_off_tick_small_and_out_of_range_orders_are_rejected(venue) -> None:
    exchange, _market, _fills = venue
    assert "tick" in (await exchange.place(order(price=cents(43) + 5_000))).reason
    assert "minimum" in (await exchange.place(order(size=shares(4)))).reason
    assert "outside" in (await exchange.place(order(price=1_000_000))).reason
    with pytest.raises(PaperError, match="unknown market"):
        await exchange.place(order(market_id="0xnope"))


async def test_settlement_pays_a_dollar_per_winning_share(venue) -> None:
    exchange, _market, _fills = venue
    await exchange.place(order(size=shares(10), price=cents(42)))
    paid = exchange.cash
    assert exchange.settle(M, "up", shares(10), 0) == shares(10) * 1_000_000
    assert exchange.cash == paid + 10 * 10**12
    with pytest.raises(PaperError, match="already settled"):
        exchange.settle(M, "up", shares(10), 0)


async def test_settlement_refuses_while_orders_rest(venue) -> None:
    exchange, _market, _fills = venue
    await exchange.place(order(order_type="GTC", post_only=True, price=cents(40)))
    with pytest.raises(PaperError, match="resting"):
        exchange.settle(M, "down", 0, 0)


async def test_latency_delays_the_order_on_trios_clock(venue, autojump_clock) -> None:
    exchange, _market, fills = venue
    exchange.latency = 0.25
    before = trio.current_time()
    await exchange.place(order(size=shares(10), price=cents(42)))
    assert trio.current_time() - before == pytest.approx(0.25)
    assert len(fills) == 1
