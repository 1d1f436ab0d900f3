"""The engine and the journal's lock, and a store that fails under a running engine (issue 9,
defects 4, 5, 11 and 13)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import trio
from clirun import assert_one_line_failure, gabagool
from gabagool.store import StoreUnavailable
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

START = 1_767_225_600


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
        second = gabagool(
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
            "--duration",
            "5",
            cwd=tmp_path,
        )
        assert_one_line_failure(second, "in use by", f"pid {process.pid}", code=1)
        # another engine id on the same asset is refused too: their positions would merge
        other = gabagool(
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
            "--duration",
            "5",
            cwd=tmp_path,
            env={"GABAGOOL_STORE_ENGINE_ID": "other"},
        )
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
