"""How well the engine's fair value predicts the winner, against the book's mid, on the simulator.

```
python -m gabagool.fair_eval --windows 100 --seed 1000 [--assets btc eth sol xrp] [--json]
python -m gabagool.fair_eval --windows 100 --seeds 9000 9100 9200 9300   # windows pooled
```

For each simulated window (`--windows` consecutive ones per asset, chained as `gabagool sim`
makes them), the market frames go into a core `Market` and the reference frames into a
`WindowFair`, merged in receive order, exactly what the engine sees: the fair value never reads
the simulator's state. At sample times the evaluator records Up's book mid, the fair value of
Up and the simulator's true probability of Up at that moment (what its makers quote from,
`UnderlyingPath.probability` at the model step in force), and at the end the winner.

Reported: the log loss against the winner of the mid, the fair value and the true probability
at T-600/-300/-120/-30 s, with the fair value's difference from the mid (paired by window),
its standard error and 95% interval; the expected log loss of the mid and the fair value
against the true probability (`-(q ln p + (1 - q) ln(1 - p))`, q the truth: the winner's log
loss without the coin flip of who won, so a difference of a few ten-thousandths is seen on
400 windows where the winner's log loss needs thousands); and the mean absolute error of the
fair value and of the mid against the true probability over samples every 10 s away from the
last minute (T-890 s to T-60 s). With `--seeds`, each seed's windows are scored as a run
of that seed alone would score them and all are pooled into one report (the winner's log loss
over 400 windows is mostly who won; 1600 halve its noise), each seed's own difference beside.
Everything is deterministic: the same arguments print the same figures.

A report's numbers, not a decision's: floats are fine here. The run is split in two, the
`Tape` (what the engine would see of one window, reduced to mid changes and reference ticks,
plus the truth at the sample times) and `score` (a `WindowFair` driven over a tape), so the
model can be judged on several settings without simulating the windows again.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from gabagool.core import Market, Volatility, parse_price, parse_reference_price
from gabagool.fair_value import FairSettings, WindowFair, Winner, log_loss, up_mid
from gabagool.sim import MarketParams, simulate
from gabagool.sim.model import MODEL_STEP_MS
from gabagool.types import MS, WINDOW_SECONDS
from gabagool.venues.polymarket.reference_frames import FeedCounters, PolyBoltReader

ASSETS = ("btc", "eth", "sol", "xrp")
HORIZONS_S = (600, 300, 120, 30)  # seconds before the end
MAE_STEP_S = 10
MAE_LAST_S = 60  # "away from the last minute": samples with at least this much left
READER_LOG = "gabagool.venues.polymarket.reference_frames"

# one event of a tape: (receive ms, kind, value); a mid change (micro-dollars or None when a
# side is empty) or a reference tick (its index in `Tape.ticks`)
MID, TICK = 0, 1


@dataclass(frozen=True, slots=True)
class Sample:
    """The three forecasts of Up at one moment, in micro-dollars (true: rounded)."""

    seconds_left: int
    mid: int | None
    fair: int | None
    true: int


@dataclass(slots=True)
class Tape:
    """What the engine sees of one window, and the truth to judge it by."""

    asset: str
    start_ms: int
    end_ms: int
    price_to_beat: int
    winner: Winner
    events: list[tuple[int, int, int | None]] = field(default_factory=list)
    ticks: list[Any] = field(default_factory=list)  # ReferenceTick
    true_at: dict[int, int] = field(default_factory=dict)  # seconds left -> true (micros)


def sample_seconds() -> list[int]:
    """Seconds left at which a window is sampled, decreasing: the MAE grid and the horizons."""
    grid = set(range(WINDOW_SECONDS - MAE_STEP_S, MAE_LAST_S - 1, -MAE_STEP_S)) | set(HORIZONS_S)
    return sorted(grid, reverse=True)


def record(window: Any) -> Tape:
    """Run one `WindowSimulator` through a core `Market` and a PolyBolt reader into a tape."""
    header = window.header
    market = Market(header.up_token, header.down_token, parse_price(str(header.tick_size)))
    reader = PolyBoltReader([window.asset], FeedCounters())
    start_ms, end_ms = window.start * 1000, window.end * 1000
    path = window.path()
    tape = Tape(window.asset, start_ms, end_ms, parse_reference_price(header.price_to_beat),
                "up" if window.up_wins else "down")
    for left in sample_seconds():
        step = (WINDOW_SECONDS - left) * 1000 // MODEL_STEP_MS
        tape.true_at[left] = round(path.probability(step) * 1_000_000)
    last_mid: int | None = None
    pending_t = -1  # receive time (ns) of market frames applied since the last batch end
    for t_ns, source, text in window.all_frames():
        if pending_t >= 0 and t_ns != pending_t:
            # a burst (frames sharing a receive time) ends: the engine reads the book now
            market.end_batch()
            mid = up_mid(market)
            if mid != last_mid:
                tape.events.append((pending_t // MS, MID, mid))
                last_mid = mid
            pending_t = -1
        if source == "ref":
            ticks, _ = reader.read(text)
            for tick in ticks:
                tape.events.append((t_ns // MS, TICK, len(tape.ticks)))
                tape.ticks.append(tick)
        else:
            market.apply_frame(text)
            pending_t = t_ns
    return tape


def record_windows(assets: Sequence[str], windows: int, seed: int,
                   params: MarketParams | None = None) -> Iterator[Tape]:
    for asset in assets:
        for window in simulate(asset, windows, seed, params=params):
            yield record(window)


FairFactory = Callable[[Tape, Volatility | None], WindowFair]


def default_fair(settings: FairSettings) -> FairFactory:
    def make(tape: Tape, volatility: Volatility | None) -> WindowFair:
        return WindowFair(tape.asset, tape.start_ms, tape.end_ms, settings,
                          price_to_beat=tape.price_to_beat, volatility=volatility)
    return make


def score(tape: Tape, fair: WindowFair) -> list[Sample]:
    """Drive `fair` over the tape in receive order; sample it at `sample_seconds()` (the
    events received at or before a sample time count, as a frame due then would)."""
    samples: list[Sample] = []
    times = [(tape.end_ms - left * 1000, left) for left in sample_seconds()]
    events, ticks = tape.events, tape.ticks
    i, mid = 0, None
    for at_ms, left in times:
        while i < len(events) and events[i][0] <= at_ms:
            _, kind, value = events[i]
            if kind == MID:
                mid = value
                fair.on_mid(value, events[i][0])
            else:
                fair.on_tick(ticks[value])  # type: ignore[index]
            i += 1
        value_now = fair.value(at_ms)
        samples.append(Sample(left, mid, value_now.up if value_now else None,
                              tape.true_at[left]))
    return samples


Z95 = 1.959964  # the normal quantile of a two-sided 95% interval


@dataclass(frozen=True, slots=True)
class Report:
    windows: int
    log_loss: dict[int, dict[str, float | None]]  # horizon -> forecast -> log loss
    # horizon -> forecast (mid, fair) -> expected log loss against the true probability
    expected_loss: dict[int, dict[str, float]]
    # horizon -> standard error of the mean of (fair's log loss - mid's), paired by window
    difference_se: dict[int, float]
    mae_fair: float
    mae_mid: float
    mae_samples: int
    missing: int  # samples without a fair value or a mid (judged as 0.5)
    seeds: tuple[int, ...] = ()
    # horizon -> mean of (fair's log loss - mid's) against the winner, paired by window
    difference: dict[int, float] = field(default_factory=dict)
    # seed -> horizon -> that mean over the seed's windows alone (several seeds pooled)
    seed_difference: dict[int, dict[int, float]] = field(default_factory=dict)

    def ci95(self, horizon: int) -> tuple[float, float]:
        """The 95% interval of the mean paired difference fair - mid (normal, by window)."""
        mean, se = self.difference[horizon], self.difference_se[horizon]
        return mean - Z95 * se, mean + Z95 * se

    def to_json(self) -> dict[str, Any]:
        out = {
            "windows": self.windows,
            "log_loss": {str(h): v for h, v in self.log_loss.items()},
            "expected_log_loss": {str(h): v for h, v in self.expected_loss.items()},
            "difference": {str(h): v for h, v in self.difference.items()},
            "difference_se": {str(h): v for h, v in self.difference_se.items()},
            "difference_ci95": {str(h): list(self.ci95(h)) for h in self.difference},
            "mae_fair_cents": self.mae_fair * 100,
            "mae_mid_cents": self.mae_mid * 100,
            "mae_samples": self.mae_samples,
            "missing": self.missing,
        }
        if self.seed_difference:
            out["seed_difference"] = {
                str(seed): {str(h): v for h, v in d.items()}
                for seed, d in self.seed_difference.items()
            }
        return out


@dataclass(slots=True)
class Collected:
    """The samples a report is computed from; several seeds' add up to their pooled report."""

    windows: int = 0
    # horizon -> forecast (mid, fair, true) -> (Up in micros, winner), one a window
    horizons: dict[int, dict[str, list[tuple[int, Winner]]]] = field(
        default_factory=lambda: {h: {"mid": [], "fair": [], "true": []} for h in HORIZONS_S})
    abs_fair: int = 0
    abs_mid: int = 0
    count: int = 0
    missing: int = 0

    def add(self, other: Collected) -> None:
        self.windows += other.windows
        for h, forecasts in other.horizons.items():
            for name, pairs in forecasts.items():
                self.horizons[h][name].extend(pairs)
        self.abs_fair += other.abs_fair
        self.abs_mid += other.abs_mid
        self.count += other.count
        self.missing += other.missing


