"""The journal: one suite, run against SQLite and against a real redis-server."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import aclosing
from pathlib import Path

import msgspec
import pytest
import trio
from gabagool.cli import main as cli_main
from gabagool.store import (
    FillRecord,
    HaltState,
    Journal,
    JournalExport,
    JournalNotFound,
    OrderRecord,
    PositionSnapshot,
    SchemaError,
    StoreError,
    StoreUnavailable,
    ThreadedStore,
    WindowRecord,
    fold_fills,
    open_journal,
    open_store,
    watch_halt,
)
from gabagool.store import redis as redis_backend
from gabagool.store import sqlite as sqlite_backend
from gabagool.store.redis import RedisJournal, redact_url
from gabagool.store.sqlite import JOURNAL_FILENAME, SqliteJournal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

WINDOW = "btc-updown-15m-1764000000"
OTHER_WINDOW = "eth-updown-15m-1764000000"
REPO = Path(__file__).parents[1]
PICO_PER_MICRO = 1_000_000


def window(window_id: str = WINDOW, start_s: int = 1_764_000_000) -> WindowRecord:
    return WindowRecord(
        window_id=window_id,
        asset=window_id.split("-")[0],
        up_token=f"{window_id}-up-token",
        down_token=f"{window_id}-down-token",
        start_s=start_s,
        end_s=start_s + 900,
        opened_ns=start_s * 10**9,
        market_id=f"0x{window_id.split('-')[0]}-condition",
    )


def fill(
    trade_id: str,
    *,
    order_id: str = "o-1",
    window_id: str = WINDOW,
    outcome: str = "up",
    side: str = "buy",
    price: int = 450_000,
    size: int = 10_000_000,
    fee: int = 0,
) -> FillRecord:
    return FillRecord(
        trade_id=trade_id,
        order_id=order_id,
        window_id=window_id,
        outcome=outcome,  # type: ignore[arg-type]
        side=side,  # type: ignore[arg-type]
        price_micros=price,
        size_micros=size,
        fee_micros=fee,
        liquidity="maker" if fee == 0 else "taker",
        ts_ns=1,
    )


def order(order_id: str, *, window_id: str = WINDOW, status: str = "open") -> OrderRecord:
    return OrderRecord(
        order_id=order_id,
        window_id=window_id,
        outcome="up",
        side="buy",
        price_micros=440_000,
        size_micros=10_000_000,
        order_type="GTC",
        post_only=True,
        status=status,  # type: ignore[arg-type]
        created_ns=int(order_id.rsplit("-", 1)[-1]),
        updated_ns=0,
    )


# ---- backends ------------------------------------------------------------------------------

Opener = Callable[[], Journal]


@pytest.fixture
def reopen(location: str) -> Iterator[Opener]:
    """Opens (another client of) the journal; every one opened is closed afterwards."""
    opened: list[Journal] = []

    def open_one() -> Journal:
        journal = open_journal(location)
        opened.append(journal)
        return journal

    yield open_one
    for journal in opened:
        journal.close()


@pytest.fixture
def journal(reopen: Opener) -> Journal:
    return reopen()


# ---- windows -------------------------------------------------------------------------------


def test_window_is_journaled_once_and_open_until_settled(journal: Journal) -> None:
    assert journal.record_window_opened(window())
    assert not journal.record_window_opened(window())
    assert journal.record_window_opened(window(OTHER_WINDOW))
    assert [w.window_id for w in journal.open_windows()] == [WINDOW, OTHER_WINDOW]
    journal.record_window_settled(WINDOW, "down", 5)
    assert [w.window_id for w in journal.open_windows()] == [OTHER_WINDOW]
    assert journal.window(WINDOW) == msgspec.structs.replace(
        window(), status="settled", winner="down", settled_ns=5, payout_pico=0, pnl_pico=0
    )
    assert journal.window("nope") is None


def test_window_ending_before_it_starts_is_refused(journal: Journal) -> None:
    bad = msgspec.structs.replace(window(), end_s=window().start_s)
    with pytest.raises(StoreError, match="ends at 1764000000 before it starts"):
        journal.record_window_opened(bad)


def test_settlement_pays_a_dollar_per_winning_share_minus_net_cost(journal: Journal) -> None:
    journal.record_window_opened(window())
    journal.record_fill(fill("t1", outcome="up", price=450_000, size=10_000_000, fee=175_000))
    journal.record_fill(fill("t2", outcome="down", price=500_000, size=8_000_000))
    settled = journal.record_window_settled(WINDOW, "up", 7)
    assert settled.payout_pico == 10 * 10**12
    cost = 450_000 * 10_000_000 + 175_000 * PICO_PER_MICRO + 500_000 * 8_000_000
    assert settled.pnl_pico == 10 * 10**12 - cost
    assert journal.totals().realized_pnl_pico == settled.pnl_pico
    assert journal.totals().open_net_cost_pico == 0


def test_settling_again_is_a_no_op_and_another_winner_is_refused(journal: Journal) -> None:
    journal.record_window_opened(window())
    first = journal.record_window_settled(WINDOW, "up", 7)
    assert journal.record_window_settled(WINDOW, "up", 99) == first
    with pytest.raises(StoreError, match="already settled with winner 'up', not 'down'"):
        journal.record_window_settled(WINDOW, "down", 8)
    with pytest.raises(StoreError, match="'nope': never opened"):
        journal.record_window_settled("nope", "up", 8)


# ---- fills and positions -------------------------------------------------------------------


def test_same_fill_applied_twice_counts_once(journal: Journal) -> None:
    journal.record_window_opened(window())
    assert journal.record_fill(fill("t1"))
    assert not journal.record_fill(fill("t1"))
    # Same trade, another of our orders (a mint match of our two bids): a second fill.
    assert journal.record_fill(fill("t1", order_id="o-2", outcome="down"))
    position = journal.position_snapshot(WINDOW)
    assert (position.qty_up_micros, position.qty_down_micros, position.fill_count) == (
        10_000_000,
        10_000_000,
        2,
    )
    assert len(journal.fills(WINDOW)) == 2


def test_fills_of_other_clients_count_once_too(reopen: Opener) -> None:
    first, second = reopen(), reopen()
    first.record_window_opened(window())
    assert first.record_fill(fill("t1"))
    assert not second.record_fill(fill("t1"))
    assert second.position_snapshot(WINDOW).fill_count == 1


def test_sell_takes_quantity_and_proceeds_net_of_fee_off_the_side(journal: Journal) -> None:
    journal.record_window_opened(window())
    journal.record_fill(fill("t1", price=400_000, size=20_000_000))
    journal.record_fill(fill("t2", side="sell", price=300_000, size=5_000_000, fee=10_000))
    position = journal.position_snapshot(WINDOW)
    assert position.qty_up_micros == 15_000_000
    assert position.cost_up_pico == 400_000 * 20_000_000 - (300_000 * 5_000_000 - 10**10)
    assert position.fees_micros == 10_000


def test_fill_naming_an_unopened_window_is_refused(journal: Journal) -> None:
    with pytest.raises(StoreError, match="names window 'btc-updown-15m-1764000000', never"):
        journal.record_fill(fill("t1"))
    assert journal.position_snapshot(WINDOW) == PositionSnapshot(window_id=WINDOW)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"price_micros": 0}, r"price 0 outside \(0, 1\)"),
        ({"price_micros": 1_000_000}, r"price 1 outside \(0, 1\)"),
        ({"size_micros": 0}, "size 0 not above 0"),
        ({"fee_micros": -1}, r"fee -0.000001 \$ is negative"),
        ({"outcome": "sideways"}, "outcome 'sideways' not up/down"),
        ({"side": "short"}, "side 'short' not buy/sell"),
        ({"trade_id": ""}, "trade id is empty"),
    ],
)
def test_invalid_fill_is_refused_naming_the_value(
    journal: Journal, bad: dict[str, object], message: str
) -> None:
    journal.record_window_opened(window())
    with pytest.raises(StoreError, match=message):
        journal.record_fill(msgspec.structs.replace(fill("t1"), **bad))
    assert journal.fills(WINDOW) == []


def test_money_past_64_bits_stays_exact(journal: Journal) -> None:
    journal.record_window_opened(window())
    # Ten million shares at $0.999999, twice: ~2e19 pico-dollars, past SQLite's and Redis's
    # 64-bit integers.
    big = fill("t1", price=999_999, size=10**13, fee=10**12)
    journal.record_fill(big)
    journal.record_fill(msgspec.structs.replace(big, trade_id="t2"))
    expected = 2 * (999_999 * 10**13 + 10**12 * PICO_PER_MICRO)
    assert expected > 2**63
    assert journal.position_snapshot(WINDOW).cost_up_pico == expected
    assert journal.rebuild_positions()[WINDOW].cost_up_pico == expected


fill_strategy = st.builds(
    fill,
    st.sampled_from([f"t{i}" for i in range(12)]),
    order_id=st.sampled_from(["o-1", "o-2"]),
    window_id=st.sampled_from([WINDOW, OTHER_WINDOW]),
    outcome=st.sampled_from(["up", "down"]),
    side=st.sampled_from(["buy", "buy", "sell"]),
    price=st.integers(1, 999_999),
    size=st.integers(1, 10**9),
    fee=st.integers(0, 10**6),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(fills=st.lists(fill_strategy, max_size=20))
def test_positions_equal_the_sum_of_distinct_fills(
    journal: Journal, fills: list[FillRecord]
) -> None:
    journal.clear()
    journal.record_window_opened(window())
    journal.record_window_opened(window(OTHER_WINDOW))
    first_seen: dict[tuple[str, str], FillRecord] = {}
    for f in fills:
        assert journal.record_fill(f) == (f.key not in first_seen)
        first_seen.setdefault(f.key, f)
    rebuilt = journal.rebuild_positions()
    for window_id in (WINDOW, OTHER_WINDOW):
        journaled = [f for f in first_seen.values() if f.window_id == window_id]
        expected = fold_fills(window_id, journaled)
        assert journal.position_snapshot(window_id) == expected
        assert rebuilt[window_id] == expected
        assert journal.fills(window_id) == journaled
    totals = journal.totals()
    assert totals.fill_count == len(first_seen)
    assert totals.fees_micros == sum(f.fee_micros for f in first_seen.values())


# ---- orders --------------------------------------------------------------------------------


def test_orders_rest_until_updated_and_recovery_cancels_the_rest(journal: Journal) -> None:
    journal.record_window_opened(window())
    journal.record_window_opened(window(OTHER_WINDOW))
    assert journal.record_order(order("o-1"))
    assert not journal.record_order(msgspec.structs.replace(order("o-1"), price_micros=1))
    journal.record_order(order("o-2", status="pending"))
    journal.record_order(order("o-3", window_id=OTHER_WINDOW))
    journal.update_order("o-1", "filled", 10)
    assert [o.order_id for o in journal.resting_orders()] == ["o-2", "o-3"]
    assert [o.order_id for o in journal.resting_orders(OTHER_WINDOW)] == ["o-3"]

    cancelled = journal.cancel_resting_orders("restart: resting before the crash", 20)
    assert [(o.order_id, o.status) for o in cancelled] == [
        ("o-2", "cancelled"),
        ("o-3", "cancelled"),
    ]
    assert journal.resting_orders() == []
    assert journal.order("o-2") == msgspec.structs.replace(
        order("o-2", status="pending"),
        status="cancelled",
        updated_ns=20,
        reason="restart: resting before the crash",
    )
    assert journal.order("o-1").price_micros == 440_000  # type: ignore[union-attr]
    assert [o.order_id for o in journal.orders(WINDOW)] == ["o-1", "o-2"]


def test_order_of_unknown_window_or_update_of_unknown_order_is_refused(journal: Journal) -> None:
    with pytest.raises(StoreError, match="names window 'btc-updown-15m-1764000000', never"):
        journal.record_order(order("o-1"))
    with pytest.raises(StoreError, match="order 'o-9': never journaled"):
        journal.update_order("o-9", "cancelled", 1)
    journal.record_window_opened(window())
    journal.record_order(order("o-1"))
    with pytest.raises(StoreError, match="status 'gone' unknown"):
        journal.update_order("o-1", "gone", 1)  # type: ignore[arg-type]


# ---- halt flag and portfolio caps ------------------------------------------------------------


def test_halt_flag_survives_a_new_client(reopen: Opener) -> None:
    first = reopen()
    assert first.get_halt() == HaltState()
    first.set_halt(True, "manual", "engine-a", 42)
    first.close()
    expected = HaltState(halted=True, reason="manual", set_by="engine-a", at_ns=42)
    assert reopen().get_halt() == expected


def test_reservations_never_exceed_the_cap(journal: Journal) -> None:
    cap = 100 * 10**12
    assert journal.reserve_capital(WINDOW, 60 * 10**12, cap)
    assert not journal.reserve_capital(OTHER_WINDOW, 41 * 10**12, cap)
    assert journal.reserve_capital(OTHER_WINDOW, 40 * 10**12, cap)
    assert not journal.reserve_capital(WINDOW, 1, cap)
    # Another ledger has its own cap.
    assert journal.reserve_capital(WINDOW, 7, 7, ledger="unhedged")
    assert journal.reserved_capital() == cap
    assert journal.release_capital(WINDOW, 10 * 10**12) == 10 * 10**12
    assert journal.reservations() == {OTHER_WINDOW: 40 * 10**12, WINDOW: 50 * 10**12}
    assert journal.release_capital(WINDOW) == 50 * 10**12
    assert journal.release_capital(WINDOW) == 0
    assert journal.reservations() == {OTHER_WINDOW: 40 * 10**12}
    assert journal.totals().reserved_pico == {"capital": 40 * 10**12, "unhedged": 7}


def test_negative_reservation_is_refused(journal: Journal) -> None:
    with pytest.raises(StoreError, match="amount -5 < 0"):
        journal.reserve_capital(WINDOW, -5, 100)


def test_concurrent_reservations_from_two_clients_never_exceed_the_cap(reopen: Opener) -> None:
    clients = [reopen(), reopen()]
    cap, chunk, attempts = 50_000, 1_000, 40
    granted = [0, 0]

    def reserve(index: int) -> None:
        for i in range(attempts):
            if clients[index].reserve_capital(f"engine-{index}-{i % 3}", chunk, cap):
                granted[index] += chunk

    threads = [threading.Thread(target=reserve, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(granted) == cap  # 80 attempts of 1_000 against 50_000: exactly full
    assert clients[0].reserved_capital() == cap


# ---- the whole journal ---------------------------------------------------------------------


def _populate(journal: Journal) -> None:
    journal.record_window_opened(window())
    journal.record_window_opened(window(OTHER_WINDOW, start_s=1_764_000_900))
    journal.record_order(order("o-1"))
    journal.record_fill(fill("t1"))
    journal.record_fill(fill("t2", window_id=OTHER_WINDOW, outcome="down", fee=12))
    journal.record_window_settled(WINDOW, "up", 3)
    journal.set_halt(True, "drill", "test", 9)
    journal.reserve_capital(OTHER_WINDOW, 5, 10)


def test_everything_survives_reopening(reopen: Opener) -> None:
    first = reopen()
    _populate(first)
    before = first.export()
    first.close()
    assert reopen().export() == before


def test_export_round_trips_through_json(journal: Journal) -> None:
    _populate(journal)
    dump = journal.export()
    assert msgspec.json.decode(msgspec.json.encode(dump), type=JournalExport) == dump
    assert dump.totals.windows_open == 1 and dump.totals.fill_count == 2
    assert len(dump.fills) == 2 and len(dump.orders) == 1


def test_clear_empties_the_journal_and_keeps_it_usable(reopen: Opener) -> None:
    journal = reopen()
    _populate(journal)
    journal.clear()
    assert journal.windows() == [] and journal.positions() == [] and journal.orders() == []
    assert journal.get_halt() == HaltState() and journal.ledgers() == []
    assert journal.totals().fill_count == 0
    assert reopen().schema_version() >= 1
    journal.record_window_opened(window())
    assert journal.record_fill(fill("t1"))


def test_fills_acknowledged_before_kill_9_are_all_journaled(location: str, tmp_path: Path) -> None:
    """A writer killed at a random moment loses no fill it had returned from, counts none twice."""
    script = textwrap.dedent(
        f"""
        import sys
        from gabagool.store import open_journal, WindowRecord, FillRecord
        journal = open_journal({location!r})
        journal.record_window_opened(WindowRecord(window_id={WINDOW!r}, asset="btc",
            up_token="u", down_token="d", start_s=0, end_s=900, opened_ns=0))
        i = int(sys.argv[1])
        while True:
            fill = FillRecord(trade_id=f"t{{i}}", order_id="o", window_id={WINDOW!r},
                outcome="up" if i % 2 else "down", side="buy", price_micros=400_000 + i,
                size_micros=1_000_000, fee_micros=i % 7, liquidity="taker", ts_ns=i)
            journal.record_fill(fill)
            print(i, flush=True)
            i += 1
        """
    )
    acknowledged: set[int] = set()
    start = 0
    for kill_after in (3, 17, 40):
        child = subprocess.Popen(
            [sys.executable, "-c", script, str(start)], stdout=subprocess.PIPE, text=True
        )
        assert child.stdout is not None
        for _ in range(kill_after):
            acknowledged.add(int(child.stdout.readline()))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()
        # Restart at the last acknowledged fill: replayed, it and the one after it (which the
        # dead writer may have journaled unacknowledged) must count once.
        start = max(acknowledged)
    journal = open_journal(location)
    try:
        journaled = {int(f.trade_id[1:]) for f in journal.fills(WINDOW)}
        assert acknowledged <= journaled
        assert journal.position_snapshot(WINDOW) == fold_fills(WINDOW, journal.fills(WINDOW))
        assert journal.position_snapshot(WINDOW).fill_count == len(journaled)
    finally:
        journal.close()


# ---- on Trio -------------------------------------------------------------------------------


async def test_store_calls_do_not_block_the_trio_loop(location: str) -> None:
    store = await open_store(location)
    gate = threading.Event()
    journal = store.journal
    real_get_halt = journal.get_halt

    def get_halt_waiting_for_trio() -> HaltState:
        # Returns only if a Trio task runs while this call is in flight.
        assert gate.wait(timeout=10), "the Trio loop was blocked during a store call"
        return real_get_halt()

    journal.get_halt = get_halt_waiting_for_trio  # type: ignore[method-assign]
    async with store, trio.open_nursery() as nursery:
        nursery.start_soon(store.get_halt)
        await trio.sleep(0.01)
        gate.set()


async def test_fill_write_in_flight_finishes_despite_cancellation(location: str) -> None:
    async with await open_store(location) as store:
        await store.record_window_opened(window())
        started, release = threading.Event(), threading.Event()
        journal = store.journal
        real_record_fill = journal.record_fill

        def slow_record_fill(f: FillRecord) -> bool:
            started.set()
            assert release.wait(timeout=10)
            return real_record_fill(f)

        journal.record_fill = slow_record_fill  # type: ignore[method-assign, assignment]
        returned: list[bool] = []
        scope = trio.CancelScope()

        async def write() -> None:
            with scope:
                returned.append(await store.record_fill(fill("t1")))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(write)
            await trio.to_thread.run_sync(started.wait)
            scope.cancel()
            await trio.sleep(0.05)
            assert returned == []  # still waiting for the write, not abandoned
            release.set()
        assert returned == [True]
        assert [f.trade_id for f in await store.fills(WINDOW)] == ["t1"]


async def test_store_protocol_round_trip(location: str) -> None:
    async with await open_store(location) as store:
        assert await store.schema_version() >= 1
        assert await store.record_window_opened(window())
        assert await store.record_order(order("o-1"))
        assert await store.record_fill(fill("t1", fee=3))
        assert not await store.record_fill(fill("t1", fee=3))
        assert (await store.position_snapshot(WINDOW)).fees_micros == 3
        assert [w.window_id for w in await store.open_windows()] == [WINDOW]
        assert await store.reserve_capital(WINDOW, 10, 10)
        assert await store.release_capital(WINDOW) == 10
        assert [o.order_id for o in await store.cancel_resting_orders("restart", 5)] == ["o-1"]
        settled = await store.record_window_settled(WINDOW, "up", 6)
        assert settled.payout_pico == 10 * 10**12
        assert (await store.totals()).windows_settled == 1
        assert (await store.rebuild_positions())[WINDOW].fill_count == 1


async def test_halt_set_by_another_client_is_seen_within_a_second(location: str) -> None:
    async with await open_store(location) as watcher, await open_store(location) as other:
        seen: list[HaltState] = []
        with trio.fail_after(5):
            async with aclosing(watch_halt(watcher, interval_s=0.05)) as states:
                async for state in states:
                    seen.append(state)
                    if len(seen) == 1:
                        halted_at = time.monotonic()
                        await other.set_halt(True, "drill", "engine-b", 1)
                    else:
                        break
        assert time.monotonic() - halted_at < 1.0
        halted = HaltState(halted=True, reason="drill", set_by="engine-b", at_ns=1)
        assert seen == [HaltState(), halted]


# ---- two engine processes on one store ---------------------------------------------------------


def _run_python(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdout=subprocess.PIPE,
        text=True,
    )


def test_two_processes_share_the_halt_flag_within_a_second(location: str) -> None:
    watcher = _run_python(
        f"""
        import time
        from gabagool.store import open_journal
        journal = open_journal({location!r})
        print("ready", flush=True)
        while not journal.get_halt().halted:
            time.sleep(0.05)
        print(time.time(), flush=True)
        """
    )
    assert watcher.stdout is not None
    assert watcher.stdout.readline().strip() == "ready"
    setter = open_journal(location)
    try:
        halted_at = time.time()
        setter.set_halt(True, "from the other engine", "engine-a", 1)
        seen_at = float(watcher.stdout.readline())
        assert watcher.wait(timeout=10) == 0
    finally:
        setter.close()
        watcher.stdout.close()
    assert seen_at - halted_at < 1.0


def test_two_processes_reserving_capital_never_exceed_the_cap(location: str) -> None:
    cap, chunk, attempts = 150_000, 1_000, 200
    code = f"""
        import sys
        from gabagool.store import open_journal
        journal = open_journal({location!r})
        name = sys.argv[1]
        print("ready", flush=True)
        sys.stdin.readline()  # both start together, so their transactions collide
        granted = sum(
            journal.reserve_capital(f"{{name}}-{{i % 4}}", {chunk}, {cap})
            for i in range({attempts})
        )
        print(granted * {chunk}, flush=True)
        """
    engines = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(code), name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for name in ("engine-a", "engine-b")
    ]
    for engine in engines:
        assert engine.stdout is not None and engine.stdout.readline().strip() == "ready"
    granted = []
    for engine in engines:
        assert engine.stdin is not None
        engine.stdin.write("go\n")
        engine.stdin.flush()
    for engine in engines:
        out, _ = engine.communicate(timeout=60)
        assert engine.returncode == 0
        granted.append(int(out))
    journal = open_journal(location)
    try:
        assert sum(granted) == cap == journal.reserved_capital()
    finally:
        journal.close()


# ---- backend specifics -----------------------------------------------------------------------


def test_sqlite_journal_is_wal_with_full_fsync(tmp_path: Path) -> None:
    journal = SqliteJournal(tmp_path / "j.sqlite3")
    try:
        db = journal._db
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    finally:
        journal.close()


def test_sqlite_journal_from_a_newer_gabagool_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    SqliteJournal(path).close()
    import sqlite3

    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    newest = sqlite_backend.SCHEMA_VERSION
    with pytest.raises(SchemaError, match=f"version 99, newer than this gabagool's {newest}"):
        SqliteJournal(path)


def test_sqlite_pending_migrations_apply_in_order_and_keep_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "j.sqlite3"
    journal = SqliteJournal(path)
    journal.record_window_opened(window())
    journal.close()
    monkeypatch.setattr(
        sqlite_backend,
        "MIGRATIONS",
        (*sqlite_backend.MIGRATIONS, "ALTER TABLE windows ADD COLUMN note TEXT; "
         "UPDATE windows SET note = 'migrated'"),
    )
    journal = SqliteJournal(path)
    try:
        assert journal.schema_version() == sqlite_backend.SCHEMA_VERSION + 1
        assert journal._db.execute("SELECT note FROM windows").fetchall() == [("migrated",)]
        assert journal.window(WINDOW) == window()
    finally:
        journal.close()


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    path.write_bytes(b"not a database, just text" * 100)
    with pytest.raises(StoreError, match="not a usable SQLite file"):
        SqliteJournal(path)


def test_redis_layout_from_a_newer_gabagool_is_refused(redis_server: str) -> None:
    import redis

    with redis.Redis.from_url(redis_server) as client:
        client.flushdb()
        client.set("gabagool:schema", 7)
    known = redis_backend.SCHEMA_VERSION
    with pytest.raises(SchemaError, match=f"layout version 7, this gabagool knows {known}"):
        RedisJournal(redis_server)


def test_redis_keys_without_a_schema_are_not_adopted(redis_server: str) -> None:
    import redis

    with redis.Redis.from_url(redis_server) as client:
        client.flushdb()
        client.set("gabagool:something", "x")
        with pytest.raises(SchemaError, match="1 gabagool:\\* keys but no gabagool:schema"):
            RedisJournal(redis_server)
        assert client.get("gabagool:schema") is None


def test_redis_keys_are_under_the_gabagool_prefix(redis_server: str) -> None:
    import redis

    with redis.Redis.from_url(redis_server) as client:
        client.flushdb()
        journal = RedisJournal(redis_server)
        try:
            _populate(journal)
        finally:
            journal.close()
        keys = {k.decode() for k in client.keys("*")}
    assert keys and all(k.startswith("gabagool:") for k in keys)


def test_redis_password_is_honoured_and_never_shown(
    redis_launcher: Callable[..., str],
) -> None:
    url = redis_launcher(password="s3cret-pw")
    journal = open_journal(url)
    try:
        journal.set_halt(True, "pw", "test", 1)
        assert journal.get_halt().halted
    finally:
        journal.close()
    without = url.replace(":s3cret-pw@", "")
    with pytest.raises(StoreUnavailable, match="refused the credentials") as refused:
        open_journal(without)
    wrong = url.replace("s3cret-pw", "wrong-pw")
    with pytest.raises(StoreUnavailable, match="refused the credentials") as wrong_refused:
        open_journal(wrong)
    assert "wrong-pw" not in str(wrong_refused.value)
    assert "s3cret" not in str(refused.value)


def test_redis_that_is_down_is_reported_unreachable() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connection refused
        with pytest.raises(StoreUnavailable, match=f"redis at redis://127.0.0.1:{port}/0 unr"):
            open_journal(f"redis://127.0.0.1:{port}/0")


def test_rediss_url_talks_tls_and_verifies_the_server(
    redis_launcher: Callable[..., str], tmp_path: Path
) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed: no certificate to run a TLS redis-server with")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    url = redis_launcher(password="tls-pw", tls=(cert, key))
    journal = open_journal(f"{url}?ssl_cert_reqs=required&ssl_ca_certs={cert}")
    try:
        journal.set_halt(True, "over TLS", "test", 1)
        assert journal.get_halt().reason == "over TLS"
    finally:
        journal.close()
    with pytest.raises(StoreUnavailable, match="certificate verify failed"):
        open_journal(f"{url}?ssl_cert_reqs=required")  # the self-signed cert is not trusted
    with pytest.raises(StoreUnavailable, match="unreachable"):
        open_journal(url.replace("rediss://", "redis://"))  # plain text to a TLS port


def test_rediss_url_selects_tls_with_its_options() -> None:
    import redis

    url = "rediss://:pw@redis.example:6380/2?ssl_cert_reqs=required&ssl_ca_certs=/etc/ca.pem"
    client = redis.Redis.from_url(url)
    kwargs = client.connection_pool.connection_kwargs
    assert client.connection_pool.connection_class is redis.SSLConnection
    assert (kwargs["password"], kwargs["ssl_ca_certs"], kwargs["db"]) == ("pw", "/etc/ca.pem", 2)
    assert redact_url(url) == (
        "rediss://:***@redis.example:6380/2?ssl_cert_reqs=required&ssl_ca_certs=/etc/ca.pem"
    )


# ---- opening by location -------------------------------------------------------------------------


def test_location_forms_open_the_right_backend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GABAGOOL_STORE", raising=False)
    for journal, path in (
        (open_journal(data_dir=tmp_path / "a"), tmp_path / "a" / JOURNAL_FILENAME),
        (open_journal(f"sqlite://{tmp_path}/b.db"), tmp_path / "b.db"),
        (open_journal(str(tmp_path / "c.db")), tmp_path / "c.db"),
    ):
        assert isinstance(journal, SqliteJournal) and journal.path == path
        journal.close()
    monkeypatch.setenv("GABAGOOL_STORE", str(tmp_path / "d.db"))
    journal = open_journal(data_dir=tmp_path / "ignored")
    assert isinstance(journal, SqliteJournal) and journal.path == tmp_path / "d.db"
    journal.close()
    with pytest.raises(StoreError, match="scheme 'postgres' is not redis, rediss, unix or sqlite"):
        open_journal("postgres://db/x")
    with pytest.raises(JournalNotFound, match="no journal at"):
        open_journal(str(tmp_path / "missing.db"), create=False)
    assert not (tmp_path / "missing.db").exists()


# ---- gabagool state --------------------------------------------------------------------------


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli_main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_state_show_reports_windows_positions_halt_and_totals(
    location: str, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = open_journal(location)
    _populate(journal)
    journal.close()
    code, out, _ = _cli(capsys, "state", "show", "--store", location, "--json")
    assert code == 0
    data = msgspec.json.decode(out)
    assert data["halt"]["halted"] and data["halt"]["reason"] == "drill"
    assert data["totals"]["fill_count"] == 2 and data["totals"]["windows_open"] == 1
    assert [w["window_id"] for w in data["windows"]] == [WINDOW, OTHER_WINDOW]
    assert data["windows"][0]["position"]["qty_up_micros"] == 10_000_000
    assert data["windows"][0]["pnl_pico"] == 10 * 10**12 - 450_000 * 10_000_000

    code, out, _ = _cli(capsys, "state", "show", "--store", location)
    assert code == 0
    assert "HALTED by test: drill" in out
    assert "1 open, 1 settled; fills 2; fees $0.000012" in out
    assert "$5.50" in out  # the settled window's PnL: 10 shares won for $4.50


def test_state_export_writes_the_whole_journal(
    location: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = open_journal(location)
    _populate(journal)
    expected = journal.export()
    journal.close()
    out_file = tmp_path / "export.json"
    assert _cli(capsys, "state", "export", "--store", location, "--out", str(out_file))[0] == 0
    assert msgspec.json.decode(out_file.read_bytes(), type=JournalExport) == expected
    code, out, _ = _cli(capsys, "state", "export", "--store", location, "--json")
    assert code == 0 and msgspec.json.decode(out, type=JournalExport) == expected


def test_state_clear_asks_first_unless_yes(
    location: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = open_journal(location)
    _populate(journal)
    journal.close()
    # No terminal to ask on: refused with the way out named.
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    code, _, err = _cli(capsys, "state", "clear", "--store", location)
    assert code == 2 and "without confirmation: pass --yes" in err
    # Asked, and the answer is no.
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    code, out, _ = _cli(capsys, "state", "clear", "--store", location)
    assert code == 1 and "not cleared" in out
    journal = open_journal(location)
    assert journal.totals().fill_count == 2
    journal.close()
    code, out, _ = _cli(capsys, "state", "clear", "--store", location, "--yes", "--json")
    assert code == 0 and msgspec.json.decode(out)["cleared"] is True
    journal = open_journal(location)
    assert journal.windows() == [] and not journal.get_halt().halted
    journal.close()


def test_state_on_a_data_dir_without_a_journal_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GABAGOOL_STORE", raising=False)
    code, _, err = _cli(capsys, "state", "show", "--data-dir", str(tmp_path))
    assert code == 1
    assert err.strip() == (
        f"gabagool state: no journal at {tmp_path / JOURNAL_FILENAME} "
        "(nothing has been journaled there yet)"
    )
    assert not (tmp_path / JOURNAL_FILENAME).exists()


def test_state_with_a_bad_store_url_fails_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _cli(capsys, "state", "show", "--store", "ftp://x/y")
    assert code == 1 and err.count("\n") == 1 and "scheme 'ftp'" in err


def test_threaded_store_wraps_every_journal_operation() -> None:
    from gabagool.store.base import Store

    journal_ops = {n for n in dir(Store) if not n.startswith("_")} - {"aclose", "backend"}
    assert journal_ops <= set(dir(ThreadedStore))
    assert journal_ops <= set(dir(SqliteJournal)) & set(dir(RedisJournal))


def test_state_show_prints_the_unhedged_ledger_in_shares_not_dollars(
    location: str, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = open_journal(location)
    journal.reserve_capital("engine-btc", 40 * 10**12, 10**15)  # $40
    journal.reserve_capital("engine-btc", 100_000_000, 10**9, ledger="unhedged")  # 100 shares
    journal.close()
    code, out, _ = _cli(capsys, "state", "show", "--store", location)
    assert code == 0
    assert "reserved  capital: $40.00" in out
    assert "reserved  unhedged: 100 shares" in out
    assert "$0.0001" not in out
    code, out, _ = _cli(capsys, "state", "show", "--store", location, "--json")
    data = msgspec.json.decode(out)
    assert data["ledger_units"] == {"capital": "pico-dollars", "unhedged": "micro-shares"}
    assert data["totals"]["reserved_pico"]["unhedged"] == 100_000_000
