"""Venues: the `Exchange` and `MarketData` contracts, the order lifecycle's events, and
their implementations."""

from gabagool.venues.base import (
    Accepted,
    Cancelled,
    CancelRejected,
    Exchange,
    Filled,
    FillReversed,
    MarketData,
    OrderReport,
    OrderRequest,
    Rejected,
    Settled,
    SimulatedMarket,
    Unknown,
    VenueEvent,
    WindowFeed,
)

__all__ = [
    "Accepted",
    "CancelRejected",
    "Cancelled",
    "Exchange",
    "FillReversed",
    "Filled",
    "MarketData",
    "OrderReport",
    "OrderRequest",
    "Rejected",
    "Settled",
    "SimulatedMarket",
    "Unknown",
    "VenueEvent",
    "WindowFeed",
]