def collect(tapes: Iterable[Tape], make_fair: FairFactory) -> Collected:
    """Score every tape (the volatility estimate carried from window to window of an asset,
    as a live run's reference hub primes a new window with the last minutes; a simulated
    window in the engine starts afresh, which scores the same to 0.01 cent on seed 9000)."""
    out = Collected()
    volatility: dict[str, Volatility] = {}
    for tape in tapes:
        out.windows += 1
        fair = make_fair(tape, volatility.get(tape.asset))
        volatility[tape.asset] = fair.volatility
        for s in score(tape, fair):
            mid = s.mid if s.mid is not None else 500_000
            up = s.fair if s.fair is not None else mid
            out.missing += (s.mid is None) + (s.fair is None)
            if s.seconds_left in out.horizons:
                forecasts = out.horizons[s.seconds_left]
                forecasts["mid"].append((mid, tape.winner))
                forecasts["fair"].append((up, tape.winner))
                forecasts["true"].append((s.true, tape.winner))
            if s.seconds_left >= MAE_LAST_S and s.seconds_left % MAE_STEP_S == 0:
                out.abs_fair += abs(up - s.true)
                out.abs_mid += abs(mid - s.true)
                out.count += 1
    return out


def summarise(c: Collected, seeds: Sequence[int] = (),
              seed_difference: dict[int, dict[int, float]] | None = None) -> Report:
    per_horizon = c.horizons
    losses = {h: {name: log_loss(pairs) for name, pairs in forecasts.items()}
              for h, forecasts in per_horizon.items()}
    expected = {h: {name: _expected_loss(forecasts[name], forecasts["true"])
                    for name in ("mid", "fair")} for h, forecasts in per_horizon.items()}
    paired = {h: _paired(forecasts["fair"], forecasts["mid"])
              for h, forecasts in per_horizon.items()}
    return Report(c.windows, losses, expected, {h: se for h, (_, se) in paired.items()},
                  c.abs_fair / max(c.count, 1) / 1e6, c.abs_mid / max(c.count, 1) / 1e6,
                  c.count, c.missing, tuple(seeds), {h: mean for h, (mean, _) in paired.items()},
                  seed_difference or {})


