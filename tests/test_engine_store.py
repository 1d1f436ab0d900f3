"""The engine on the durable store: journaling, recovery on start, the persisted halt flag,
the shared capital ledger, and the store settings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trio
from design_rules import DESIGN_PAIR_RULES
from gabagool.cli import main
from gabagool.config import load_settings, redact_url
from gabagool.engine.core.commands import OrderIntent
from gabagool.engine.supervisor import RESTART_REASON, Engine
from gabagool.engine.window import Window
from gabagool.store import (
    FillRecord,
    OrderRecord,
    ThreadedStore,
    WindowRecord,
    fold_fills,
    open_journal,
)
from gabagool.types import NS
from gabagool.venues.base import OrderRequest
from gabagool.venues.paper import PaperExchange
from gabagool.venues.sim_feed import SimMarketData
from test_engine_scenarios import START, Recorder, header, settings
from test_engine_supervisor import ScriptedMarketData

SLUG = f"btc-updown-15m-{START}"
FINAL_STATUSES = {"filled", "cancelled", "rejected", "expired"}


class DirectStore(ThreadedStore):
    """The store's calls made in the Trio thread: deterministic under the autojump clock
    (a worker thread's real time would let the clock jump while a write is in flight)."""

    async def _run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        await trio.lowlevel.checkpoint()
        return fn(*args, **kwargs)




def direct_store(path: Path) -> DirectStore:
    return DirectStore(open_journal(str(path / "journal.sqlite3")))


def engine_on(
    store: ThreadedStore, data: Any = None, *, first_start: int = START, **env: str
) -> tuple[Engine, PaperExchange, Recorder]:
    exchange, events = PaperExchange(), Recorder()
    engine = Engine(
        settings(engine_assets="btc", **env),
        exchange=exchange,
        market_data=data if data is not None else ScriptedMarketData(),
        events=events,
        first_start=first_start,
        store=store,
    )
    return engine, exchange, events


def on_each_submit(exchange: PaperExchange, seen: Callable[[OrderRequest], Any]) -> None:
    """`seen(request)` just before each window's paper market is handed an order."""
    open_market = exchange.open_market

    def opening(header, book, **kw):  # type: ignore[no-untyped-def]
        market = open_market(header, book, **kw)
        submit = market.submit

        def submitting(request: OrderRequest) -> list[Any]:
            seen(request)
            return submit(request)

        market.submit = submitting  # type: ignore[method-assign]
        return market

    exchange.open_market = opening  # type: ignore[method-assign]


async def run_until(engine: Engine, market_s: int, then: Callable[[], Any] | None = None) -> None:
    """Run `engine` until market time START + `market_s`, then stop it."""

    async def drive() -> None:
        await engine.clock.sleep_until((START + market_s) * NS)  # type: ignore[union-attr]
        if then is not None:
            await then()
        engine.stop("test")

    with trio.fail_after(10_000):
        async with trio.open_nursery() as nursery:
            await nursery.start(engine.run)
            nursery.start_soon(drive)


# ---- journaling ---------------------------------------------------------------------------


async def test_every_fill_and_intent_is_journaled_before_the_engine_next_calls_the_venue(
    tmp_path: Path, autojump_clock
) -> None:
    store = direct_store(tmp_path)
    engine, exchange, events = engine_on(store)
    seen: list[tuple[int, int, int, int]] = []
    unjournaled: list[str] = []

    def submitting(request: OrderRequest) -> None:
        # what the core holds in memory is durable before the venue hears of the order
        (window,) = engine.open_windows()
        journaled = store.journal.position_snapshot(window.slug)
        p = window.position
        seen.append((p.qty_up, p.qty_down, journaled.qty_up_micros, journaled.qty_down_micros))
        if store.journal.order(request.client_id) is None:
            unjournaled.append(request.client_id)

    on_each_submit(exchange, submitting)
    await run_until(engine, 60)
    assert events.fills and seen and unjournaled == []
    assert all(mem_up == j_up and mem_down == j_down for mem_up, mem_down, j_up, j_down in seen)
    (window,) = engine.windows
    journaled = store.journal.position_snapshot(SLUG)
    assert (journaled.qty_up_micros, journaled.qty_down_micros) == (
        window.position.qty_up,
        window.position.qty_down,
    )
    assert journaled.fill_count == len(events.fills)


async def test_a_halt_that_lands_while_an_order_is_journaled_stops_its_send(
    tmp_path: Path, autojump_clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the write-ahead journal is I/O: another engine's halt can take hold while the intent
    # is written, and the order decided before it must not go out after it
    store = direct_store(tmp_path)
    engine, exchange, events = engine_on(store)
    sent: list[str] = []
    on_each_submit(exchange, lambda request: sent.append(request.client_id))
    write = Window._write
    halted_at: list[str] = []

    async def halting_write(self, journal, entry):  # type: ignore[no-untyped-def]
        if isinstance(entry, OrderIntent) and not halted_at:
            halted_at.append(entry.request.client_id)
            engine.portfolio.halt("halted by engine-eth")
        await write(self, journal, entry)

    monkeypatch.setattr(Window, "_write", halting_write)
    await run_until(engine, 120)
    (first,) = halted_at
    assert sent == []  # neither that order nor any after it reached the venue
    record = store.journal.order(first)
    assert record is not None and (record.status, record.reason) == ("rejected", "halted")
    assert not [e for e in events.risk if e[0] == "order_rejected"]  # no reject storm


async def test_every_order_is_journaled_with_its_fate(tmp_path: Path, autojump_clock) -> None:
    store = direct_store(tmp_path)
    engine, _, events = engine_on(store)
    await run_until(engine, 120)
    orders = store.journal.orders(SLUG)
    assert len(orders) == len(events.orders)
    # journaled under our own ids, before the venue gave one
    assert {o.order_id for o in orders} == {request.client_id for request, _ in events.orders}
    assert all(o.status in FINAL_STATUSES for o in orders), [o.status for o in orders]
    fills = store.journal.fills(SLUG)
    for order in orders:
        filled = sum(f.size_micros for f in fills if f.order_id == order.order_id)
        assert filled <= order.size_micros
        if order.status == "filled":
            assert filled == order.size_micros
    assert any(o.status == "cancelled" for o in orders)
    assert len({f.key for f in fills}) == len(fills)


async def test_settled_window_is_journaled_with_its_winner(tmp_path: Path, autojump_clock) -> None:
    store = direct_store(tmp_path)
    engine, _, _ = engine_on(store, engine_duration="1000")
    with trio.fail_after(10_000):
        await engine.run()
    first = store.journal.window(SLUG)
    assert first is not None and first.status == "settled" and first.winner == "up"
    assert first.pnl_pico == engine.windows[0].settlement_pnl
    assert store.journal.window(f"btc-updown-15m-{START + 900}").status == "open"  # type: ignore[union-attr]


# ---- recovery -----------------------------------------------------------------------------


def _crashed_journal(
    path: Path, *, resting: bool = True, market_id: str = f"0xbtc{START}"
) -> DirectStore:
    """A journal as a crash leaves it: an open window with fills and a resting order."""
    store = direct_store(path)
    journal = store.journal
    journal.record_window_opened(
        WindowRecord(
            window_id=SLUG,
            asset="btc",
            up_token="1001",
            down_token="2002",
            start_s=START,
            end_s=START + 900,
            opened_ns=START * NS,
            market_id=market_id,
        )
    )
    for n, (outcome, price) in enumerate([("up", 390_000), ("down", 560_000)], 1):
        journal.record_fill(
            FillRecord(
                trade_id=f"paper-dead-{n}-f{n}",
                order_id=f"paper-dead-{n}",
                window_id=SLUG,
                outcome=outcome,  # type: ignore[arg-type]
                side="buy",
                price_micros=price,
                size_micros=10_000_000,
                fee_micros=0,
                liquidity="maker",
                ts_ns=(START + 200) * NS,
            )
        )
    if resting:
        journal.record_order(
            OrderRecord(
                order_id="paper-dead-3",
                window_id=SLUG,
                outcome="up",
                side="buy",
                price_micros=380_000,
                size_micros=10_000_000,
                order_type="GTC",
                post_only=True,
                status="open",
                created_ns=(START + 250) * NS,
                updated_ns=(START + 250) * NS,
            )
        )
    return store


async def test_restart_resumes_the_open_window_from_its_journaled_position(
    tmp_path: Path, autojump_clock
) -> None:
    store = _crashed_journal(tmp_path)
    engine, _, _ = engine_on(store)
    resumed: list[tuple[int, int, int]] = []

    async def look() -> None:
        (window,) = engine.windows
        resumed.append((window.position.qty_up, window.position.qty_down, window.core.frames))

    await run_until(engine, 251, look)
    # the clock restarted where the journal left off, not at the window's start
    assert engine.recovery is not None and engine.recovery.resume_ns == (START + 250) * NS
    assert resumed[0][:2] == (10_000_000, 10_000_000)
    assert resumed[0][2] > 0  # the backlog of frames up to now was applied at once
    dead = store.journal.order("paper-dead-3")
    assert dead is not None and dead.status == "cancelled" and dead.reason == RESTART_REASON
    (window,) = engine.windows
    journaled = store.journal.position_snapshot(SLUG)
    assert (journaled.qty_up_micros, journaled.qty_down_micros) == (
        window.position.qty_up,
        window.position.qty_down,
    )
    assert journaled == fold_fills(SLUG, store.journal.fills(SLUG))


async def test_window_that_ended_while_down_is_settled_on_start(
    tmp_path: Path, autojump_clock
) -> None:
    data = SimMarketData(seed=5)
    feed = data.window("btc", START)
    winner = feed.fallback_outcome()
    store = _crashed_journal(tmp_path, resting=False, market_id=feed.header.condition_id)
    engine, _, _ = engine_on(store, data, first_start=START + 1800)
    with trio.fail_after(10_000):
        async with trio.open_nursery() as nursery:
            await nursery.start(engine.run)
            engine.stop("test")
    settled = store.journal.window(SLUG)
    assert settled is not None and settled.status == "settled" and settled.winner == winner
    # 10 shares of each side pay $10; they cost 0.39 + 0.56 a pair
    assert settled.pnl_pico == 10 * 10**12 - (390_000 + 560_000) * 10_000_000
    assert engine.portfolio.realised_today == settled.pnl_pico
    assert [w.slug for w in engine.windows] == [f"btc-updown-15m-{START + 1800}"]


async def test_ended_window_of_another_market_is_not_settled_with_this_feeds_winner(
    tmp_path: Path, autojump_clock
) -> None:
    store = _crashed_journal(tmp_path, resting=False)  # the scripted market's window
    engine, _, _ = engine_on(store, SimMarketData(seed=5), first_start=START + 1800)
    with trio.fail_after(10_000):
        async with trio.open_nursery() as nursery:
            await nursery.start(engine.run)
            engine.stop("test")
    left = store.journal.window(SLUG)
    assert left is not None and left.status == "open"


async def test_halt_is_persisted_and_honoured_by_the_next_engine(
    tmp_path: Path, autojump_clock
) -> None:
    store = direct_store(tmp_path)
    engine, _, _ = engine_on(store)

    async def halt() -> None:
        await engine.control.send("halt")
        await trio.sleep(1)

    await run_until(engine, 30, halt)
    assert store.journal.get_halt().halted
    again, exchange, events = engine_on(store)
    placed_before = len(events.orders)
    await run_until(again, 200)
    assert again.portfolio.halted and "manual halt" in again.portfolio.halt_reason
    assert len(events.orders) == placed_before == 0
    assert exchange.open_orders() == []


async def test_resume_clears_the_persisted_halt(tmp_path: Path, autojump_clock) -> None:
    store = _crashed_journal(tmp_path, resting=False)
    store.journal.set_halt(True, "manual halt", "elsewhere", START * NS)
    engine, _, events = engine_on(store)

    async def resume() -> None:
        assert engine.portfolio.halted and not events.orders
        await engine.control.send("resume")
        await trio.sleep(20)

    await run_until(engine, 260, resume)
    assert not store.journal.get_halt().halted and not engine.portfolio.halted
    assert events.orders


async def test_halt_written_by_another_engine_stops_this_one(
    tmp_path: Path, autojump_clock
) -> None:
    store = direct_store(tmp_path)
    engine, exchange, events = engine_on(store)

    async def halt_elsewhere() -> None:
        assert exchange.open_orders()
        store.journal.set_halt(True, "risk desk", "other-engine", 0)
        await trio.sleep(1)  # HALT_POLL_S at speed 1, with room
        assert engine.portfolio.halted and exchange.open_orders() == []
        count = len(events.orders)
        await trio.sleep(60)
        assert len(events.orders) == count
        store.journal.set_halt(False, "", "other-engine", 0)
        await trio.sleep(20)
        assert not engine.portfolio.halted and len(events.orders) > count

    await run_until(engine, 10, halt_elsewhere)


# ---- the shared capital cap ---------------------------------------------------------------


async def test_engines_sharing_a_ledger_never_commit_beyond_the_cap(
    tmp_path: Path, autojump_clock
) -> None:
    store = direct_store(tmp_path)
    cap = {"risk_max_capital": "12", "strategy_trade_size": "10"}
    one, _, events_one = engine_on(store, store_engine_id="one", **cap)
    two, _, events_two = engine_on(store, store_engine_id="two", **cap)
    worst: list[int] = []

    async def watch() -> None:
        while True:
            held = store.journal.reserved_capital()
            committed = one.portfolio.committed() + two.portfolio.committed()
            worst.append(max(held, committed))
            assert committed <= held <= 12 * 10**12
            await trio.sleep(0.5)

    with trio.fail_after(10_000):
        async with trio.open_nursery() as nursery:
            await nursery.start(one.run)
            await nursery.start(two.run)
            nursery.start_soon(watch)
            await one.clock.sleep_until((START + 300) * NS)  # type: ignore[union-attr]
            nursery.cancel_scope.cancel()
    assert max(worst) > 5 * 10**12  # they did trade up against the cap
    # and were held back by it, each reporting the spell once
    capped = [w.stats.capped for w in one.windows + two.windows]
    assert sum(capped) > 0
    reports = [a for a, _ in events_one.risk + events_two.risk].count("capital_cap")
    assert 0 < reports < sum(capped)


async def test_engines_sharing_a_ledger_never_exceed_the_unhedged_cap(
    tmp_path: Path, autojump_clock
) -> None:
    store = direct_store(tmp_path)
    cap = {"risk_max_unhedged": "15", "strategy_trade_size": "10"}
    one, _, _ = engine_on(store, store_engine_id="one", **cap)
    two, _, _ = engine_on(store, store_engine_id="two", **cap)
    worst: list[int] = []

    async def watch() -> None:
        while True:
            held = store.journal.reserved_capital("unhedged")
            exposure = one.portfolio.exposure() + two.portfolio.exposure()
            assert one.portfolio.unhedged() + two.portfolio.unhedged() <= exposure
            assert exposure <= held <= 15_000_000
            worst.append(exposure)
            await trio.sleep(0.5)

    with trio.fail_after(10_000):
        async with trio.open_nursery() as nursery:
            await nursery.start(one.run)
            await nursery.start(two.run)
            nursery.start_soon(watch)
            await one.clock.sleep_until((START + 300) * NS)  # type: ignore[union-attr]
            nursery.cancel_scope.cancel()
    assert max(worst) >= 10_000_000
    assert sum(w.stats.capped for w in one.windows + two.windows) > 0


# ---- settings -----------------------------------------------------------------------------


def test_store_url_comes_from_config_environment_and_flag(tmp_path: Path) -> None:
    toml = tmp_path / "g.toml"
    toml.write_text('[store]\nurl = "sqlite:///from/file"\n')
    assert load_settings(toml, environ={}, dotenv=None).store.url == "sqlite:///from/file"
    env = {"GABAGOOL_STORE_URL": "redis://h:6379/1"}
    assert load_settings(toml, environ=env, dotenv=None).store.url == "redis://h:6379/1"
    flag = load_settings(toml, environ=env, overrides={"store.url": "/x.db"}, dotenv=None)
    assert flag.store.url == "/x.db"
    assert load_settings(environ={}, dotenv=None).store.url is None


def test_store_url_of_unknown_scheme_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match=r"store.url: http://h/ is out of range"):
        load_settings(environ={"GABAGOOL_STORE_URL": "http://h/"}, dotenv=None)


def test_redis_password_is_redacted_in_config_show(capsys, monkeypatch) -> None:
    monkeypatch.setenv("GABAGOOL_STORE_URL", "rediss://trader:s3cret@db.example:6380/2")
    assert main(["config", "show"]) == 0
    out = capsys.readouterr().out
    assert "s3cret" not in out and 'url = "rediss://trader:***@db.example:6380/2"' in out


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:pw@h:6379/0", "redis://:***@h:6379/0"),
        ("redis://h/0?password=pw&db=1", "redis://h/0?password=***&db=1"),
        ("/var/lib/journal.sqlite3", "/var/lib/journal.sqlite3"),
    ],
)
def test_redact_url_hides_only_the_password(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_a_restarted_window_names_its_orders_apart_from_the_run_before() -> None:
    from gabagool.engine.core import WindowCore

    first = WindowCore(header(), settings())
    again = WindowCore(header(), settings(), id_prefix=f"r{START * NS}")
    assert first._id_prefix != again._id_prefix


def test_gabagool_run_journals_into_the_store_it_is_given(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name, value in DESIGN_PAIR_RULES.items():
        monkeypatch.setenv(name, value)
    path = tmp_path / "elsewhere.sqlite3"
    # at 100x a hiccup of 0.1 s is what makes a run "behind" (risk.stale_after 10 s): at 1000x
    # a busy machine's 10 ms did, and the run then rightly exits 3
    args = ["run", "--assets", "btc", "--speed", "100", "--duration", "300", "--no-view"]
    args += ["--data-dir", str(tmp_path), "--start", str(START), "--store", f"sqlite://{path}"]
    assert main(args) == 0
    journal = open_journal(str(path), create=False)
    try:
        (window,) = journal.windows()
        assert window.window_id == SLUG and journal.fills(SLUG)
    finally:
        journal.close()
    assert not (tmp_path / "journal.sqlite3").exists()
