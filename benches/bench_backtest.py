"""`gabagool backtest` throughput: a simulated day of four assets (4 x 96 = 384 windows) with
the default settings on every core, as `gabagool backtest --sim 1 --assets btc,eth,sol,xrp
--windows 96 --no-baselines` runs it. Each window's frames are generated in its worker
(the simulator's share is measured apart, on a few windows in this process), then the
engine's window core trades them in a plain loop (`engine.backtest_loop.run_window`).
"""

from __future__ import annotations

import time

from gabagool.backtest.one import run_one
from gabagool.backtest.runner import default_jobs, open_executor, run_windows
from gabagool.backtest.spec import sim_specs, window_frames
from gabagool.config import load_settings

ASSETS = ("btc", "eth", "sol", "xrp")
WINDOWS = 96
SEED = 1
SAMPLE = 8  # windows timed one by one in this process


def row(what: str, value: float, unit: str, target: str, ok: bool) -> dict:
    return {
        "bench": "backtest",
        "what": what,
        "value": value,
        "unit": unit,
        "target": target,
        "ok": ok,
    }


def run() -> list[dict]:
    settings = load_settings(environ={}, dotenv=None)
    specs = sim_specs([SEED], ASSETS, WINDOWS)
    sample = specs[:: len(specs) // SAMPLE][:SAMPLE]
    began = time.perf_counter()
    for spec in sample:
        window_frames(spec)
    generate = (time.perf_counter() - began) / len(sample)
    began = time.perf_counter()
    for spec in sample:
        run_one(spec, settings)
    one = (time.perf_counter() - began) / len(sample)
    jobs = default_jobs()
    began = time.perf_counter()
    with open_executor(jobs) as executor:
        results = run_windows([("day", settings)], specs, executor)
    day = time.perf_counter() - began
    fills = sum(r.fills for r in results["day"])
    return [
        row(
            f"a simulated day, 4 assets ({len(specs)} windows, {fills} fills), {jobs} jobs",
            day,
            "s",
            "< 60 s",
            day < 60.0,
        ),
        row("one window: frames generated + engine, one process", one, "s", "-", True),
        row("one window: the simulator's frames alone", generate, "s", "-", True),
        row(
            "windows per second, all jobs",
            len(specs) / day,
            "windows/s",
            "> 6.4",
            len(specs) / day > 6.4,
        ),
    ]


if __name__ == "__main__":
    for r in run():
        verdict = "ok" if r["ok"] else "MISSED"
        print(f"{r['what']:<70} {r['value']:>10.3f} {r['unit']:<9} {r['target']:<8} {verdict}")
