"""The paper exchange: simulated matching against the live book, with the market's fees.

Takers (FAK/FOK) walk the opposite side level by level, pay the taker fee of each level and
consume what they take: the paper venue keeps what it took per level and offers only the
rest until the feed next updates that token's book; what was taken from one token's book is
not taken from its mirror. Post-only makers that would cross are refused; others rest
behind the size already at their price when placed and fill from trades printed at or
through it once that queue is gone (cancels ahead of them are not seen, which errs late);
makers pay nothing.

Each window is a `PaperMarket` (`gabagool.venues.paper_market`): it matches against the
engine's books (a read-only view: the frame is parsed once), answers every order and cancel
with the lifecycle's events, and keeps queue positions to itself. `PaperExchange` holds the
open ones.
"""

from __future__ import annotations

from gabagool.types import NS
from gabagool.venues.base import BookView, OrderReport, WindowHeader
from gabagool.venues.paper_market import PaperMarket


class PaperError(ValueError):
    """A market the paper exchange cannot open or close as asked."""


class PaperExchange:
    """The paper venue (`Exchange`): one `PaperMarket` per open window, and a cash ledger
    (pico-dollars) over all of them to check the engine's PnL."""

    def __init__(self, *, latency: float = 0.0) -> None:
        self.latency = latency  # seconds before an order or cancel takes effect
        self.latency_ns = round(latency * NS)
        self.markets: dict[str, PaperMarket] = {}
        self._closed_cash = 0

    def open_market(
        self, header: WindowHeader, book: BookView, *, min_order_size: int = 0
    ) -> PaperMarket:
        if header.condition_id in self.markets:
            raise PaperError(f"market {header.condition_id} is open already")
        market = PaperMarket(header, book, min_order_size=min_order_size)
        self.markets[header.condition_id] = market
        return market

    def close_market(self, market_id: str) -> None:
        market = self.markets.pop(market_id, None)
        if market is not None:
            market.cancel_all()
            self._closed_cash += market.cash

    @property
    def cash(self) -> int:
        """Pico-dollars: proceeds and payouts minus costs and fees, every market."""
        return self._closed_cash + sum(m.cash for m in self.markets.values())

    def open_orders(self, market_id: str | None = None) -> list[OrderReport]:
        markets = [self.markets[market_id]] if market_id is not None else self.markets.values()
        return [report for market in markets for report in market.reconcile()]

    async def reconcile(self, market_id: str) -> list[OrderReport]:
        """What still rests in `market_id` (nothing for a market this process never saw)."""
        market = self.markets.get(market_id)
        return market.reconcile() if market is not None else []

    async def cancel_all(self, market_id: str | None = None) -> int:
        markets = [self.markets[market_id]] if market_id is not None else self.markets.values()
        return sum(len(market.cancel_all()) for market in markets)


__all__ = ["PaperError", "PaperExchange", "PaperMarket"]
