"""The engine and the journal's lock, and a store that fails under a running engine (issue 9,
defects 4, 5, 11 and 13)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import trio
from clirun import assert_one_line_failure, gabagool
from gabagool.engine.summary import summarize
from gabagool.store import StoreUnavailable, open_journal
from gabagool.venues.sim_feed import SimMarketData
from test_engine_scenarios import START
from test_engine_store import direct_store, engine_on, run_until


async def test_an_unreachable_store_halts_once_and_the_watch_backs_off(
    tmp_path: Path, autojump_clock: trio.abc.Clock, caplog: pytest.LogCaptureFixture
) -> None:
    store = direct_store(tmp_path)
    engine, _, events = engine_on(store)
    get_halt = store.journal.get_halt
    calls = [0]

    def down() -> Any:
        calls[0] += 1
        raise StoreUnavailable("redis at redis://h:6379/0 unreachable: refused")

    async def outage() -> None:
        store.journal.get_halt = down  # type: ignore[method-assign]
        await trio.sleep(6)
        store.journal.get_halt = get_halt  # type: ignore[method-assign]
        await trio.sleep(10)

    with caplog.at_level(logging.WARNING, logger="gabagool"):
        await run_until(engine, 20, outage)
    # backoff: 0.2, 0.4, 0.8, 1.6, 3.2 s, not 30 polls at 0.2 s
    assert 3 <= calls[0] <= 6
    assert [t for t, _ in events.failures if t == "store_watch"] == []  # no traceback
    texts = [r.getMessage() for r in caplog.records]
    assert len([t for t in texts if t.startswith("store unavailable (store watch)")]) == 1
    assert len([t for t in texts if t.startswith("store available again")]) == 1
    # fail closed: halted for good, and the run ends non-zero with the reason
    assert engine.portfolio.halted
    assert engine.failure.startswith("store unavailable: redis at redis://h:6379/0")


# ---- the journal's lock: one engine per id and asset, and no clear under it ----------------


def _engine_process(tmp_path: Path, *extra: str) -> subprocess.Popen[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GABAGOOL_")}
    environ["HOME"] = str(tmp_path)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gabagool",
            "run",
            "--speed",
            "5",
            "--no-view",
            "--assets",
            "btc",
            "--data-dir",
            str(tmp_path),
            "--start",
            str(START),
            *extra,
        ],
        cwd=tmp_path,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_trading(tmp_path: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    logs = tmp_path / "logs"
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        files = list(logs.glob("*.jsonl")) if logs.exists() else []
        if files and '"event":"window_opened"' in files[0].read_text():
            return
        time.sleep(0.1)
    raise AssertionError("the engine never opened a window")


def _another_run(data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """A short btc run on the journal in `data_dir`, beside the engine already there."""
    return gabagool(
        "run", "--speed", "5", "--no-view", "--assets", "btc", "--data-dir", str(data_dir),
        "--start", str(START), "--duration", "5", cwd=data_dir, env=env or None,
    )


def test_clear_and_a_second_engine_refuse_while_an_engine_holds_the_journal(
    tmp_path: Path,
) -> None:
    process = _engine_process(tmp_path)
    try:
        _wait_for_trading(tmp_path, process)
        journal = tmp_path / "journal.sqlite3"
        # defect 4: `state clear --yes` would wipe a journal the engine writes to
        cleared = gabagool("state", "clear", "--yes", "--data-dir", str(tmp_path), cwd=tmp_path)
        line = assert_one_line_failure(cleared, "in use by", "engine-btc", f"pid {process.pid}")
        assert "--force" in line
        # defect 13: a second engine with the same id and asset on the same journal
        second = _another_run(tmp_path)
        assert_one_line_failure(second, "in use by", f"pid {process.pid}", code=1)
        # another engine id on the same asset is refused too: their positions would merge
        other = _another_run(tmp_path, GABAGOOL_STORE_ENGINE_ID="other")
        assert_one_line_failure(other, "it trades btc there already", code=1)
        assert journal.exists()
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
    finally:
        process.kill()
        process.wait(10)
    # released with the engine: a clear now goes through
    cleared = gabagool("state", "clear", "--yes", "--data-dir", str(tmp_path), cwd=tmp_path)
    assert cleared.returncode == 0, cleared.stderr


# ---- defect 5: a full disk under a running engine --------------------------------------------


async def test_a_full_disk_halts_the_engine_once_and_fails_the_run(
    tmp_path: Path, autojump_clock: trio.abc.Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """The real StoreWriteError, from SQLite refusing to grow the file mid-run."""
    store = direct_store(tmp_path)
    engine, _, events = engine_on(store, SimMarketData(7, origin=START))
    db = store.journal._db  # type: ignore[attr-defined]

    async def fill_the_disk() -> None:
        while not events.fills:
            await trio.sleep(1)
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages}")
        await trio.sleep(300)

    with caplog.at_level(logging.WARNING, logger="gabagool"):
        await run_until(engine, 400, fill_the_disk)
    assert engine.failure.startswith("journal write failed: journal ")
    assert "write failed and was rolled back" in engine.failure
    halts = [detail for action, detail in events.risk if action == "halt"]
    assert halts == [engine.failure]  # said once
    # no traceback per failed write: the halt above is the one word on it
    assert not [r for r in caplog.records if r.exc_info and "journal" in r.getMessage()]
    assert summarize(engine.results(), failure=engine.failure).failure == engine.failure
    (window,) = engine.windows
    assert not [o for o in window.core.orders.active.values() if o.working]
    # what was written before stays consistent: every journaled fill belongs to an order
    journal = open_journal(str(tmp_path / "journal.sqlite3"))
    try:
        orders = {o.order_id for o in journal.orders()}
        assert {f.order_id for f in journal.all_fills()} <= orders
    finally:
        journal.close()


# ---- defect 11: Redis dies under a running engine ----------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_redis_dying_mid_run_is_one_warning_a_halt_and_a_non_zero_exit(tmp_path: Path) -> None:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    port = _free_port()
    redis = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while (
            subprocess.run(
                ["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True, check=False
            ).stdout.strip()
            != "PONG"
        ):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.1)
        process = _engine_process(tmp_path, "--store", f"redis://127.0.0.1:{port}/0")
        try:
            _wait_for_trading(tmp_path, process)
            redis.kill()
            redis.wait(10)
            time.sleep(8)  # many polls' worth at 0.2 s
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=60)
        finally:
            process.kill()
            process.wait(10)
    finally:
        redis.kill()
        redis.wait(10)
    assert process.returncode not in (0, None), err
    lines = [line for line in err.strip().splitlines() if line.startswith("gabagool run:")]
    assert len(lines) == 1 and "unreachable" in lines[0], err
    assert "Traceback" not in err, err
    entries = [
        json.loads(line)
        for path in (tmp_path / "logs").glob("*.jsonl")
        for line in path.read_text().splitlines()
    ]
    outages = [e for e in entries if e.get("event") == "store_unavailable"]
    assert len(outages) == 1, outages
    assert len([e for e in entries if e.get("event") == "task_failed"]) < 5
