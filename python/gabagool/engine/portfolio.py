"""State shared by all windows: the halt flag, capital and unhedged caps, the daily loss."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
        self.windows: dict[str, Window] = {}
        self.halt_reason = ""
        self.day = -1
        self.realised_today = 0  # pico-dollars of windows settled today (market day, UTC)
        # the store's shared ledgers, when engines share the portfolio caps
        self.ledger: CapitalLedger | None = None
        self.unhedged_ledger: CapitalLedger | None = None

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

    # `capital_room` and `unhedged_room` run in every scan, between a frame and its intents:
    # plain loops, not generators
    def capital_deployed(self) -> int:
        total = 0
        for window in self.windows.values():
            position = window.position
            total += position.cost_up + position.cost_down
        return total

    def capital_room(self) -> int:
        elsewhere = self.ledger.elsewhere if self.ledger is not None else 0
        return max(0, self.max_capital - self.capital_deployed() - elsewhere)

    def committed(self) -> int:
        """What the capital ledger must hold for this engine: positions at cost, live buys."""
        return sum(w.committed() for w in self.windows.values())

    def unhedged(self) -> int:
        total = 0
        for window in self.windows.values():
            total += abs(window.position.delta)
        return total

    def unhedged_room(self) -> int:
        ledger = self.unhedged_ledger
        elsewhere = ledger.elsewhere if ledger is not None else 0
        return max(0, self.max_unhedged - self.unhedged() - elsewhere)

    def exposure(self) -> int:
        """What the unhedged ledger must hold for this engine: each window's worst |delta|."""
        return sum(w.exposure() for w in self.windows.values())

    def within_unhedged_cap(self, intents: list[Any], delta: int) -> list[Any]:
        """Drop buys that would add unhedged shares beyond the portfolio's room."""
        room = -1  # read once, at the first buy that adds unhedged shares (room is >= 0)
        kept = []
        for intent in intents:
            if intent.action == "buy":
                size = intent.size
                added = abs(delta + (size if intent.outcome == "up" else -size)) - abs(delta)
                if added > 0:
                    if room < 0:
                        room = self.unhedged_room()
                    if added > room:
                        continue
            kept.append(intent)
        return kept

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
