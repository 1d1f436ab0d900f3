"""State shared by all windows: the halt flag, the capital and unhedged caps, the daily loss.

The portfolio knows windows only by what they publish (what a window holds, at once after
every fill; a `WindowMark` at the end of each instant that changed it and each market
second; a `WindowSnapshot`, built when read, for the view) and tells them only
through the callbacks they register (`listen`): it never holds a window's internals, and a
window reads it only as its `Limits` (`rooms`, `halt_reason`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from gabagool.engine.core.snapshot import WindowSnapshot
from gabagool.engine.events import EngineEvents
from gabagool.types import format_picos

if TYPE_CHECKING:
    from gabagool.engine.capital import CapitalLedger

DAY_NS = 86_400 * 1_000_000_000


class Held(Protocol):
    """What the portfolio counts of a window (`WindowMark`, `WindowSnapshot`)."""

    @property
    def market_id(self) -> str: ...

    @property
    def qty_up(self) -> int: ...

    @property
    def qty_down(self) -> int: ...

    @property
    def cost_up(self) -> int: ...

    @property
    def cost_down(self) -> int: ...

    @property
    def marked_pnl(self) -> int: ...

    @property
    def delta(self) -> int: ...


class Holding(Protocol):
    """What the caps count of a window: a `Held`, or the core's live `Position`."""

    @property
    def cost_up(self) -> int: ...

    @property
    def cost_down(self) -> int: ...

    @property
    def delta(self) -> int: ...


class Member(Protocol):
    """A window as the portfolio counts it: what it holds and may still commit, now."""

    @property
    def market_id(self) -> str: ...

    def snapshot(self) -> WindowSnapshot: ...

    def committed(self) -> int: ...

    def exposure(self) -> int: ...


class Portfolio:
    def __init__(
        self,
        *,
        max_capital: int,  # pico-dollars, at cost, all open windows
        max_unhedged: int,  # micro-shares, all open windows
        daily_loss_limit: int,  # pico-dollars
        events: EngineEvents,
    ) -> None:
        self.max_capital = max_capital
        self.max_unhedged = max_unhedged
        self.daily_loss_limit = daily_loss_limit
        self.events = events
        self.windows: dict[str, Member] = {}  # open windows: `add` and `remove` them
        self.marks: dict[str, Held] = {}  # the latest of each open window
        # what the caps count of each open window, (cost, |delta|): a fill moves it before
        # the window's next decision, and its mark (a read of the books) follows later
        self.held: dict[str, tuple[int, int]] = {}
        self.halt_reason = ""
        self.failure = ""  # a fault that must end the run non-zero (a journal write failed)
        self.day = -1
        self.realised_today = 0  # pico-dollars of windows settled today (market day, UTC)
        # the store's shared ledgers, when engines share the portfolio caps
        self.ledger: CapitalLedger | None = None
        self.unhedged_ledger: CapitalLedger | None = None
        # pico-dollars of capital and micro-shares of unhedged exposure the caps still allow
        # (across engines when the ledgers are shared): every scan reads them, so `recount`
        # keeps them current instead
        self.rooms: tuple[int | None, int | None] = (max_capital, max_unhedged)
        self._deployed = 0
        self._unhedged = 0
        self._listeners: list[Callable[[], None]] = []

    @property
    def snapshots(self) -> dict[str, WindowSnapshot]:
        """Each open window as it is now (built on this read: for the view, not the caps)."""
        return {market_id: w.snapshot() for market_id, w in self.windows.items()}

    @property
    def halted(self) -> bool:
        return bool(self.halt_reason)

    def listen(self, on_change: Callable[[], None]) -> None:
        """`on_change()` after a halt: each window cancels its resting orders at once."""
        self._listeners.append(on_change)

    def halt(self, reason: str) -> None:
        if not self.halt_reason:
            self.halt_reason = reason
            self.events.risk_action("*", "halt", reason)
            for tell in list(self._listeners):
                tell()

    def fail(self, reason: str) -> None:
        """A fault the run cannot trade through: halt, and remember it for the exit code."""
        if not self.failure:
            self.failure = reason
        self.halt(reason)

    def resume(self) -> None:
        if self.failure:
            return  # a journal that cannot be written is not fixed by a resume
        if self.halt_reason:
            self.events.risk_action("*", "resume", f"was halted: {self.halt_reason}")
        self.halt_reason = ""

    def add(self, window: Member) -> None:
        snapshot = window.snapshot()
        self.windows[window.market_id] = window
        self.marks[window.market_id] = snapshot
        self.held[window.market_id] = _counted(snapshot)
        self.recount()

    def remove(self, window: Member) -> None:
        self.windows.pop(window.market_id, None)
        self.marks.pop(window.market_id, None)
        self.held.pop(window.market_id, None)
        self._listeners = [
            tell for tell in self._listeners if getattr(tell, "__self__", None) is not window
        ]
        self.recount()

    def update(self, snapshot: Held) -> None:
        """A window's latest state: for the daily loss and the view; the caps' rooms follow
        what it holds."""
        if snapshot.market_id not in self.marks:
            return
        self.marks[snapshot.market_id] = snapshot
        self.hold(snapshot.market_id, snapshot)

    def hold(self, market_id: str, holding: Holding) -> None:
        """What an open window holds now: the caps' rooms count it from the window's next
        decision on."""
        old = self.held.get(market_id)
        counted = _counted(holding)
        if old is None or old == counted:
            return
        self.held[market_id] = counted
        self.recount()

    def recount(self) -> None:
        """Sum the open windows' positions and read the ledgers again: due after every fill,
        window coming or going, and read of what the other engines hold."""
        cost = unhedged = 0
        for window_cost, window_unhedged in self.held.values():
            cost += window_cost
            unhedged += window_unhedged
        self._deployed, self._unhedged = cost, unhedged
        capital, shared = self.ledger, self.unhedged_ledger
        self.rooms = (
            max(0, self.max_capital - cost - (capital.elsewhere if capital is not None else 0)),
            max(0, self.max_unhedged - unhedged - (shared.elsewhere if shared is not None else 0)),
        )

    def capital_deployed(self) -> int:
        return self._deployed

    def unhedged(self) -> int:
        return self._unhedged

    def committed(self) -> int:
        """What the capital ledger must hold for this engine: positions at cost, live buys."""
        return sum(w.committed() for w in self.windows.values())

    def exposure(self) -> int:
        """What the unhedged ledger must hold for this engine: each window's worst |delta|."""
        return sum(w.exposure() for w in self.windows.values())

    def record_settlement(self, market_ns: int, pnl: int) -> None:
        day = market_ns // DAY_NS
        if day != self.day:
            self.day, self.realised_today = day, 0
        self.realised_today += pnl

    def check_daily_loss(self, market_ns: int) -> None:
        if market_ns // DAY_NS != self.day:
            self.day, self.realised_today = market_ns // DAY_NS, 0
        # pairs count at the $1 they pay: a wide spread is no loss on a locked pair
        marked = sum(s.marked_pnl for s in self.marks.values())
        loss = -(self.realised_today + marked)
        if loss > self.daily_loss_limit and not self.halted:
            self.halt(
                f"daily loss {format_picos(loss, 2)} $ beyond the limit "
                f"{format_picos(self.daily_loss_limit, 2)} $"
            )


def _counted(holding: Holding) -> tuple[int, int]:
    """(pico-dollars at cost, micro-shares of |delta|)."""
    return holding.cost_up + holding.cost_down, abs(holding.delta)
