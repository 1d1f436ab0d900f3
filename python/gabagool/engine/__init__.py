"""The Trio engine: a supervisor of per-window task trees trading on an `Exchange`.

`Engine(settings, exchange=..., market_data=..., events=..., first_start=...).run()` trades
until `stop`; `Engine.control` takes halt / resume / panic / stop; every order, fill, cancel,
risk action and settlement goes through one `EngineEvents` sink. With `store=` (a
`gabagool.store.Store`) every order, fill and window is journaled (an order's intent before
it is sent, a fill before anything acts on it), a start recovers from the journal, and the
halt flag and the portfolio caps are shared with every engine on that store.

The window's decisions live in `gabagool.engine.core` (no Trio, no I/O); the backtest's plain
loop is `gabagool.engine.backtest_loop.run_window`. The names below are loaded on first use,
so importing the core does not import Trio.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gabagool.engine.control import Control, ControlError
    from gabagool.engine.events import EngineEvents, EventFanout, LogEvents
    from gabagool.engine.summary import Summary, WindowResult, summarize
    from gabagool.engine.supervisor import Engine
    from gabagool.engine.window import LatencyProbe, Window

_HOMES = {
    "Control": "control",
    "ControlError": "control",
    "Engine": "supervisor",
    "EngineEvents": "events",
    "EventFanout": "events",
    "LatencyProbe": "window",
    "LogEvents": "events",
    "Summary": "summary",
    "Window": "window",
    "WindowResult": "summary",
    "summarize": "summary",
}

__all__ = [
    "Control",
    "ControlError",
    "Engine",
    "EngineEvents",
    "EventFanout",
    "LatencyProbe",
    "LogEvents",
    "Summary",
    "Window",
    "WindowResult",
    "summarize",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'gabagool.engine' has no attribute {name!r}")
    return getattr(importlib.import_module(f"gabagool.engine.{home}"), name)
