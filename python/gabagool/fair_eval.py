"""How well the engine's fair value predicts the winner, against the book's mid, on the simulator.

```
python -m gabagool.fair_eval --windows 100 --seed 1000 [--assets btc eth sol xrp] [--json]
```

For each simulated window (`--windows` consecutive ones per asset, chained as `gabagool sim`
makes them), the market frames go into a core `Market` and the reference frames into a
`WindowFair`, merged in receive order, exactly what the engine sees: the fair value never reads
the simulator's state. At sample times the evaluator records Up's book mid, the fair value of
Up and the simulator's true probability of Up at that moment (what its makers quote from,
`UnderlyingPath.probability` at the model step in force), and at the end the winner.

Reported: the log loss against the winner of the mid, the fair value and the true probability
at T-600/-300/-120/-30 s, with the standard error of the fair value's difference from the
mid (paired by window); the expected log loss of the mid and the fair value against the true
probability (`-(q ln p + (1 - q) ln(1 - p))`, q the truth: the winner's log loss without the
coin flip of who won, so a difference of a few ten-thousandths is seen on 400 windows where
the winner's log loss needs thousands); and the mean absolute error of the fair value and of
the mid against the true probability over samples every 10 s away from the last minute
(T-890 s to T-60 s). Everything is deterministic: the same arguments print the same figures.

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
from gabagool.fair_value import FairSettings, WindowFair, Winner, log_loss
from gabagool.sim import MarketParams, simulate
from gabagool.sim.model import MODEL_STEP_MS
from gabagool.venues.polymarket.reference_frames import FeedCounters, PolyBoltReader

ASSETS = ("btc", "eth", "sol", "xrp")
HORIZONS_S = (600, 300, 120, 30)  # seconds before the end
MAE_STEP_S = 10
MAE_LAST_S = 60  # "away from the last minute": samples with at least this much left
WINDOW_S = 900
READER_LOG = "gabagool.venues.polymarket.reference_frames"
NS_PER_MS = 1_000_000

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
    grid = set(range(WINDOW_S - MAE_STEP_S, MAE_LAST_S - 1, -MAE_STEP_S)) | set(HORIZONS_S)
    return sorted(grid, reverse=True)


def up_mid(market: Market) -> int | None:
    bid, ask = market.best_bid("up"), market.best_ask("up")
    if bid is None or ask is None:
        return None
    return (bid[0] + ask[0]) // 2


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
        step = (WINDOW_S - left) * 1000 // MODEL_STEP_MS
        tape.true_at[left] = round(path.probability(step) * 1_000_000)
    last_mid: int | None = None
    pending_t = -1  # receive time (ns) of market frames applied since the last batch end
    for t_ns, source, text in window.all_frames():
        if pending_t >= 0 and t_ns != pending_t:
            # a burst (frames sharing a receive time) ends: the engine reads the book now
            market.end_batch()
            mid = up_mid(market)
            if mid != last_mid:
                tape.events.append((pending_t // NS_PER_MS, MID, mid))
                last_mid = mid
            pending_t = -1
        if source == "ref":
            ticks, _ = reader.read(text)
            for tick in ticks:
                tape.events.append((t_ns // NS_PER_MS, TICK, len(tape.ticks)))
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

    def to_json(self) -> dict[str, Any]:
        return {
            "windows": self.windows,
            "log_loss": {str(h): v for h, v in self.log_loss.items()},
            "expected_log_loss": {str(h): v for h, v in self.expected_loss.items()},
            "difference_se": {str(h): v for h, v in self.difference_se.items()},
            "mae_fair_cents": self.mae_fair * 100,
            "mae_mid_cents": self.mae_mid * 100,
            "mae_samples": self.mae_samples,
            "missing": self.missing,
        }


def evaluate(tapes: Iterable[Tape], make_fair: FairFactory) -> Report:
    """Score every tape (the volatility estimate carried from window to window of an asset,
    as a live run's reference hub primes a new window with the last minutes; a simulated
    window in the engine starts afresh, which scores the same to 0.01 cent on seed 9000)
    and summarise."""
    per_horizon: dict[int, dict[str, list[tuple[int, Winner]]]] = {
        h: {"mid": [], "fair": [], "true": []} for h in HORIZONS_S}
    abs_fair = abs_mid = 0
    count = missing = windows = 0
    volatility: dict[str, Volatility] = {}
    for tape in tapes:
        windows += 1
        fair = make_fair(tape, volatility.get(tape.asset))
        volatility[tape.asset] = fair.volatility
        for s in score(tape, fair):
            mid = s.mid if s.mid is not None else 500_000
            up = s.fair if s.fair is not None else mid
            missing += (s.mid is None) + (s.fair is None)
            if s.seconds_left in per_horizon:
                forecasts = per_horizon[s.seconds_left]
                forecasts["mid"].append((mid, tape.winner))
                forecasts["fair"].append((up, tape.winner))
                forecasts["true"].append((s.true, tape.winner))
            if s.seconds_left >= MAE_LAST_S and s.seconds_left % MAE_STEP_S == 0:
                abs_fair += abs(up - s.true)
                abs_mid += abs(mid - s.true)
                count += 1
    losses = {h: {name: log_loss(pairs) for name, pairs in forecasts.items()}
              for h, forecasts in per_horizon.items()}
    expected = {h: {name: _expected_loss(forecasts[name], forecasts["true"])
                    for name in ("mid", "fair")} for h, forecasts in per_horizon.items()}
    spread = {h: _difference_se(forecasts["fair"], forecasts["mid"])
              for h, forecasts in per_horizon.items()}
    return Report(windows, losses, expected, spread, abs_fair / max(count, 1) / 1e6,
                  abs_mid / max(count, 1) / 1e6, count, missing)


def _clip(up: int) -> float:
    return min(max(up, 1), 999_999) / 1_000_000


def _expected_loss(forecasts: list[tuple[int, Winner]], truth: list[tuple[int, Winner]]) -> float:
    total = 0.0
    for (up, _), (true, _) in zip(forecasts, truth, strict=True):
        p, q = _clip(up), true / 1_000_000
        total -= q * math.log(p) + (1 - q) * math.log(1 - p)
    return total / max(len(forecasts), 1)


def _difference_se(a: list[tuple[int, Winner]], b: list[tuple[int, Winner]]) -> float:
    def loss(up: int, winner: Winner) -> float:
        p = _clip(up)
        return -math.log(p if winner == "up" else 1 - p)

    diffs = [loss(x, w) - loss(y, w) for (x, w), (y, _) in zip(a, b, strict=True)]
    n = len(diffs)
    if n < 2:
        return 0.0
    mean = sum(diffs) / n
    return math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1) / n)


def run(assets: Sequence[str], windows: int, seed: int,
        settings: FairSettings | None = None) -> Report:
    # the simulated feed's `seq` gaps and drops are by design: one warning each is noise here
    reader_log = logging.getLogger(READER_LOG)
    level = reader_log.level
    reader_log.setLevel(logging.ERROR)
    try:
        return evaluate(record_windows(assets, windows, seed),
                        default_fair(settings if settings is not None else FairSettings()))
    finally:
        reader_log.setLevel(level)


def format_report(report: Report, command: str = "") -> str:
    lines = [f"fair value vs mid on {report.windows} simulated windows"
             + (f" ({command})" if command else "")]
    lines.append("log loss against the winner (lower is better; se: of fair - mid), and "
                 "expected against the true probability")
    lines.append(f"{'horizon':>8}  {'mid':>7}  {'fair':>7}  {'true':>7}  {'se':>7}  "
                 f"{'exp mid':>8}  {'exp fair':>8}")
    for h, losses in report.log_loss.items():
        cells = "  ".join(f"{v:7.4f}" if v is not None else f"{'-':>7}"
                          for v in (losses["mid"], losses["fair"], losses["true"]))
        expected = report.expected_loss[h]
        lines.append(f"{'T-' + str(h) + 's':>8}  {cells}  {report.difference_se[h]:7.4f}  "
                     f"{expected['mid']:8.5f}  {expected['fair']:8.5f}")
    lines.append(f"mean absolute error against the true probability, every {MAE_STEP_S} s from "
                 f"T-{WINDOW_S - MAE_STEP_S} s to T-{MAE_LAST_S} s ({report.mae_samples} "
                 f"samples): fair {report.mae_fair * 100:.2f} c, mid {report.mae_mid * 100:.2f} c")
    if report.missing:
        lines.append(f"samples without a mid or a fair value (judged as the mid or 0.5): "
                     f"{report.missing}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gabagool.fair_eval", description=__doc__
                                     .split("\n\n")[0])
    parser.add_argument("--windows", type=int, default=10, help="windows per asset")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--assets", nargs="+", default=list(ASSETS), choices=ASSETS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.windows < 1:
        parser.error(f"--windows {args.windows} is not a positive count")
    began = time.perf_counter()
    report = run(args.assets, args.windows, args.seed)
    seconds = time.perf_counter() - began
    if args.json:
        print(json.dumps({**report.to_json(), "assets": args.assets, "seed": args.seed,
                          "seconds": round(seconds, 1)}))
    else:
        command = f"--windows {args.windows} --seed {args.seed} --assets {' '.join(args.assets)}"
        print(format_report(report, command))
        print(f"{seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
