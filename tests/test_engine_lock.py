"""The engine and the journal's lock, and a store that fails under a running engine (issue 9,
defects 4, 5, 11 and 13)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import trio
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
