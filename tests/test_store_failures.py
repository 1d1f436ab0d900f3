"""The store when the disk or the server fails: one specific exception, a clear message, and
the journal left as it was before the failed write (never half a write)."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
import redis
from conftest import RedisLauncher
from gabagool.store import (
    FillRecord,
    StoreError,
    StoreUnavailable,
    StoreWriteError,
    WindowRecord,
    fold_fills,
    open_journal,
)
from gabagool.store.outage import Backoff, StoreOutage
from gabagool.store.redis import RedisJournal
from gabagool.store.sqlite import SqliteJournal

WINDOW = "btc-updown-15m-1764000000"


def window() -> WindowRecord:
    return WindowRecord(
        window_id=WINDOW,
        asset="btc",
        up_token="up",
        down_token="down",
        start_s=1_764_000_000,
        end_s=1_764_000_900,
        opened_ns=1,
        market_id="0xcond",
    )


def fill(n: int, *, order_id: str = "o-1") -> FillRecord:
    return FillRecord(
        trade_id=f"t-{n}-" + "x" * 200,  # wide rows fill pages quickly
        order_id=order_id,
        window_id=WINDOW,
        outcome="up" if n % 2 else "down",
        side="buy",
        price_micros=450_000,
        size_micros=10_000_000,
        fee_micros=0,
        liquidity="maker",
        ts_ns=n,
    )


# ---- SQLite: a full disk, an I/O error at commit -------------------------------------------


def test_a_full_disk_is_one_store_write_error_and_the_journal_stays_consistent(
    tmp_path: Path,
) -> None:
    journal = SqliteJournal(tmp_path / "j.sqlite3")
    journal.record_window_opened(window())
    pages = journal._db.execute("PRAGMA page_count").fetchone()[0]
    # the file may not grow past a few more pages: a tiny full disk
    journal._db.execute(f"PRAGMA max_page_count = {pages + 3}")
    recorded = 0
    with pytest.raises(StoreWriteError) as caught:
        for n in range(10_000):
            journal.record_fill(fill(n))
            recorded += 1
    message = str(caught.value)
    assert "\n" not in message
    assert "j.sqlite3: write failed and was rolled back" in message
    assert "full" in message
    assert 0 < recorded < 10_000
    # every fill before the failure is there, the failed one is not, the position agrees
    fills = journal.fills(WINDOW)
    assert [f.ts_ns for f in fills] == list(range(recorded))
    assert journal.position_snapshot(WINDOW) == fold_fills(WINDOW, fills)
    # room again: the journal takes writes as before
    journal._db.execute("PRAGMA max_page_count = 1073741823")
    assert journal.record_fill(fill(recorded))
    journal.close()
    reopened = SqliteJournal(tmp_path / "j.sqlite3")
    assert reopened.position_snapshot(WINDOW).fill_count == recorded + 1
    reopened.close()


class _FailingCommit:
    """A connection whose COMMIT fails like a disk that died under it."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def execute(self, sql: str, *args: Any) -> Any:
        if sql == "COMMIT":
            raise sqlite3.OperationalError("disk I/O error")
        return self._db.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


def test_an_io_error_at_commit_rolls_the_whole_write_back(tmp_path: Path) -> None:
    journal = SqliteJournal(tmp_path / "j.sqlite3")
    journal.record_window_opened(window())
    journal.record_fill(fill(1))
    real = journal._db
    journal._db = _FailingCommit(real)  # type: ignore[assignment]
    with pytest.raises(StoreWriteError, match="disk I/O error"):
        journal.record_fill(fill(2))
    journal._db = real
    assert not real.in_transaction
    assert [f.ts_ns for f in journal.fills(WINDOW)] == [1]
    assert journal.position_snapshot(WINDOW).fill_count == 1
    journal.close()


def test_a_read_only_journal_refuses_writes_with_a_store_write_error(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    SqliteJournal(path).close()
    journal = SqliteJournal(path)
    journal._db.execute("PRAGMA query_only = ON")  # what a file turned read-only answers
    with pytest.raises(StoreWriteError, match="write failed"):
        journal.record_window_opened(window())
    assert journal.windows() == []
    journal.close()


def test_a_data_dir_that_is_a_file_is_a_store_error(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(StoreError, match="is a file, not a directory"):
        open_journal(data_dir=afile)
    with pytest.raises(StoreError, match="is a directory, not a file"):
        open_journal(str(tmp_path))


# ---- Redis: a server out of memory, a server that died -------------------------------------


@pytest.fixture
def own_redis(redis_launcher: RedisLauncher) -> str:
    """A redis-server of this test's own (it will be starved or killed)."""
    return redis_launcher()


def test_a_redis_out_of_memory_is_a_store_write_error_and_applies_nothing(own_redis: str) -> None:
    journal = RedisJournal(own_redis, prefix="oom")
    journal.record_window_opened(window())
    journal.record_fill(fill(1))
    client = redis.Redis.from_url(own_redis)
    client.config_set("maxmemory-policy", "noeviction")
    client.config_set("maxmemory", 1)  # below what is in use: every write is refused
    try:
        with pytest.raises(StoreWriteError, match="refused a write, nothing of it was kept"):
            journal.record_fill(fill(2))
    finally:
        client.config_set("maxmemory", 0)
        client.close()
    assert [f.ts_ns for f in journal.fills(WINDOW)] == [1]
    assert journal.position_snapshot(WINDOW).fill_count == 1
    journal.close()


def _pid_of(url: str) -> int:
    with redis.Redis.from_url(url) as client:
        return int(client.info("server")["process_id"])


def test_a_redis_that_dies_mid_run_is_store_unavailable_on_every_call(
    own_redis: str,
) -> None:
    journal = RedisJournal(own_redis, prefix="dies")
    journal.record_window_opened(window())
    subprocess.run(["kill", "-9", str(_pid_of(own_redis))], check=True)
    for call in (journal.get_halt, journal.windows, lambda: journal.record_fill(fill(1))):
        with pytest.raises(StoreUnavailable, match="unreachable"):
            call()
    journal.close()


def test_a_store_outage_warns_once_and_backs_off(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("gabagool.test.outage")
    outage = StoreOutage(log, "halt flag", Backoff(first_s=0.2, max_s=1.0))
    with caplog.at_level(logging.WARNING, logger="gabagool.test.outage"):
        delays = [outage.failed(StoreUnavailable("redis at x unreachable")) for _ in range(50)]
        assert outage.down
        outage.recovered()
        outage.recovered()
        delays.append(outage.failed(StoreUnavailable("again")))
    assert delays[:5] == [0.2, 0.4, 0.8, 1.0, 1.0]
    assert max(delays) == 1.0
    assert delays[-1] == 0.2  # a new outage starts over
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 3, messages  # down, up again, down: never one per call
    assert "unreachable" in messages[0]
    assert "after 50 failed call(s)" in messages[1]
    assert outage.outages == 2
