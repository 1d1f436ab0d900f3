"""One live engine per (journal, engine id), and no clear of a journal an engine is using."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import trio
from clirun import assert_one_line_failure, gabagool
from gabagool.store import open_journal
from gabagool.store.lock import (
    Holder,
    JournalBusy,
    acquire_engine_lock,
    exclusive_journal,
    hold_engine_lock,
    journal_holders,
)

REPO = Path(__file__).parents[1]


# ---- SQLite --------------------------------------------------------------------------------


def test_a_second_engine_with_the_same_id_is_refused_naming_the_first(tmp_path: Path) -> None:
    with acquire_engine_lock(None, data_dir=tmp_path, engine_id="engine-btc") as first:
        with pytest.raises(JournalBusy) as caught:
            acquire_engine_lock(None, data_dir=tmp_path, engine_id="engine-btc")
        message = str(caught.value)
        assert f"pid {os.getpid()}" in message
        assert "engine 'engine-btc'" in message
        assert "\n" not in message
        assert caught.value.holders[0].token == first.holder.token
        # another engine id on the same journal is fine: distinct windows, distinct holders
        with acquire_engine_lock(None, data_dir=tmp_path, engine_id="engine-eth"):
            names = {h.engine_id for h in journal_holders(None, data_dir=tmp_path)}
            assert names == {"engine-btc", "engine-eth"}
    # released: the id is free again
    acquire_engine_lock(None, data_dir=tmp_path, engine_id="engine-btc").release()
    assert journal_holders(None, data_dir=tmp_path) == []


def test_the_same_file_by_another_path_is_the_same_journal(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with acquire_engine_lock(str(tmp_path / "real" / "j.sqlite3"), data_dir=None, engine_id="e"):
        with pytest.raises(JournalBusy):
            acquire_engine_lock(
                f"sqlite://{tmp_path / 'link' / 'j.sqlite3'}", data_dir=None, engine_id="e"
            )


def test_a_clear_is_refused_while_an_engine_holds_the_journal_unless_forced(
    tmp_path: Path,
) -> None:
    with acquire_engine_lock(None, data_dir=tmp_path, engine_id="engine-btc"):
        with pytest.raises(JournalBusy, match="in use by engine 'engine-btc'"):
            with exclusive_journal(None, data_dir=tmp_path):
                pass
        with exclusive_journal(None, data_dir=tmp_path, force=True) as holders:
            assert [h.engine_id for h in holders] == ["engine-btc"]
    with exclusive_journal(None, data_dir=tmp_path) as holders:
        assert holders == []
        # no engine may start while a clear holds the journal
        with pytest.raises(JournalBusy, match="being cleared"):
            acquire_engine_lock(None, data_dir=tmp_path, engine_id="engine-btc")


HOLDER = textwrap.dedent(
    """
    import sys, time
    from gabagool.store.lock import acquire_engine_lock
    lock = acquire_engine_lock(sys.argv[1] or None, data_dir=sys.argv[2], engine_id=sys.argv[3])
    print("held", flush=True)
    time.sleep(600)
    """
)


@pytest.fixture
def holder_process(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the data dir's journal as `engine-btc-eth` (the default id)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, "", str(tmp_path), "engine-btc-eth"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "held"
    yield proc
    proc.kill()
    proc.wait()
    proc.stdout.close()


def test_a_lock_dies_with_its_process(
    tmp_path: Path, holder_process: subprocess.Popen[str]
) -> None:
    with pytest.raises(JournalBusy, match=f"pid {holder_process.pid}"):
        acquire_engine_lock(None, data_dir=tmp_path, engine_id="engine-btc-eth")
    holder_process.send_signal(signal.SIGKILL)
    holder_process.wait()
    acquire_engine_lock(None, data_dir=tmp_path, engine_id="engine-btc-eth").release()


def test_state_clear_refuses_a_journal_a_running_engine_holds(
    tmp_path: Path, holder_process: subprocess.Popen[str]
) -> None:
    journal = open_journal(data_dir=tmp_path)
    journal.set_halt(True, "kept", "test", 1)
    journal.close()
    result = gabagool("state", "clear", "--yes", "--data-dir", str(tmp_path), cwd=tmp_path)
    assert_one_line_failure(
        result, "in use by engine 'engine-btc-eth'", f"pid {holder_process.pid}", code=1
    )
    journal = open_journal(data_dir=tmp_path)
    assert journal.get_halt().reason == "kept"  # not cleared
    journal.close()
    shown = gabagool("state", "show", "--data-dir", str(tmp_path), cwd=tmp_path)
    assert f"engine    engine-btc-eth: pid {holder_process.pid} on " in shown.stdout
    forced = gabagool(
        "state", "clear", "--yes", "--force", "--data-dir", str(tmp_path), cwd=tmp_path
    )
    assert forced.returncode == 0, forced.stderr
    assert "warning: clearing under a running engine 'engine-btc-eth'" in forced.stderr
    journal = open_journal(data_dir=tmp_path)
    assert not journal.get_halt().halted
    journal.close()


async def test_hold_engine_lock_holds_for_the_block_on_trio(tmp_path: Path) -> None:
    async with hold_engine_lock(None, data_dir=tmp_path, engine_id="e1") as lock:
        assert not lock.lost
        with pytest.raises(JournalBusy):
            await trio.to_thread.run_sync(
                lambda: acquire_engine_lock(None, data_dir=tmp_path, engine_id="e1")
            )
    acquire_engine_lock(None, data_dir=tmp_path, engine_id="e1").release()


# ---- Redis ---------------------------------------------------------------------------------


@pytest.fixture
def lease_url(redis_server: str) -> Iterator[str]:
    """A database of the shared server for lease tests, emptied before and after."""
    url = redis_server.rsplit("/", 1)[0] + "/5"
    with redis.Redis.from_url(url) as client:
        client.flushdb()
    yield url
    with redis.Redis.from_url(url) as client:
        client.flushdb()


def test_redis_refuses_a_duplicate_live_engine_id_and_accepts_distinct_ones(
    lease_url: str,
) -> None:
    with acquire_engine_lock(lease_url, data_dir=None, engine_id="desk-1") as first:
        with pytest.raises(JournalBusy) as caught:
            acquire_engine_lock(lease_url, data_dir=None, engine_id="desk-1")
        assert "engine 'desk-1'" in str(caught.value)
        assert "distinct store.engine_id" in str(caught.value)
        assert caught.value.holders[0].token == first.holder.token
        with acquire_engine_lock(lease_url, data_dir=None, engine_id="desk-2"):
            ids = {h.engine_id for h in journal_holders(lease_url, data_dir=None)}
            assert ids == {"desk-1", "desk-2"}
    assert journal_holders(lease_url, data_dir=None) == []
    acquire_engine_lock(lease_url, data_dir=None, engine_id="desk-1").release()


def test_a_held_lease_is_renewed_past_its_ttl_and_expires_once_abandoned(lease_url: str) -> None:
    lock = acquire_engine_lock(lease_url, data_dir=None, engine_id="e", ttl_s=0.3)
    time.sleep(1.0)  # three TTLs: only the renewals keep it
    assert not lock.lost
    with pytest.raises(JournalBusy):
        acquire_engine_lock(lease_url, data_dir=None, engine_id="e", ttl_s=0.3)
    # a holder that stops renewing (a hung or partitioned engine) loses it to the TTL
    inner = lock._inner
    inner._stop.set()  # type: ignore[union-attr]
    inner._renewer.join()  # type: ignore[union-attr]
    time.sleep(0.5)
    acquire_engine_lock(lease_url, data_dir=None, engine_id="e", ttl_s=0.3).release()


def test_a_restart_on_the_same_host_takes_over_a_dead_engines_lease(lease_url: str) -> None:
    import msgspec

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    import socket

    stale = Holder(engine_id="e", pid=int(dead.stdout), host=socket.gethostname(), token="old")
    with redis.Redis.from_url(lease_url) as client:
        client.set("gabagool:lease:e", msgspec.json.encode(stale), px=60_000)
    acquire_engine_lock(lease_url, data_dir=None, engine_id="e").release()


def test_a_redis_clear_is_refused_while_a_lease_is_live_and_keeps_the_leases(
    lease_url: str, tmp_path: Path
) -> None:
    journal = open_journal(lease_url)
    journal.set_halt(True, "kept", "test", 1)
    with acquire_engine_lock(lease_url, data_dir=None, engine_id="desk-1"):
        result = gabagool("state", "clear", "--yes", "--store", lease_url, cwd=tmp_path)
        assert_one_line_failure(result, "in use by engine 'desk-1'", code=1)
        assert journal.get_halt().reason == "kept"
        forced = gabagool("state", "clear", "--yes", "--force", "--store", lease_url,
                          cwd=tmp_path)
        assert forced.returncode == 0, forced.stderr
        assert not journal.get_halt().halted
        # the live engine's lease survived the clear
        assert [h.engine_id for h in journal_holders(lease_url, data_dir=None)] == ["desk-1"]
    journal.close()


def test_two_engines_trading_one_asset_on_one_sqlite_journal_are_refused(tmp_path: Path) -> None:
    with acquire_engine_lock(None, data_dir=tmp_path, engine_id="a", assets=["btc", "eth"]):
        with pytest.raises(JournalBusy, match="engine 'a' .* it trades btc there already"):
            acquire_engine_lock(None, data_dir=tmp_path, engine_id="b", assets=["sol", "btc"])
        # the refused engine kept nothing: sol is free
        acquire_engine_lock(None, data_dir=tmp_path, engine_id="c", assets=["sol"]).release()


def test_redis_engines_may_share_assets_under_distinct_ids(lease_url: str) -> None:
    with acquire_engine_lock(lease_url, data_dir=None, engine_id="a", assets=["btc"]):
        acquire_engine_lock(lease_url, data_dir=None, engine_id="b", assets=["btc"]).release()


async def test_a_cancelled_engine_still_releases_its_lock(lease_url: str) -> None:
    with trio.CancelScope() as scope:
        async with hold_engine_lock(lease_url, data_dir=None, engine_id="cancelled"):
            scope.cancel()
            await trio.sleep(1)
    assert journal_holders(lease_url, data_dir=None) == []
