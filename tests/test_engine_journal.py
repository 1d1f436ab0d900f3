"""The engine's order lifecycle against the real store (SQLite, and Redis where it says so):
the venue's id journaled when the ack arrives, a reversed fill out of the position across a
restart, a crash between the journal write and the send, an unknown POST outcome, and the
window's open and resolution check written beside its settlement."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
import trio
from gabagool._core import parse_reference_price
from gabagool.cli import main as cli_main
from gabagool.engine.core.commands import FillReversal
from gabagool.engine.recovery import reconcile_orders
from gabagool.engine.supervisor import RESTART_REASON, RESTING_REASON, Engine
from gabagool.store import FillRecord, OrderRecord, fold_fills, open_journal
from gabagool.types import NS
from gabagool.venues.base import Filled, FillReversed, OrderReport, OrderRequest, Unknown
from gabagool.venues.paper import PaperExchange
from gabagool.venues.sim_feed import SimMarketData
from test_engine_core import SHARE, Script, _up
from test_engine_fair import _settings as fair_settings
from test_engine_scenarios import CONDITION, START, Recorder
from test_engine_store import SLUG, DirectStore, direct_store, engine_on, run_until

Spy = Callable[[list[Any]], list[Any]]


def spy_on_venue(exchange: PaperExchange, on_events: Spy, on_submit: Any = None) -> None:
    """Every event list the paper venue answers with goes through `on_events` (which may
    change it: what a live venue may do that the paper one does not); `on_submit(market,
    request)` may stand in for the send."""
    open_market = exchange.open_market

    def opening(header, book, **kw):  # type: ignore[no-untyped-def]
        market = open_market(header, book, **kw)
        on_book, submit = market.on_book, market.submit
        market.on_book = lambda update: on_events(on_book(update))  # type: ignore[method-assign]

        def submitting(request: OrderRequest) -> list[Any]:
            if on_submit is not None:
                answer = on_submit(market, submit, request)
                if answer is not None:
                    return on_events(answer)  # type: ignore[no-any-return]
            return on_events(submit(request))

        market.submit = submitting  # type: ignore[method-assign]
        return market

    exchange.open_market = opening  # type: ignore[method-assign]


def store_on(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> DirectStore:
    if backend == "sqlite":
        return direct_store(tmp_path)
    url: str = request.getfixturevalue("redis_server")
    import redis

    with redis.Redis.from_url(url) as client:
        client.flushdb()
    return DirectStore(open_journal(url))


# ---- the venue's id -------------------------------------------------------------------------


async def test_each_acknowledged_order_is_journaled_with_the_venues_id(
    tmp_path: Path, autojump_clock
) -> None:
    store = direct_store(tmp_path)
    engine, exchange, events = engine_on(store)
    await run_until(engine, 120)
    orders = {o.order_id: o for o in store.journal.orders(SLUG)}
    acked = {request.client_id: ack.order_id for request, ack in events.orders if ack.accepted}
    assert acked
    for client_id, venue_id in acked.items():
        assert venue_id and orders[client_id].venue_id == venue_id
    for client_id in orders.keys() - acked.keys():  # refused: the venue never named it
        assert orders[client_id].venue_id == ""


# ---- a reversed fill across a restart ----------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
async def test_a_reversed_fill_stays_out_of_the_position_after_a_restart_counted_once(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, autojump_clock
) -> None:
    store = store_on(backend, tmp_path, request)
    engine, exchange, _ = engine_on(store, SimMarketData(seed=5))  # a window of many fills
    reversed_: list[Filled] = []

    def reverse_the_first_fill(answer: list[Any]) -> list[Any]:
        out: list[Any] = []
        for event in answer:
            if isinstance(event, Filled) and not reversed_:
                event = msgspec.structs.replace(event, final=False)  # MATCHED, not CONFIRMED
                reversed_.append(event)
                undo = FillReversed(
                    market_id=event.market_id,
                    client_id=event.client_id,
                    fill_id=event.fill_id,
                    detail="FAILED",
                )
                out += [event, undo, undo]  # the reversal delivered twice
                continue
            out.append(event)
        return out

    spy_on_venue(exchange, reverse_the_first_fill)
    await run_until(engine, 250)
    (gone,) = reversed_
    fills = store.journal.fills(SLUG)
    marked = [f for f in fills if f.trade_id == gone.fill_id]
    assert len(marked) == 1 and marked[0].reversed_ns is not None
    assert marked[0].reversal == "FAILED"
    standing = [f for f in fills if f.stands]
    assert standing, "the run must fill more than the reversed order"
    journaled = store.journal.position_snapshot(SLUG)
    assert journaled == fold_fills(SLUG, standing) == store.journal.rebuild_positions()[SLUG]
    (window,) = engine.windows
    assert (window.position.qty_up, window.position.qty_down) == (
        journaled.qty_up_micros,
        journaled.qty_down_micros,
    )
    assert engine.recovery is not None

    # the restart: the venue says it all again (the fill, final now, and the reversal)
    again, exchange2, _ = engine_on(store, SimMarketData(seed=5))
    said_again: list[bool] = []

    def repeat_once(answer: list[Any]) -> list[Any]:
        if said_again:
            return answer
        said_again.append(True)
        confirmed = msgspec.structs.replace(gone, final=True)
        undo = FillReversed(
            market_id=gone.market_id, client_id=gone.client_id, fill_id=gone.fill_id
        )
        return [*answer, confirmed, undo]

    spy_on_venue(exchange2, repeat_once)
    resumed: list[tuple[tuple[int, int], tuple[int, int]]] = []

    async def look() -> None:
        # what the resumed window holds is what the journal's standing fills add up to
        (w,) = again.windows
        now = store.journal.position_snapshot(SLUG)
        resumed.append(
            ((w.position.qty_up, w.position.qty_down), (now.qty_up_micros, now.qty_down_micros))
        )

    await run_until(again, 251, look)
    assert said_again
    ((memory, journal_now),) = resumed
    assert memory == journal_now
    after = store.journal.fills(SLUG)
    assert [f for f in after if f.trade_id == gone.fill_id] == marked  # untouched
    assert store.journal.position_snapshot(SLUG) == fold_fills(SLUG, after)
    store.journal.close()


# ---- a crash between the journal write and the send --------------------------------------------


async def test_a_crash_between_the_journal_write_and_the_send_is_ended_by_recovery(
    tmp_path: Path, autojump_clock
) -> None:
    """The journal is copied at the instant the first order would go out: what a process
    killed there leaves on disk. An engine started on that copy finds the intent, asks the
    venue, which never saw it, and marks it cancelled; the position is the journal's."""
    store = direct_store(tmp_path)
    engine, exchange, _ = engine_on(store)
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    caught: list[str] = []

    def crash_before_send(market: Any, submit: Any, request: OrderRequest) -> None:
        if not caught:
            caught.append(request.client_id)
            with sqlite3.connect(crashed / "journal.sqlite3") as copy:
                store.journal._db.backup(copy)  # type: ignore[attr-defined]

    spy_on_venue(exchange, lambda answer: answer, crash_before_send)
    await run_until(engine, 30)
    (client_id,) = caught
    left = direct_store(crashed)
    intent = left.journal.order(client_id)
    assert intent is not None and intent.status == "pending" and intent.venue_id == ""
    before = left.journal.position_snapshot(SLUG)

    restarted, _, _ = engine_on(left)
    await run_until(restarted, 31)
    ended = left.journal.order(client_id)
    assert ended is not None and ended.status == "cancelled" and ended.reason == RESTART_REASON
    assert restarted.recovery is not None
    assert restarted.recovery.fills[SLUG] == left.journal.fills(SLUG)[: before.fill_count]


