"""The window's decisions without Trio or I/O: `WindowCore` and what it exchanges.

Importing this package imports no Trio (a test checks it): the backtest loop runs it in a
plain loop, the engine's `Window` under Trio, with the same results.
"""

from gabagool.engine.core.commands import (
    Cancel,
    CancelAll,
    Command,
    FillEntry,
    FillReversal,
    Halt,
    JournalEntry,
    Notice,
    OrderIntent,
    OrderUpdate,
    Place,
    Settle,
    WindowEnd,
)
from gabagool.engine.core.orders import OrderBook, OrderState, OrderStats, TrackedOrder
from gabagool.engine.core.window import NEVER, Limits, Mode, NoLimits, WindowCore

__all__ = [
    "NEVER",
    "Cancel",
    "CancelAll",
    "Command",
    "FillEntry",
    "FillReversal",
    "Halt",
    "JournalEntry",
    "Limits",
    "Mode",
    "NoLimits",
    "Notice",
    "OrderBook",
    "OrderIntent",
    "OrderState",
    "OrderStats",
    "OrderUpdate",
    "Place",
    "Settle",
    "TrackedOrder",
    "WindowCore",
    "WindowEnd",
]
