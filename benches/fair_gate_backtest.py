"""PnL of the fair-value gate in the backtest's plain loop: the same simulated windows with
the gate on (`reference.fair_edge`) and off (`reference.source = off`: the pair rules alone).

    .venv/bin/python benches/fair_gate_backtest.py --windows 20 --seed 11 --edge 0.01

`--windows` consecutive windows per asset (BTC and ETH), each opening where the previous
closed, from 2026-01-01 00:00 UTC. Prints mean PnL a window (dollars), its standard error,
the total, fills, and windows won/lost, for each arm. A report, not a decision: floats are
fine here.
"""

from __future__ import annotations

import argparse
import logging
import math
import statistics

from gabagool.config import load_settings
from gabagool.engine.backtest_loop import run_window
from gabagool.sim import WindowSimulator
from gabagool.venues.sim_feed import sim_frames

START = 1_767_225_600
PICOS = 10**12


def windows(asset: str, seed: int, count: int) -> list[WindowSimulator]:
    chain: list[WindowSimulator] = []
    for index in range(count):
        previous = chain[-1].close_price if chain else None
        chain.append(WindowSimulator(asset, START + 900 * index, seed, open_price=previous))
    return chain


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--windows", type=int, default=20, help="per asset")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--edge", default="0.01")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the reference reader's gap lines, 40 windows of them
    arms = {
        f"gate on (fair_edge {args.edge})": {"GABAGOOL_REFERENCE_FAIR_EDGE": args.edge},
        "gate off (pair rules alone)": {"GABAGOOL_REFERENCE_SOURCE": "off"},
    }
    sims = [w for asset in ("btc", "eth") for w in windows(asset, args.seed, args.windows)]
    by_arm: list[list[float]] = []
    for name, env in arms.items():
        settings = load_settings(environ=env, dotenv=None)
        pnls, fills, blocks, disagree = [], 0, 0, 0
        for sim in sims:
            result = run_window(list(sim_frames(sim)), sim.header, settings, outcome=sim.outcome)
            pnls.append((result.settlement_pnl or 0) / PICOS)
            fills += len(result.fills)
            if result.snapshot is not None:
                blocks += result.snapshot.gate_blocks
                disagree += result.snapshot.resolution_disagrees
        by_arm.append(pnls)
        mean = statistics.fmean(pnls)
        se = statistics.stdev(pnls) / math.sqrt(len(pnls))
        won = sum(1 for p in pnls if p > 0)
        lost = sum(1 for p in pnls if p < 0)
        print(
            f"{name}: {len(pnls)} windows, mean PnL/window ${mean:.4f} (s.e. {se:.4f}), "
            f"total ${sum(pnls):.2f}, fills {fills}, won {won} lost {lost} flat "
            f"{len(pnls) - won - lost}, gate blocks {blocks}, resolution disagreements {disagree}"
        )
    diffs = [on - off for on, off in zip(*by_arm, strict=True)]
    print(
        f"gate on - off, paired by window: mean ${statistics.fmean(diffs):.4f} "
        f"(s.e. {statistics.stdev(diffs) / math.sqrt(len(diffs)):.4f}), better in "
        f"{sum(1 for d in diffs if d > 0)}, worse in {sum(1 for d in diffs if d < 0)}"
    )


if __name__ == "__main__":
    main()