def evaluate(tapes: Iterable[Tape], make_fair: FairFactory) -> Report:
    """Score every tape (`collect`) and summarise."""
    return summarise(collect(tapes, make_fair))


def pool(collected: dict[int, Collected]) -> Report:
    """Several seeds' samples as one report: the windows pooled, each seed's own paired
    difference kept beside (seed -> horizon -> mean fair - mid)."""
    total = Collected()
    per_seed: dict[int, dict[int, float]] = {}
    for seed, c in collected.items():
        total.add(c)
        per_seed[seed] = {h: _paired(f["fair"], f["mid"])[0] for h, f in c.horizons.items()}
    return summarise(total, tuple(collected), per_seed if len(collected) > 1 else None)


def _clip(up: int) -> float:
    return min(max(up, 1), 999_999) / 1_000_000


def _expected_loss(forecasts: list[tuple[int, Winner]], truth: list[tuple[int, Winner]]) -> float:
    total = 0.0
    for (up, _), (true, _) in zip(forecasts, truth, strict=True):
        p, q = _clip(up), true / 1_000_000
        total -= q * math.log(p) + (1 - q) * math.log(1 - p)
    return total / max(len(forecasts), 1)


def _paired(a: list[tuple[int, Winner]], b: list[tuple[int, Winner]]) -> tuple[float, float]:
    """Mean of a's log loss minus b's, paired by window, and its standard error."""
    def loss(up: int, winner: Winner) -> float:
        p = _clip(up)
        return -math.log(p if winner == "up" else 1 - p)

    diffs = [loss(x, w) - loss(y, w) for (x, w), (y, _) in zip(a, b, strict=True)]
    n = len(diffs)
    if n < 2:
        return (diffs[0] if diffs else 0.0), 0.0
    mean = sum(diffs) / n
    return mean, math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1) / n)