# ---- an unknown POST outcome --------------------------------------------------------------------


async def test_an_unknown_post_outcome_is_journaled_in_doubt_and_settled_by_the_venue(
    tmp_path: Path, autojump_clock
) -> None:
    """The first send times out: the venue may hold the order or not. The journal keeps it
    `pending` with no venue id, among the orders that may rest; a process killed then and
    restarted asks the venue: one that lists it has it adopted with its id, one that does
    not has it cancelled."""
    store = direct_store(tmp_path)
    engine, exchange, _ = engine_on(store)
    doubtful: list[OrderRequest] = []

    def time_out(market: Any, submit: Any, request: OrderRequest) -> list[Any] | None:
        if doubtful:
            return None
        doubtful.append(request)
        submit(request)  # it reached the venue; the answer never came back
        return [
            Unknown(market_id=request.market_id, client_id=request.client_id, detail="timeout")
        ]

    spy_on_venue(exchange, lambda answer: answer, time_out)
    in_doubt: list[tuple[OrderRecord | None, list[OrderRecord]]] = []
    copies = [tmp_path / "held", tmp_path / "not-held"]

    async def crash_now() -> None:
        client_id = doubtful[0].client_id
        in_doubt.append((store.journal.order(client_id), store.journal.resting_orders(SLUG)))
        for copy in copies:
            copy.mkdir()
            with sqlite3.connect(copy / "journal.sqlite3") as db:
                store.journal._db.backup(db)  # type: ignore[attr-defined]

    await run_until(engine, 5, crash_now)
    (request,) = doubtful
    ((order, resting),) = in_doubt
    assert order is not None and order.status == "pending" and order.venue_id == ""
    assert order.reason == "unknown: timeout" and order in resting

    report = OrderReport(
        client_id=request.client_id, venue_id="0xheld", request=request, remaining=request.size
    )
    for copy, listed in zip(copies, ([report], []), strict=True):
        left = direct_store(copy)
        again, exchange2, _ = engine_on(left)

        async def venue_lists(market_id: str, listed: list[OrderReport] = listed) -> list[Any]:
            return listed

        exchange2.reconcile = venue_lists  # type: ignore[method-assign]
        after: list[OrderRecord | None] = []

        async def look(left: DirectStore = left, after: list[Any] = after) -> None:
            after.append(left.journal.order(request.client_id))

        await run_until(again, 6, look)
        (settled,) = after
        assert settled is not None
        if listed:
            assert (settled.status, settled.venue_id) == ("open", "0xheld")
            assert settled.reason == RESTING_REASON
        else:
            assert (settled.status, settled.venue_id) == ("cancelled", "")
            assert settled.reason == RESTART_REASON
        left.journal.close()


