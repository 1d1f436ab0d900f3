"""The durable journal: open one by location, and call it from Trio without blocking the loop.

A location is a Redis URL (`redis://`, `rediss://` for TLS, `unix://`), a SQLite URL
(`sqlite:///abs/path.sqlite3`) or a plain file path; with none, the journal is the SQLite file
`journal.sqlite3` in the data dir. `GABAGOOL_STORE` (else `GABAGOOL_STORE_URL`, the engine's
setting) names a location when the caller gives none.
"""

from __future__ import annotations

import functools
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import TracebackType
from typing import ParamSpec, TypeVar

import trio

from gabagool.store.base import (
    DEFAULT_LEDGER,
    RESTING_ORDER_STATUSES,
    FillRecord,
    HaltState,
    Journal,
    JournalExport,
    JournalNotFound,
    OpenSource,
    OrderRecord,
    OrderStatus,
    Outcome,
    PortfolioTotals,
    PositionSnapshot,
    ResolutionRecord,
    SchemaError,
    Store,
    StoreConflictError,
    StoreError,
    StoreUnavailable,
    StoreWriteError,
    WindowRecord,
    fold_fills,
)
from gabagool.store.location import (
    JOURNAL_FILENAME,
    STORE_ENV,
    STORE_URL_ENV,
    default_data_dir,
    redact_url,
    resolve_location,
)
from gabagool.store.lock import (
    EngineLock,
    JournalBusy,
    acquire_engine_lock,
    exclusive_journal,
    hold_engine_lock,
    journal_holders,
)
from gabagool.store.outage import Backoff, StoreOutage
from gabagool.store.sqlite import SqliteJournal

__all__ = [
    "DEFAULT_LEDGER",
    "Backoff",
    "EngineLock",
    "JournalBusy",
    "StoreOutage",
    "acquire_engine_lock",
    "exclusive_journal",
    "hold_engine_lock",
    "journal_holders",
    "RESTING_ORDER_STATUSES",
    "FillRecord",
    "HaltState",
    "Journal",
    "JournalExport",
    "JournalNotFound",
    "OrderRecord",
    "PortfolioTotals",
    "PositionSnapshot",
    "ResolutionRecord",
    "SchemaError",
    "Store",
    "StoreConflictError",
    "StoreError",
    "StoreUnavailable",
    "StoreWriteError",
    "ThreadedStore",
    "WindowRecord",
    "default_data_dir",
    "fold_fills",
    "open_journal",
    "open_store",
    "watch_halt",
]

HALT_POLL_S = 0.2

P = ParamSpec("P")
T = TypeVar("T")


def describe_location(location: str | None, data_dir: Path | str | None = None) -> str:
    """Where `open_journal` would look, for messages (a Redis password is hidden)."""
    location = location or os.environ.get(STORE_ENV) or os.environ.get(STORE_URL_ENV) or None
    if location is None:
        return str(Path(data_dir or default_data_dir()).expanduser() / JOURNAL_FILENAME)
    return redact_url(location)


def open_journal(
    location: str | None = None, *, data_dir: Path | str | None = None, create: bool = True
) -> Journal:
    """The synchronous journal at `location` (see the module's docstring).

    With `create=False` a missing SQLite file raises JournalNotFound instead of being made.
    """
    where = resolve_location(location, data_dir)
    if where.backend == "redis":
        assert where.url is not None
        # Imported here so a SQLite-only user never needs the redis client importable.
        from gabagool.store.redis import RedisJournal

        return RedisJournal(where.url)
    assert where.path is not None
    return SqliteJournal(where.path, create=create)


