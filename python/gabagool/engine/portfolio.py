"""State shared by all windows: the halt flag, capital and unhedged caps, the daily loss."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gabagool.engine.events import EngineEvents, format_picos

if TYPE_CHECKING:
    from gabagool.engine.capital import CapitalLedger
    from gabagool.engine.window import Window

DAY_NS = 86_400 * 1_000_000_000


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
        self.windows: dict[str, Window] = {}  # open windows: `add` and `remove` them
        self.halt_reason = ""
        self.day = -1
        self.realised_today = 0  # pico-dollars of windows settled today (market day, UTC)
        # the store's shared ledgers, when engines share the portfolio caps
        self.ledger: CapitalLedger | None = None
        self.unhedged_ledger: CapitalLedger | None = None
        # pico-dollars of capital and micro-shares of unhedged exposure the caps still allow
        # (across engines when the ledgers are shared): every scan reads them, between a
        # frame and its intents, so `recount` keeps them current instead
        self.rooms = (max_capital, max_unhedged)
        self._deployed = 0  # pico-dollars at cost, open windows
        self._unhedged = 0  # micro-shares, open windows

    @property
    def halted(self) -> bool:
        return bool(self.halt_reason)

    def halt(self, reason: str) -> None:
        if not self.halt_reason:
            self.halt_reason = reason
            self.events.risk_action("*", "halt", reason)
            for window in self.windows.values():
                window.risk_wake.set()  # each cancels its resting orders at once

    def resume(self) -> None:
        if self.halt_reason:
            self.events.risk_action("*", "resume", f"was halted: {self.halt_reason}")
        self.halt_reason = ""

    def add(self, window: Window) -> None:
        self.windows[window.market_id] = window
        self.recount()

    def remove(self, window: Window) -> None:
        self.windows.pop(window.market_id, None)
        self.recount()

    def recount(self) -> None:
        """Sum the open windows' positions and read the ledgers again: due after every fill,
        window coming or going, and read of what the other engines hold."""
        cost = unhedged = 0
        for window in self.windows.values():
            position = window.position
            cost += position.cost_up + position.cost_down
            unhedged += abs(position.delta)
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
        marked = sum(w.marked_pnl() for w in self.windows.values())
        loss = -(self.realised_today + marked)
        if loss > self.daily_loss_limit and not self.halted:
            self.halt(
                f"daily loss {format_picos(loss, 2)} $ beyond the limit "
                f"{format_picos(self.daily_loss_limit, 2)} $"
            )