def _order(order_id: str, venue_id: str = "", status: str = "pending") -> OrderRecord:
    return OrderRecord(
        order_id=order_id,
        window_id=SLUG,
        outcome="up",
        side="buy",
        price_micros=400_000,
        size_micros=10_000_000,
        order_type="GTC",
        post_only=True,
        status=status,  # type: ignore[arg-type]
        created_ns=1,
        updated_ns=1,
        venue_id=venue_id,
    )


def _report(client_id: str, venue_id: str) -> OrderReport:
    request = OrderRequest(
        market_id="0x", outcome="up", action="buy", price=400_000, size=10_000_000,
        order_type="GTC", client_id=client_id,
    )
    return OrderReport(client_id=client_id, venue_id=venue_id, request=request,
                       remaining=10_000_000)


def test_recovery_matches_the_venues_orders_by_its_id_first_then_by_ours() -> None:
    journaled = [
        _order("acked", venue_id="0xa"),  # a live venue lists it by its id alone
        _order("intent"),  # never reached the venue
        _order("doubt"),  # an unknown POST outcome the venue did place
        _order("gone", venue_id="0xg"),  # cancelled or filled while we were down
        _order("renamed", venue_id="0xr"),  # our id reused by an order the venue calls else
    ]
    reports = [_report("", "0xa"), _report("doubt", "0xd"), _report("renamed", "0xother")]
    result = reconcile_orders(journaled, reports)
    assert [(o.order_id, r.venue_id) for o, r in result.resting] == [
        ("acked", "0xa"),
        ("doubt", "0xd"),
        ("renamed", "0xother"),
    ]
    assert [o.order_id for o in result.gone] == ["intent", "gone"]


