"""The Trio engine: a supervisor of per-window task trees trading on an `Exchange`.

`Engine(settings, exchange=..., market_data=..., events=..., first_start=...).run()` trades
until `stop`; `Engine.control` takes halt / resume / panic / stop; every order, fill, cancel,
risk action and settlement goes through one `EngineEvents` sink. With `store=` (a
`gabagool.store.Store`) every order, fill and window is journaled (a fill before it touches
the position), a start recovers from the journal, and the halt flag and the portfolio caps
are shared with every engine on that store.
"""

from gabagool.engine.control import Control, ControlError
from gabagool.engine.events import EngineEvents, EventFanout, LogEvents
from gabagool.engine.summary import Summary, WindowResult, summarize
from gabagool.engine.supervisor import Engine
from gabagool.engine.window import LatencyProbe, Window

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
