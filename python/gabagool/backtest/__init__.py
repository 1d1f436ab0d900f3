"""Backtests: the engine's window core over many windows in a plain loop, in parallel, with the PnL
split, sweeps, baselines and an HTML report (`gabagool backtest`).

`run_one(spec, settings)` is the one seam between the runner and the engine.
"""

from gabagool.backtest.one import run_one
from gabagool.backtest.result import WindowResult
from gabagool.backtest.runner import open_executor, run_windows
from gabagool.backtest.spec import WindowSpec, recording_specs, sim_specs

__all__ = [
    "WindowResult",
    "WindowSpec",
    "open_executor",
    "recording_specs",
    "run_one",
    "run_windows",
    "sim_specs",
]
