"""Venues: the `Exchange` and `MarketData` contracts and their implementations."""

from gabagool.venues.base import (
    Exchange,
    Fill,
    MarketData,
    MarketSpec,
    OpenOrder,
    OrderAck,
    OrderRequest,
    WindowFeed,
)

__all__ = [
    "Exchange",
    "Fill",
    "MarketData",
    "MarketSpec",
    "OpenOrder",
    "OrderAck",
    "OrderRequest",
    "WindowFeed",
]
