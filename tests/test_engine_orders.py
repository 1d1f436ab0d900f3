"""The order manager and the portfolio caps, on the paper exchange, without the tasks."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import trio
import trio.testing
from gabagool import _core
from gabagool.engine.capital import CapitalLedger
from gabagool.engine.orders import Holding, OrderManager, _Lock, realised_within_rule
from gabagool.engine.portfolio import Portfolio
from gabagool.venues.base import Fill, MarketSpec
from gabagool.venues.paper import PaperExchange
from test_engine_scenarios import Recorder

M = "0xabc"
SHARE = 1_000_000


@dataclass(frozen=True)
class Wish:
    """Shaped like `_core.Intent`, which Python cannot construct."""

    outcome: str
    price: int
    size: int = 10 * SHARE
    action: str = "buy"
    order_type: str = "GTC"
    post_only: bool = True
    rule: str = "opening"


class Harness:
    def __init__(self, *, max_rejects: int = 3) -> None:
        self.blocked = ""
        self.market = _core.Market("U", "D", 10_000)
        self.market.apply_snapshot("up", [(390_000, 200 * SHARE)], [(410_000, 200 * SHARE)])
        self.market.apply_snapshot("down", [(590_000, 200 * SHARE)], [(610_000, 200 * SHARE)])
        self.fees = _core.FeeSchedule.parse("0.072", 1, True)
        self.params = _core.StrategyParams()
        self.position = _core.Position()
        self.exchange = PaperExchange()
        self.events = Recorder()
        self.storms = 0
        self.orders = OrderManager(
            market_id=M,
            slug="w",
            exchange=self.exchange,
            events=self.events,
            position=self.position,
            params=self.params,
            ms_to_end=lambda: 600_000,
            on_fill=lambda record: None,
            on_reject_storm=self.storm,
            max_rejects_per_minute=max_rejects,
            blocked=lambda: self.blocked,
        )
        spec = MarketSpec(market_id=M, market=self.market, fees=self.fees, min_order_size=5 * SHARE)
        self.exchange.register_market(spec, self.orders.handle_fill)

    def storm(self) -> None:
        self.storms += 1


async def test_an_unchanged_wish_keeps_its_resting_order_and_a_new_price_replaces_it() -> None:
    h = Harness()
    await h.orders.act("accumulator", lambda _: [Wish("up", 390_000)])
    (first,) = h.exchange.open_orders()
    await h.orders.act("accumulator", lambda _: [Wish("up", 390_000)])
    assert [o.order_id for o in h.exchange.open_orders()] == [first.order_id]  # queue kept
    await h.orders.act("accumulator", lambda _: [Wish("up", 400_000)])
    (second,) = h.exchange.open_orders()
    assert second.order_id != first.order_id and second.request.price == 400_000
    await h.orders.act("accumulator", lambda _: [])
    assert h.exchange.open_orders() == []


async def test_nothing_but_liquidation_is_placed_while_the_window_is_blocked() -> None:
    h = Harness()
    h.blocked = "halted: manual halt"
    await h.orders.act("accumulator", lambda _: [Wish("up", 390_000)])
    assert h.exchange.open_orders() == [] and h.events.orders == []
    sell = Wish(
        "up", 390_000, action="sell", order_type="FAK", post_only=False, rule="stop_loss_sell"
    )
    h.position.buy("up", 400_000, 10 * SHARE, 0)
    await h.orders.act("risk", lambda _: [sell])
    assert h.position.qty_up == 0


async def test_the_equalizer_bid_replaces_the_accumulators_only_when_higher() -> None:
    h = Harness()
    await h.orders.act("accumulator", lambda _: [Wish("down", 580_000, rule="pairing")])
    await h.orders.act("equalizer", lambda _: [Wish("down", 570_000, rule="equalize_maker")])
    assert [o.request.rule for o in h.exchange.open_orders()] == ["pairing"]
    await h.orders.act("equalizer", lambda _: [Wish("down", 600_000, rule="equalize_maker")])
    assert [o.request.rule for o in h.exchange.open_orders()] == ["equalize_maker"]


async def test_too_many_rejects_in_a_minute_trip_the_breaker_but_post_only_crosses_do_not(
    autojump_clock,
) -> None:
    h = Harness(max_rejects=3)
    for _ in range(5):  # a post-only bid at the ask: a race with the book, not an error
        await h.orders.act("accumulator", lambda _: [Wish("up", 410_000)])
    assert h.orders.stats.post_only_crosses == 5 and h.storms == 0
    for _ in range(3):
        await h.orders.act("accumulator", lambda _: [Wish("up", 390_000, size=SHARE)])
        await trio.sleep(30)
    assert h.storms == 0  # three in a minute is the limit, and they spread over 90 s
    for _ in range(4):
        await h.orders.act("accumulator", lambda _: [Wish("up", 390_000, size=SHARE)])
    assert h.storms == 1


async def test_taker_intents_are_sent_at_once_and_their_fills_booked() -> None:
    h = Harness()
    fak = Wish("up", 410_000, order_type="FAK", post_only=False, rule="equalize_taker")
    await h.orders.act("equalizer", lambda _: [fak])
    assert h.position.qty_up == 10 * SHARE
    assert h.position.fees_paid == h.fees.taker_fee(410_000, 10 * SHARE)
    assert h.exchange.open_orders() == []
    (record,) = h.orders.stats.fills
    assert record.placement is not None and record.placement.qty_self == 0


def fill(rule: str, price: int, fee: int = 0, size: int = 10 * SHARE) -> Fill:
    return Fill(
        order_id="o",
        client_id="c",
        market_id=M,
        outcome="down",
        action="buy",
        price=price,
        size=size,
        fee=fee,
        maker=fee == 0,
        rule=rule,
    )


@pytest.mark.parametrize(
    ("rule", "price", "held", "ok"),
    [
        ("opening", 450_000, Holding(0, 0, 0, 0), True),
        ("opening", 460_000, Holding(0, 0, 0, 0), False),
        # 10 Up at 0.40: a pairing Down fill may pay up to 0.58
        ("pairing", 580_000, Holding(0, 0, 10 * SHARE, 4 * 10**12), True),
        ("pairing", 590_000, Holding(0, 0, 10 * SHARE, 4 * 10**12), False),
        # equalizing judges the resulting pair: 10 Down at 0.50 held, 20 Up at 0.45
        ("equalize_maker", 590_000, Holding(10 * SHARE, 5 * 10**12, 20 * SHARE, 9 * 10**12), True),
        ("equalize_maker", 620_000, Holding(10 * SHARE, 5 * 10**12, 20 * SHARE, 9 * 10**12), False),
    ],
)
def test_a_fill_is_judged_by_the_rule_it_was_placed_under(
    rule: str, price: int, held: Holding, ok: bool
) -> None:
    assert realised_within_rule(fill(rule, price), held, _core.StrategyParams()) is ok


def test_a_fee_counts_against_the_rule() -> None:
    held = Holding(0, 0, 10 * SHARE, 4 * 10**12)  # 0.57 + 0.011 fee a share + 0.40 > 0.98
    assert (
        realised_within_rule(fill("pairing", 570_000, fee=110_000), held, _core.StrategyParams())
        is False
    )


class _Window:
    def __init__(self, up: int, down: int, market_id: str = "m") -> None:
        self.market_id = market_id
        self.position = _core.Position()
        if up:
            self.position.buy("up", 400_000, up, 0)
        if down:
            self.position.buy("down", 500_000, down, 0)


def test_portfolio_caps_add_up_every_open_window() -> None:
    portfolio = Portfolio(
        max_capital=30 * 10**12, max_unhedged=50 * SHARE, daily_loss_limit=10**14, events=Recorder()
    )
    portfolio.add(_Window(40 * SHARE, 0, "a"))  # type: ignore[arg-type]
    portfolio.add(_Window(0, 5 * SHARE, "b"))  # type: ignore[arg-type]
    assert portfolio.capital_deployed() == 16 * 10**12 + 25 * 10**11
    assert portfolio.unhedged() == 45 * SHARE
    assert portfolio.rooms == (30 * 10**12 - (16 * 10**12 + 25 * 10**11), 5 * SHARE)


def test_portfolio_sums_follow_fills_and_windows_coming_and_going() -> None:
    portfolio = Portfolio(
        max_capital=30 * 10**12, max_unhedged=50 * SHARE, daily_loss_limit=10**14, events=Recorder()
    )
    first, second = _Window(40 * SHARE, 0, "a"), _Window(0, 5 * SHARE, "b")
    portfolio.add(first)  # type: ignore[arg-type]
    assert portfolio.rooms[1] == 10 * SHARE
    portfolio.add(second)  # type: ignore[arg-type]
    assert portfolio.rooms[1] == 5 * SHARE
    second.position.buy("up", 500_000, 5 * SHARE, 0)  # pairs its 5 Down
    portfolio.recount()
    assert portfolio.rooms[1] == 10 * SHARE
    portfolio.remove(first)  # type: ignore[arg-type]
    assert portfolio.rooms == (30 * 10**12 - 5 * 10**12, 50 * SHARE)


class _Reserved:
    """What a shared store reports held in its capital ledger."""

    def __init__(self, total: int) -> None:
        self.total = total

    async def reserved_capital(self, ledger: str) -> int:
        return self.total


async def test_a_read_of_what_other_engines_hold_moves_the_capital_room() -> None:
    portfolio = Portfolio(
        max_capital=30 * 10**12, max_unhedged=50 * SHARE, daily_loss_limit=10**14, events=Recorder()
    )
    store = _Reserved(0)
    portfolio.ledger = CapitalLedger(
        store,  # type: ignore[arg-type]
        holder="this",
        cap=portfolio.max_capital,
        on_refresh=portfolio.recount,
    )
    portfolio.add(_Window(40 * SHARE, 0))  # type: ignore[arg-type]
    assert portfolio.rooms[0] == 14 * 10**12
    store.total = 4 * 10**12  # another engine holds $4
    await portfolio.ledger.refresh()
    assert portfolio.rooms[0] == 10 * 10**12


async def test_the_order_lock_hands_over_in_arrival_order_and_forgets_a_cancelled_waiter() -> None:
    lock = _Lock()
    assert lock.take_nowait() and not lock.take_nowait()
    order: list[str] = []
    gone = trio.CancelScope()

    async def take(name: str) -> None:
        await lock.take()
        order.append(name)
        lock.release()

    async def cancelled() -> None:
        with gone:
            await lock.take()
        order.append("cancelled")

    async with trio.open_nursery() as nursery:
        for task in (lambda: take("first"), cancelled, lambda: take("second")):
            nursery.start_soon(task)
            await trio.testing.wait_all_tasks_blocked()
        gone.cancel()
        await trio.testing.wait_all_tasks_blocked()
        lock.release()
    assert order == ["cancelled", "first", "second"]
    assert lock.take_nowait()  # free again