def run(assets: Sequence[str], windows: int, seed: int,
        settings: FairSettings | None = None) -> Report:
    return run_seeds(assets, windows, [seed], settings)


def run_seeds(assets: Sequence[str], windows: int, seeds: Sequence[int],
              settings: FairSettings | None = None) -> Report:
    """`windows` per asset on each seed, every seed scored on its own (a seed's windows
    chain, the next seed starts afresh) and pooled: the same windows scored alike, so
    seed 9000's figures inside a pool are its own report's."""
    make = default_fair(settings if settings is not None else FairSettings())
    # the simulated feed's `seq` gaps and drops are by design: one warning each is noise here
    reader_log = logging.getLogger(READER_LOG)
    level = reader_log.level
    reader_log.setLevel(logging.ERROR)
    try:
        return pool({seed: collect(record_windows(assets, windows, seed), make)
                     for seed in dict.fromkeys(seeds)})
    finally:
        reader_log.setLevel(level)


def format_report(report: Report, command: str = "") -> str:
    pooled = f", seeds {' '.join(map(str, report.seeds))} pooled" if len(report.seeds) > 1 else ""
    lines = [f"fair value vs mid on {report.windows} simulated windows{pooled}"
             + (f" ({command})" if command else "")]
    lines.append("log loss against the winner (lower is better); fair - mid paired by window, "
                 "its se and 95% CI; expected log loss against the true probability")
    lines.append(f"{'horizon':>8}  {'mid':>7}  {'fair':>7}  {'true':>7}  {'fair-mid':>8}  "
                 f"{'se':>6}  {'95% CI':>17}  {'exp mid':>8}  {'exp fair':>8}")
    for h, losses in report.log_loss.items():
        cells = "  ".join(f"{v:7.4f}" if v is not None else f"{'-':>7}"
                          for v in (losses["mid"], losses["fair"], losses["true"]))
        expected = report.expected_loss[h]
        low, high = report.ci95(h)
        ci = f"[{low:+.4f}, {high:+.4f}]"
        lines.append(f"{'T-' + str(h) + 's':>8}  {cells}  {report.difference[h]:+8.4f}  "
                     f"{report.difference_se[h]:6.4f}  {ci:>17}  "
                     f"{expected['mid']:8.5f}  {expected['fair']:8.5f}")
    for seed, diffs in report.seed_difference.items():
        cells = ", ".join(f"T-{h}s {d:+.4f}" for h, d in diffs.items())
        lines.append(f"  fair - mid on seed {seed} alone: {cells}")
    lines.append(f"mean absolute error against the true probability, every {MAE_STEP_S} s from "
                 f"T-{WINDOW_SECONDS - MAE_STEP_S} s to T-{MAE_LAST_S} s ({report.mae_samples} "
                 f"samples): fair {report.mae_fair * 100:.2f} c, mid {report.mae_mid * 100:.2f} c")
    if report.missing:
        lines.append(f"samples without a mid or a fair value (judged as the mid or 0.5): "
                     f"{report.missing}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gabagool.fair_eval", description=__doc__
                                     .split("\n\n")[0])
    parser.add_argument("--windows", type=int, default=10, help="windows per asset")
    seeds = parser.add_mutually_exclusive_group()
    seeds.add_argument("--seed", type=int, default=0)
    seeds.add_argument("--seeds", type=int, nargs="+", metavar="SEED",
                       help="several seeds, their windows pooled")
    parser.add_argument("--assets", nargs="+", default=list(ASSETS), choices=ASSETS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.windows < 1:
        parser.error(f"--windows {args.windows} is not a positive count")
    chosen = list(dict.fromkeys(args.seeds)) if args.seeds else [args.seed]
    began = time.perf_counter()
    report = run_seeds(args.assets, args.windows, chosen)
    seconds = time.perf_counter() - began
    which = (f"--seeds {' '.join(map(str, chosen))}" if args.seeds else f"--seed {args.seed}")
    if args.json:
        seed_keys = {"seeds": chosen} if args.seeds else {"seed": args.seed}
        print(json.dumps({**report.to_json(), "assets": args.assets, **seed_keys,
                          "seconds": round(seconds, 1)}))
    else:
        command = f"--windows {args.windows} {which} --assets {' '.join(args.assets)}"
        print(format_report(report, command))
        print(f"{seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
