"""The journal's order lifecycle records, on SQLite and on a real redis-server: the venue's id
of an order, a reversed fill, a window's opening reference price and its resolution check;
and journals written by the previous schema, which still open."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from gabagool.cli import main as cli_main
from gabagool.store import (
    FillRecord,
    Journal,
    ResolutionRecord,
    StoreError,
    fold_fills,
    open_journal,
)
from gabagool.store import redis as redis_backend
from gabagool.store import sqlite as sqlite_backend
from gabagool.store.sqlite import JOURNAL_FILENAME, SqliteJournal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_store import OTHER_WINDOW, WINDOW, fill, fill_strategy, order, window

OPEN_ATTO = 97_012_345_678_900_000_000_000  # $97,012.3456789
SETTLE_ATTO = 97_100 * 10**18


@pytest.fixture
def journal(location: str) -> Iterator[Journal]:
    opened = open_journal(location)
    yield opened
    opened.close()


def _reopened(location: str, journal: Journal) -> Journal:
    journal.close()
    return open_journal(location)


# ---- the venue's id -------------------------------------------------------------------------


def test_the_venue_id_is_attached_when_it_arrives_and_kept(location: str) -> None:
    journal = open_journal(location)
    journal.record_window_opened(window())
    journal.record_order(order("o-1", status="pending"))
    assert journal.order("o-1").venue_id == ""  # type: ignore[union-attr]
    updated = journal.update_order("o-1", "open", 5, venue_id="0xabc")
    assert updated.venue_id == "0xabc"
    # later updates that do not carry it keep it
    journal.update_order("o-1", "cancelled", 6, "requested")
    journal = _reopened(location, journal)
    try:
        kept = journal.order("o-1")
        assert kept is not None and kept.venue_id == "0xabc" and kept.status == "cancelled"
        assert journal.orders(WINDOW)[0].venue_id == "0xabc"
        with pytest.raises(StoreError, match="has venue id '0xabc', not '0xdef'"):
            journal.update_order("o-1", "open", 7, venue_id="0xdef")
        assert journal.order("o-1") == kept  # the refused update changed nothing
    finally:
        journal.close()


def test_state_show_names_each_resting_order_by_both_ids(
    location: str, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = open_journal(location)
    journal.record_window_opened(window())
    journal.record_order(order("o-1", status="pending"))
    journal.record_order(order("o-2", status="pending"))
    journal.update_order("o-2", "open", 5, venue_id="0xv2")
    journal.close()
    assert cli_main(["state", "show", "--store", location]) == 0
    out = capsys.readouterr().out
    assert "resting   2 order(s)" in out
    assert "o-1 (no venue id yet) buy up 10 @ 0.44 pending" in out
    assert "o-2 (0xv2) buy up 10 @ 0.44 open" in out
    assert cli_main(["state", "show", "--store", location, "--json"]) == 0
    data = msgspec.json.decode(capsys.readouterr().out)
    assert [o["venue_id"] for o in data["resting_orders"]] == ["", "0xv2"]


# ---- a reversed fill ------------------------------------------------------------------------


def test_a_reversed_fill_leaves_the_position_once_and_for_good(
    location: str, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = open_journal(location)
    journal.record_window_opened(window())
    journal.record_fill(fill("t1", size=4_000_000))
    journal.record_fill(fill("t2", size=3_000_000, fee=7))
    key = ("t1", "o-1")
    assert journal.record_fill_reversal(WINDOW, key, 50, "FAILED") is True
    assert journal.record_fill_reversal(WINDOW, key, 51, "FAILED again") is False  # once
    assert journal.record_fill(fill("t1", size=4_000_000)) is False  # delivered again: no
    assert journal.record_fill_reversal(WINDOW, ("nope", "o-1"), 52) is False
    journal = _reopened(location, journal)
    try:
        position = journal.position_snapshot(WINDOW)
        assert position.qty_up_micros == 3_000_000 and position.fill_count == 1
        assert position.cost_up_pico == 450_000 * 3_000_000 + 7 * 10**6
        assert position.fees_micros == 7
        assert journal.rebuild_positions()[WINDOW] == position
        fills = journal.fills(WINDOW)
        assert [(f.trade_id, f.reversed_ns, f.reversal) for f in fills] == [
            ("t1", 50, "FAILED"),
            ("t2", None, ""),
        ]
        assert fold_fills(WINDOW, fills) == position
        assert journal.totals().fill_count == 1
        # settlement pays only what stands
        settled = journal.record_window_settled(WINDOW, "up", 99)
        assert settled.payout_pico == 3_000_000 * 10**6
    finally:
        journal.close()
    assert cli_main(["state", "show", "--store", location]) == 0
    assert "fills 1 (and 1 reversed)" in capsys.readouterr().out


def test_reversing_the_last_fill_leaves_an_empty_position(journal: Journal) -> None:
    journal.record_window_opened(window())
    journal.record_fill(fill("t1"))
    assert journal.record_fill_reversal(WINDOW, ("t1", "o-1"), 5)
    position = journal.position_snapshot(WINDOW)
    assert (position.qty_up_micros, position.cost_up_pico, position.fill_count) == (0, 0, 0)


reversal_strategy = st.tuples(
    st.sampled_from([WINDOW, OTHER_WINDOW]),
    st.sampled_from([f"t{i}" for i in range(12)]),
    st.sampled_from(["o-1", "o-2"]),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(st.one_of(fill_strategy, reversal_strategy), max_size=30))
def test_positions_are_the_fills_that_stand_whatever_the_order_of_fills_and_reversals(
    journal: Journal, steps: list[FillRecord | tuple[str, str, str]]
) -> None:
    journal.clear()
    journal.record_window_opened(window())
    journal.record_window_opened(window(OTHER_WINDOW))
    first_seen: dict[tuple[str, str], FillRecord] = {}
    undone: set[tuple[str, str]] = set()
    for n, step in enumerate(steps):
        if isinstance(step, tuple):
            window_id, trade_id, order_id = step
            key = (trade_id, order_id)
            known = key in first_seen and first_seen[key].window_id == window_id
            expected = known and key not in undone
            assert journal.record_fill_reversal(window_id, key, n + 1) == expected
            if expected:
                undone.add(key)
        else:
            assert journal.record_fill(step) == (step.key not in first_seen)
            first_seen.setdefault(step.key, step)
    for window_id in (WINDOW, OTHER_WINDOW):
        mine = {key: f for key, f in first_seen.items() if f.window_id == window_id}
        standing = [f for key, f in mine.items() if key not in undone]
        expected_position = fold_fills(window_id, standing)
        assert journal.position_snapshot(window_id) == expected_position
        assert journal.rebuild_positions()[window_id] == expected_position
        assert [f.key for f in journal.fills(window_id) if not f.stands] == [
            key for key in mine if key in undone
        ]
    assert journal.totals().fill_count == len(first_seen) - len(undone)


# ---- the window's open and its resolution check -------------------------------------------------


def test_the_open_and_the_resolution_check_are_journaled_once_and_shown(
    location: str, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = open_journal(location)
    journal.record_window_opened(window())
    assert journal.record_window_open(WINDOW, OPEN_ATTO, "priceToBeat", 10) is True
    # a restarted engine derives the open again: the first one is kept
    assert journal.record_window_open(WINDOW, OPEN_ATTO + 1, "reference", 11) is False
    journal.record_window_settled(WINDOW, "up", 20)
    check = ResolutionRecord(
        checked_ns=21, ours="up", exchange="up", settlement_atto=SETTLE_ATTO, open_atto=OPEN_ATTO
    )
    assert journal.record_resolution(WINDOW, check) is True
    assert journal.record_resolution(WINDOW, msgspec.structs.replace(check, ours="down")) is False
    journal = _reopened(location, journal)
    try:
        kept = journal.window(WINDOW)
        assert kept is not None
        assert (kept.open_atto, kept.open_source, kept.open_ns) == (OPEN_ATTO, "priceToBeat", 10)
        assert kept.resolution == check and kept.resolution.agree is True
        assert kept.status == "settled" and kept.winner == "up"  # the check left those alone
    finally:
        journal.close()
    assert cli_main(["state", "show", "--store", location]) == 0
    out = capsys.readouterr().out
    assert "$97,012.35 (priceToBeat)" in out
    assert "agree (up)" in out
    assert cli_main(["state", "show", "--store", location, "--json"]) == 0
    (shown,) = msgspec.json.decode(capsys.readouterr().out)["windows"]
    assert shown["open_atto"] == OPEN_ATTO  # exact, not the cents people see
    assert shown["resolution"]["settlement_atto"] == SETTLE_ATTO


def test_a_late_price_to_beat_replaces_an_open_read_from_the_feed(location: str) -> None:
    journal = open_journal(location)
    journal.record_window_opened(window())
    assert journal.record_window_open(WINDOW, OPEN_ATTO + 1, "reference", 10) is True
    # Gamma's price to beat, learnt after the feed's first tick: the exchange settles on it
    assert journal.record_window_open(WINDOW, OPEN_ATTO, "priceToBeat", 12) is True
    # and nothing replaces the price to beat, neither the feed nor a restart's derivation
    assert journal.record_window_open(WINDOW, OPEN_ATTO + 2, "reference", 13) is False
    assert journal.record_window_open(WINDOW, OPEN_ATTO + 3, "priceToBeat", 14) is False
    journal = _reopened(location, journal)
    try:
        kept = journal.window(WINDOW)
        assert kept is not None
        assert (kept.open_atto, kept.open_source, kept.open_ns) == (OPEN_ATTO, "priceToBeat", 12)
    finally:
        journal.close()


def test_a_disagreeing_or_unchecked_resolution_is_shown_as_such(
    location: str, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = open_journal(location)
    journal.record_window_opened(window())
    journal.record_window_opened(window("btc-updown-15m-1764000900", start_s=1_764_000_900))
    journal.record_window_open(WINDOW, 5 * 10**15, "reference", 1)  # half a cent: rounds up
    journal.record_resolution(WINDOW, ResolutionRecord(checked_ns=2, ours="down", exchange="up"))
    journal.record_resolution(
        "btc-updown-15m-1764000900", ResolutionRecord(checked_ns=3, ours=None, exchange="up")
    )
    journal.close()
    assert cli_main(["state", "show", "--store", location]) == 0
    out = capsys.readouterr().out
    assert "$0.01 (reference)" in out
    assert "DISAGREE: ours down, exchange up" in out
    assert "unchecked: ours -, exchange up" in out


def test_an_open_of_a_window_never_opened_or_out_of_range_is_refused(journal: Journal) -> None:
    with pytest.raises(StoreError, match="never opened"):
        journal.record_window_open(WINDOW, OPEN_ATTO, "priceToBeat", 1)
    journal.record_window_opened(window())
    with pytest.raises(StoreError, match="not > 0"):
        journal.record_window_open(WINDOW, 0, "priceToBeat", 1)
    with pytest.raises(StoreError, match="not priceToBeat/reference"):
        journal.record_window_open(WINDOW, OPEN_ATTO, "gamma", 1)  # type: ignore[arg-type]
    assert journal.window(WINDOW).open_atto is None  # type: ignore[union-attr]


# ---- journals of the previous schema ------------------------------------------------------------


def _schema_1_file(path: Path) -> None:
    """A journal as gabagool wrote it at schema 1: an open window, an order, a fill."""
    with sqlite3.connect(path) as db:
        for statement in sqlite_backend.MIGRATIONS[0].split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute(
            "INSERT INTO windows VALUES (?, 'btc', 'u', 'd', 1764000000, 1764000900, 1, "
            "'0xbtc', 'open', NULL, NULL, NULL, NULL)",
            (WINDOW,),
        )
        db.execute(
            "INSERT INTO orders VALUES ('o-1', ?, 'up', 'buy', 440000, 10000000, 'GTC', 1, "
            "'open', 1, 2, 'venue id 0xold')",
            (WINDOW,),
        )
        db.execute(
            "INSERT INTO fills (trade_id, order_id, window_id, outcome, side, price_micros, "
            "size_micros, fee_micros, liquidity, ts_ns) VALUES "
            "('t1', 'o-1', ?, 'up', 'buy', 440000, 4000000, 0, 'maker', 3)",
            (WINDOW,),
        )
        db.execute(
            "INSERT INTO positions VALUES (?, 4000000, 0, ?, '0', 0, 1)",
            (WINDOW, str(440_000 * 4_000_000)),
        )
        db.execute("PRAGMA user_version = 1")


def test_a_schema_1_sqlite_journal_opens_migrated_with_its_records_intact(
    tmp_path: Path,
) -> None:
    path = tmp_path / JOURNAL_FILENAME
    _schema_1_file(path)
    journal = SqliteJournal(path)
    try:
        assert journal.schema_version() == sqlite_backend.SCHEMA_VERSION == 2
        old = journal.order("o-1")
        assert old is not None and old.venue_id == "" and old.reason == "venue id 0xold"
        (t1,) = journal.fills(WINDOW)
        assert t1.stands and t1.size_micros == 4_000_000
        opened = journal.window(WINDOW)
        assert opened is not None and opened.open_atto is None and opened.resolution is None
        # and the new records work on it
        journal.update_order("o-1", "open", 4, venue_id="0xold")
        journal.record_fill(fill("t2", size=1_000_000))
        assert journal.record_fill_reversal(WINDOW, ("t1", "o-1"), 5, "FAILED")
        assert journal.record_window_open(WINDOW, OPEN_ATTO, "reference", 6)
        assert journal.position_snapshot(WINDOW).qty_up_micros == 1_000_000
    finally:
        journal.close()
    reopened = SqliteJournal(path)  # migrated once: opening again changes nothing
    try:
        assert reopened.order("o-1").venue_id == "0xold"  # type: ignore[union-attr]
        assert reopened.window(WINDOW).open_source == "reference"  # type: ignore[union-attr]
    finally:
        reopened.close()


def test_a_layout_1_redis_journal_opens_upgraded_with_its_records_intact(
    redis_server: str,
) -> None:
    import redis

    old_order = {
        "order_id": "o-1",
        "window_id": WINDOW,
        "outcome": "up",
        "side": "buy",
        "price_micros": 440_000,
        "size_micros": 10_000_000,
        "order_type": "GTC",
        "post_only": True,
        "status": "open",
        "created_ns": 1,
        "updated_ns": 2,
        "reason": "",
    }
    with redis.Redis.from_url(redis_server) as client:
        client.flushdb()
        client.set("gabagool:schema", 1)  # the records as layout 1 wrote them
        client.set(f"gabagool:window:{WINDOW}", msgspec.json.encode(window()))
        client.sadd("gabagool:windows_all", WINDOW)
        client.sadd("gabagool:windows_open", WINDOW)
        client.set("gabagool:order:o-1", msgspec.json.encode(old_order))
        client.sadd("gabagool:orders_all", "o-1")
        client.sadd("gabagool:orders_resting", "o-1")
        client.sadd(f"gabagool:window_orders:{WINDOW}", "o-1")
        journal = open_journal(redis_server)
        try:
            assert int(client.get("gabagool:schema")) == redis_backend.SCHEMA_VERSION == 2
            assert journal.order("o-1").venue_id == ""  # type: ignore[union-attr]
            assert journal.update_order("o-1", "open", 3, venue_id="0xv").venue_id == "0xv"
            assert journal.window(WINDOW).open_atto is None  # type: ignore[union-attr]
        finally:
            journal.close()


def test_the_export_carries_venue_ids_reversals_opens_and_checks(location: str) -> None:
    journal = open_journal(location)
    try:
        journal.record_window_opened(window())
        journal.record_order(order("o-1", status="pending"))
        journal.update_order("o-1", "filled", 2, venue_id="0xv1")
        journal.record_fill(fill("t1"))
        journal.record_fill(fill("t2"))
        journal.record_fill_reversal(WINDOW, ("t2", "o-1"), 3, "FAILED")
        journal.record_window_open(WINDOW, OPEN_ATTO, "reference", 4)
        journal.record_resolution(
            WINDOW, ResolutionRecord(checked_ns=5, ours="up", exchange=None, open_atto=OPEN_ATTO)
        )
        dump = journal.export()
    finally:
        journal.close()
    assert msgspec.json.decode(msgspec.json.encode(dump), type=type(dump)) == dump
    assert dump.orders[0].venue_id == "0xv1"
    assert [f.reversal for f in dump.fills] == ["", "FAILED"]
    (shown,) = dump.windows
    assert shown.open_source == "reference" and shown.resolution is not None
    assert shown.resolution.agree is None  # the exchange said nothing
    assert dump.totals.fill_count == 1