class ThreadedStore:
    """The `Store` protocol over a synchronous journal: each call runs in a worker thread.

    SQLite calls are serialised through one thread at a time (one connection); Redis calls
    may overlap, up to `redis_threads`, since the client's connection pool is thread-safe.
    """

    def __init__(self, journal: Journal, *, redis_threads: int = 8) -> None:
        self.journal = journal
        self.backend = journal.backend
        self._limiter = trio.CapacityLimiter(redis_threads if journal.backend == "redis" else 1)

    async def _run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        # abandon_on_cancel stays False: a cancelled caller waits for the write to finish, so
        # a fill is never half-journaled and never journaled without the caller knowing.
        return await trio.to_thread.run_sync(
            functools.partial(fn, *args, **kwargs), limiter=self._limiter
        )

    async def __aenter__(self) -> ThreadedStore:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._run(self.journal.close)

    async def schema_version(self) -> int:
        return await self._run(self.journal.schema_version)

    async def record_window_opened(self, window: WindowRecord) -> bool:
        return await self._run(self.journal.record_window_opened, window)

    async def record_window_settled(
        self, window_id: str, winner: Outcome, settled_ns: int
    ) -> WindowRecord:
        return await self._run(self.journal.record_window_settled, window_id, winner, settled_ns)

    async def window(self, window_id: str) -> WindowRecord | None:
        return await self._run(self.journal.window, window_id)

    async def windows(self) -> list[WindowRecord]:
        return await self._run(self.journal.windows)

    async def open_windows(self) -> list[WindowRecord]:
        return await self._run(self.journal.open_windows)

    async def record_order(self, order: OrderRecord) -> bool:
        return await self._run(self.journal.record_order, order)

    async def record_window_open(
        self, window_id: str, open_atto: int, source: OpenSource, at_ns: int
    ) -> bool:
        return await self._run(
            self.journal.record_window_open, window_id, open_atto, source, at_ns
        )

    async def record_resolution(self, window_id: str, check: ResolutionRecord) -> bool:
        return await self._run(self.journal.record_resolution, window_id, check)

    async def update_order(
        self,
        order_id: str,
        status: OrderStatus,
        updated_ns: int,
        reason: str = "",
        venue_id: str | None = None,
    ) -> OrderRecord:
        return await self._run(
            self.journal.update_order, order_id, status, updated_ns, reason, venue_id
        )

    async def order(self, order_id: str) -> OrderRecord | None:
        return await self._run(self.journal.order, order_id)

    async def orders(self, window_id: str | None = None) -> list[OrderRecord]:
        return await self._run(self.journal.orders, window_id)

    async def resting_orders(self, window_id: str | None = None) -> list[OrderRecord]:
        return await self._run(self.journal.resting_orders, window_id)

    async def cancel_resting_orders(self, reason: str, at_ns: int) -> list[OrderRecord]:
        return await self._run(self.journal.cancel_resting_orders, reason, at_ns)

    async def record_fill(self, fill: FillRecord) -> bool:
        return await self._run(self.journal.record_fill, fill)

    async def record_fill_reversal(
        self, window_id: str, key: tuple[str, str], reversed_ns: int, reason: str = ""
    ) -> bool:
        return await self._run(
            self.journal.record_fill_reversal, window_id, key, reversed_ns, reason
        )

    async def fills(self, window_id: str) -> list[FillRecord]:
        return await self._run(self.journal.fills, window_id)

    async def all_fills(self) -> list[FillRecord]:
        return await self._run(self.journal.all_fills)

    async def position_snapshot(self, window_id: str) -> PositionSnapshot:
        return await self._run(self.journal.position_snapshot, window_id)

    async def positions(self) -> list[PositionSnapshot]:
        return await self._run(self.journal.positions)

    async def rebuild_positions(self) -> dict[str, PositionSnapshot]:
        return await self._run(self.journal.rebuild_positions)

    async def set_halt(self, halted: bool, reason: str, set_by: str, at_ns: int) -> HaltState:
        return await self._run(self.journal.set_halt, halted, reason, set_by, at_ns)

    async def get_halt(self) -> HaltState:
        return await self._run(self.journal.get_halt)

    async def reserve_capital(
        self, holder: str, amount_pico: int, cap_pico: int, ledger: str = DEFAULT_LEDGER
    ) -> bool:
        return await self._run(
            self.journal.reserve_capital, holder, amount_pico, cap_pico, ledger
        )

    async def release_capital(
        self, holder: str, amount_pico: int | None = None, ledger: str = DEFAULT_LEDGER
    ) -> int:
        return await self._run(self.journal.release_capital, holder, amount_pico, ledger)

    async def reservations(self, ledger: str = DEFAULT_LEDGER) -> dict[str, int]:
        return await self._run(self.journal.reservations, ledger)

    async def reserved_capital(self, ledger: str = DEFAULT_LEDGER) -> int:
        return await self._run(self.journal.reserved_capital, ledger)

    async def totals(self) -> PortfolioTotals:
        return await self._run(self.journal.totals)

    async def export(self) -> JournalExport:
        return await self._run(self.journal.export)

    async def clear(self) -> None:
        await self._run(self.journal.clear)


async def open_store(
    location: str | None = None, *, data_dir: Path | str | None = None
) -> ThreadedStore:
    """Open (creating or migrating as needed) the journal at `location`, off the Trio loop."""
    journal = await trio.to_thread.run_sync(
        functools.partial(open_journal, location, data_dir=data_dir)
    )
    return ThreadedStore(journal)


async def watch_halt(store: Store, *, interval_s: float = HALT_POLL_S) -> AsyncIterator[HaltState]:
    """Yield the halt flag now and again each time it changes (another engine may set it).

    Polls every `interval_s` (on the Trio clock), so a halt set by any engine sharing the store
    is seen well within a second.
    """
    last: HaltState | None = None
    while True:
        state = await store.get_halt()
        if state != last:
            last = state
            yield state
        await trio.sleep(interval_s)
