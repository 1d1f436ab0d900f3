"""This engine's share of a portfolio cap, held in one of the store's shared ledgers.

Engines sharing one store (Redis) share `risk.max_capital` (ledger `capital`, pico-dollars)
and `risk.max_unhedged` (ledger `unhedged`, micro-shares): before a buy is sent, the engine
holds in each ledger at least what it has committed (capital: its positions at cost and its
outstanding buys at their limit price plus the taker fee there; unhedged: the worst |delta|
its outstanding buys could leave), the new order included; the store refuses a reservation
that would take a ledger past its cap, and the buy is then not sent. So the engines together
never exceed a cap. A reservation shrinks back to what is committed as the engine polls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack

import trio

from gabagool.store import DEFAULT_LEDGER, Store

log = logging.getLogger("gabagool.engine")


class CapitalLedger:
    def __init__(
        self,
        store: Store,
        *,
        holder: str,
        cap: int,
        ledger: str = DEFAULT_LEDGER,
        on_refresh: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.holder = holder
        self.cap = cap
        self.ledger = ledger
        self.held = 0  # what this engine holds in the ledger
        self.elsewhere = 0  # held by the other engines, as last read
        self._on_refresh = on_refresh  # told after each read of `elsewhere`
        self._lock = trio.Lock()

    async def load(self) -> None:
        """Adopt what this holder kept in the ledger before a restart."""
        self.held = (await self.store.reservations(self.ledger)).get(self.holder, 0)
        await self.refresh()

    async def refresh(self) -> None:
        total = await self.store.reserved_capital(self.ledger)
        self.elsewhere = max(0, total - self.held)
        self._on_refresh()

    async def ensure(self, committed: Callable[[], int]) -> bool:
        """Hold at least `committed()`; False, holding what it held, when the cap leaves no
        room."""
        return await hold_all([(self, committed)])

    async def _reserve_locked(self, needed: int) -> bool:
        if needed <= self.held:
            return True
        extra = needed - self.held
        if not await self.store.reserve_capital(self.holder, extra, self.cap, self.ledger):
            return False
        self.held = needed
        return True

    async def trim(self, committed: Callable[[], int]) -> None:
        """Give back what is held beyond `committed()`."""
        async with self._lock:
            excess = self.held - max(0, committed())
            if excess > 0:
                released = await self.store.release_capital(self.holder, excess, self.ledger)
                self.held -= released


async def hold_all(claims: Sequence[tuple[CapitalLedger, Callable[[], int]]]) -> bool:
    """Hold at least `committed()` in each ledger, all their locks held throughout (so no
    trim gives back one claim while the next is made, and concurrent callers each see the
    others' orders); False at the first ledger whose cap leaves no room. The caller must
    make what it claimed visible to `committed` before its next checkpoint."""
    async with AsyncExitStack() as stack:
        for ledger, _ in claims:
            await stack.enter_async_context(ledger._lock)
        for ledger, committed in claims:
            if not await ledger._reserve_locked(committed()):
                return False
        return True
