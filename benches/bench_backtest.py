"""`gabagool backtest` throughput: a simulated day of four assets (4 x 96 = 384 windows) with
the default settings on every core, as `gabagool backtest --sim 1 --assets btc,eth,sol,xrp
--windows 96 --no-baselines` runs it (issue 11: under 60 s on the 2-core machine).

Each window's frames are generated in its worker, then the engine's window core trades them
in a plain loop (`engine.backtest_loop.run_window`). Besides the wall time, the rows give
the CPU the workers spent per window and the machine's load average around the run: on a
shared machine the wall time says as much about the neighbours as about the backtest. The
two halves of a window (the simulator's frames, the engine) are timed apart on a few
windows in this process, by CPU time.
"""

from __future__ import annotations

import logging
import os
import resource
import time

from gabagool.backtest.runner import default_jobs, open_executor, run_windows
from gabagool.backtest.spec import sim_specs, window_frames
from gabagool.config import load_settings
from gabagool.engine.backtest_loop import run_window

ASSETS = ("btc", "eth", "sol", "xrp")
WINDOWS = 96
SEED = 1
SAMPLE = 8  # windows timed one by one in this process
TARGET_S = 60.0


def row(what: str, value: float, unit: str, target: str, ok: bool) -> dict:
    return {
        "bench": "backtest",
        "what": what,
        "value": value,
        "unit": unit,
        "target": target,
        "ok": ok,
    }


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run() -> list[dict]:
    # the simulated feed's drops are logged as warnings: hundreds of lines in a day
    logging.getLogger("gabagool").setLevel(logging.ERROR)
    settings = load_settings(environ={}, dotenv=None)
    specs = sim_specs([SEED], ASSETS, WINDOWS)
    sample = specs[:: len(specs) // SAMPLE][:SAMPLE]
    generate = engine = 0.0
    for spec in sample:
        began = time.process_time()
        window = window_frames(spec)
        generate += time.process_time() - began
        began = time.process_time()
        run_window(window.frames, window.header, settings, outcome=window.outcome)
        engine += time.process_time() - began
    generate /= len(sample)
    engine /= len(sample)
    jobs = default_jobs()
    load_before = os.getloadavg()[0]
    cpu_before = _children_cpu()
    began = time.perf_counter()
    with open_executor(jobs) as executor:
        results = run_windows([("day", settings)], specs, executor)
    day = time.perf_counter() - began
    cpu = _children_cpu() - cpu_before  # the pool's workers, reaped at its shutdown
    load_after = os.getloadavg()[0]
    fills = sum(r.fills for r in results["day"])
    n = len(specs)
    per_window_target = TARGET_S / n * 1000
    return [
        row(
            f"a simulated day, 4 assets ({n} windows, {fills} fills), {jobs} jobs",
            day,
            "s",
            f"< {TARGET_S:.0f} s",
            day < TARGET_S,
        ),
        row(
            "  the same, wall time per window",
            day / n * 1000,
            "ms",
            f"< {per_window_target:.0f} ms",
            day / n * 1000 < per_window_target,
        ),
        row(
            f"  the same, CPU of the {jobs} workers per window",
            cpu / n * 1000,
            "ms",
            f"< {per_window_target * jobs:.0f} ms",
            cpu / n * 1000 < per_window_target * jobs,
        ),
        row(
            f"  machine load (1 min average) before {load_before:.1f}, after",
            load_after,
            "processes",
            f"{jobs}: alone",
            True,
        ),
        row("one window: the simulator's frames, CPU", generate * 1000, "ms", "-", True),
        row("one window: the engine's plain loop, CPU", engine * 1000, "ms", "-", True),
        row(
            "windows per second, all jobs",
            n / day,
            "windows/s",
            f"> {n / TARGET_S:.1f}",
            n / day > n / TARGET_S,
        ),
    ]


if __name__ == "__main__":
    for r in run():
        verdict = "ok" if r["ok"] else "MISSED"
        print(f"{r['what']:<62} {r['value']:>10.3f} {r['unit']:<11} {r['target']:<10} {verdict}")