# ---- the window's open and its resolution check -------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
async def test_the_windows_open_and_resolution_check_are_journaled_and_shown(
    backend: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    autojump_clock: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = store_on(backend, tmp_path, request)
    # halted from the start: no orders to write, the window still opens and settles
    store.journal.set_halt(True, "watch only", "test", 0)
    data = SimMarketData(seed=7)
    header = data.window("btc", START).header
    engine = Engine(
        fair_settings(engine_assets="btc", engine_duration="960"),
        exchange=PaperExchange(),
        market_data=data,
        events=Recorder(),
        first_start=START,
        store=store,
    )
    with trio.fail_after(5000):
        await engine.run()
    first = engine.windows[0]
    record = store.journal.window(first.slug)
    assert record is not None and record.status == "settled"
    assert header.price_to_beat is not None
    assert record.open_atto == parse_reference_price(header.price_to_beat)
    assert record.open_source == "priceToBeat" and record.open_ns == START * NS
    check = first.core.resolution_check
    assert record.resolution is not None
    assert (record.resolution.ours, record.resolution.exchange) == (check.ours, check.exchange)
    assert record.resolution.agree is True and record.resolution.exchange == record.winner
    assert record.resolution.settlement_atto == check.settlement
    location = (
        str(tmp_path / "journal.sqlite3")
        if backend == "sqlite"
        else request.getfixturevalue("redis_server")
    )
    assert cli_main(["state", "show", "--store", location]) == 0
    out = capsys.readouterr().out
    whole, cents = divmod((record.open_atto + 5 * 10**15) // 10**16, 100)
    assert f"${whole:,}.{cents:02d} (priceToBeat)" in out
    assert f"agree ({record.winner})" in out
    store.journal.close()


# ---- the core resumed from journaled fills ------------------------------------------------------


def _journaled(trade_id: str, order_id: str, size: int, reversed_ns: int | None = None) -> Any:
    return FillRecord(
        trade_id=trade_id,
        order_id=order_id,
        window_id=SLUG,
        outcome="up",
        side="buy",
        price_micros=400_000,
        size_micros=size,
        fee_micros=0,
        liquidity="maker",
        ts_ns=1,
        reversed_ns=reversed_ns,
    )


def test_a_resumed_core_keeps_its_journaled_fills_through_a_later_reversal() -> None:
    s = Script()
    s.core.restore(
        [_journaled("old", "old-o", 5 * SHARE), _journaled("gone", "gone-o", 2 * SHARE, 9)]
    )
    assert s.core.position.qty_up == 5 * SHARE  # the reversed one adds nothing
    assert s.core.orders.stats.fills == 1
    place = _up(s.tick(1))
    cid = place.request.client_id
    s.event(s.fill(cid, "t1", size=4 * SHARE, final=False))
    s.event(FillReversed(market_id=CONDITION, client_id=cid, fill_id="t1", detail="FAILED"))
    assert s.core.position.qty_up == 5 * SHARE  # the journaled fill is still there
    # a journaled fill reversed after the restart leaves the position, under its journal key
    s.event(FillReversed(market_id=CONDITION, client_id="old-o", fill_id="old"))
    assert s.core.position.qty_up == 0 and s.core.orders.stats.fills == 0
    (reversal,) = [e for e in s.core.journal if isinstance(e, FillReversal) and e.fill_id == "old"]
    assert (reversal.fill_id, reversal.client_id) == _journaled("old", "old-o", 1).key
    # the fill reversed before the crash, delivered again, is a duplicate, not a new fill
    s.event(s.fill("gone-o", "gone", size=2 * SHARE))
    assert s.core.position.qty_up == 0 and s.core.orders.stats.duplicate_fills == 1
