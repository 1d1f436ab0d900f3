"""Totals over many windows, and a bootstrap confidence interval for the mean PnL per window.

Sums and means are exact (integers and fractions of pico-dollars); the bootstrap draws with
a seeded `random.Random`, so the interval is the same on every run.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from fractions import Fraction

import msgspec

from gabagool.backtest.fair import FairTotals, fair_totals
from gabagool.backtest.result import WindowResult, decimal, dollars, shares

BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 20261203
CONFIDENCE = Fraction(95, 100)


def bootstrap_mean_ci(
    values: Sequence[int], samples: int = BOOTSTRAP_SAMPLES, seed: int = BOOTSTRAP_SEED
) -> tuple[Fraction, Fraction]:
    """The 95% percentile-bootstrap interval of the mean of `values` (exact fractions)."""
    n = len(values)
    if n == 0:
        return Fraction(0), Fraction(0)
    rng = random.Random(seed)
    sums = sorted(sum(rng.choices(values, k=n)) for _ in range(samples))
    tail = (1 - CONFIDENCE) / 2
    low = sums[int(tail * samples)]
    high = sums[min(samples - 1, int((1 - tail) * samples))]
    return Fraction(low, n), Fraction(high, n)


def median(values: Sequence[Fraction]) -> Fraction | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


class Totals(msgspec.Struct, kw_only=True):
    """One run (one settings) over its windows, as people read it."""

    windows: int
    settled: int
    pnl: str
    mean_pnl: str
    mean_pnl_ci95: tuple[str, str]
    median_pnl: str
    worst_window: str
    best_window: str
    winning_windows: int
    locked: str
    unpaired: str
    sells: str
    fees: str
    rebates_estimated: str
    fills: int
    maker_fills: int
    taker_fills: int
    volume_shares: str
    median_pair_cost: str | None
    max_pair_cost: str | None
    balanced_windows: int  # final |delta| <= max(5% of the paired quantity, one clip)
    max_unhedged_usd: str
    halted_windows: int
    fair: FairTotals | None = None  # the underlying (None: no window had a reference feed)


def totals(results: Sequence[WindowResult], clip: int) -> Totals:
    """`clip`: the trade size in micro-shares (a final delta of one clip is tolerated)."""
    pnls = [r.pnl for r in results if r.settled]
    n = len(pnls)
    low, high = bootstrap_mean_ci(pnls)
    pairs = [p for r in results if (p := r.pair_cost_fraction) is not None]
    med_pair = median(pairs)
    med_pnl = median([Fraction(p) for p in pnls])
    balanced = sum(1 for r in results if abs(r.delta) * 20 <= r.hedged or abs(r.delta) <= clip)
    return Totals(
        windows=len(results),
        settled=n,
        pnl=dollars(sum(pnls)),
        mean_pnl=dollars(Fraction(sum(pnls), n) if n else 0),
        mean_pnl_ci95=(dollars(low), dollars(high)),
        median_pnl=dollars(med_pnl or 0),
        worst_window=dollars(min(pnls, default=0)),
        best_window=dollars(max(pnls, default=0)),
        winning_windows=sum(1 for p in pnls if p > 0),
        locked=dollars(sum(r.locked for r in results)),
        unpaired=dollars(sum(r.unpaired for r in results)),
        sells=dollars(sum(r.sells for r in results)),
        fees=dollars(sum(r.fees for r in results)),
        rebates_estimated=dollars(sum(r.rebates for r in results)),
        fills=sum(r.fills for r in results),
        maker_fills=sum(r.maker_fills for r in results),
        taker_fills=sum(r.taker_fills for r in results),
        volume_shares=shares(sum(r.volume for r in results)),
        median_pair_cost=decimal(med_pair, 4) if med_pair is not None else None,
        max_pair_cost=decimal(max(pairs), 4) if pairs else None,
        balanced_windows=balanced,
        max_unhedged_usd=dollars(max((r.max_unhedged_cost for r in results), default=0), 2),
        halted_windows=sum(1 for r in results if r.halted),
        fair=fair_totals([(r.fair, r.winner) for r in results]),
    )


def mean_ci(results: Sequence[WindowResult]) -> tuple[Fraction, Fraction, Fraction]:
    """(mean, low, high) of the settled windows' PnL in pico-dollars: for sorting sweeps."""
    pnls = [r.pnl for r in results if r.settled]
    if not pnls:
        return Fraction(0), Fraction(0), Fraction(0)
    low, high = bootstrap_mean_ci(pnls)
    return Fraction(sum(pnls), len(pnls)), low, high
