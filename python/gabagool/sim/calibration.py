"""Statistics the simulator is calibrated against, measured over simulated windows.

`python -m gabagool.sim.calibration [--windows N] [--asset btc] [--uncalibrated] [--json]`
prints, for N consecutive windows, the figures docs/SIMULATOR.md compares with real BTC
windows (issue 11): the Up book sampled once a second (median spread, s.d. of the
one-second mid change, crossings of 0.5, cheapest Up ask + cheapest Down ask before
T-120 s), the underlying's 15-minute s.d., and DESIGN.md's probe (join both best bids with
5 shares at T-120 s: how often both, one or none fill, and whether a lone fill is on the
loser). Floats are fine here: this is a measurement, not a decision.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from gabagool.sim.model import DEFAULT_START
from gabagool.sim.params import UNCALIBRATED, MarketParams
from gabagool.sim.window import simulate
from gabagool.types import WINDOW_SECONDS

PROBE_SECONDS_BEFORE_END = 120
PROBE_SHARES = 5.0
CHEAP_PAIR_CUTOFF_SECONDS = 120


class Window(Protocol):
    start: int
    end: int
    outcome: str | None
    up_token: str

    def frames(self) -> Iterable[tuple[int, str]]: ...


@dataclass
class WindowStats:
    median_spread: float
    mid_changes: list[float]
    crossings: int
    cheapest_pair: float
    probe: str  # "both", "one-loser", "one-winner", "none"


class _UpBook:
    """The Up book from the Up token's events (the Down book is its mirror)."""

    def __init__(self) -> None:
        self.bids: dict[float, float] = {}
        self.asks: dict[float, float] = {}

    def best(self) -> tuple[float, float] | None:
        if not self.bids or not self.asks:
            return None
        return max(self.bids), min(self.asks)


class _Probe:
    """A 5-share bid at each side's best bid, behind the queue resting there: it fills from
    trades at its price once the queue ahead is gone, at once when a trade goes through it;
    cancels at its level shrink the queue ahead."""

    def __init__(self, book: _UpBook) -> None:
        best = book.best()
        assert best is not None
        self.up_price, self.down_as_up_ask = best
        self.up_ahead = book.bids.get(self.up_price, 0.0)
        self.down_ahead = book.asks.get(self.down_as_up_ask, 0.0)
        self.up_filled = self.down_filled = 0.0

    def level(self, side: str, price: float, size: float) -> None:
        if side == "BUY" and price == self.up_price:
            self.up_ahead = min(self.up_ahead, size)
        elif side == "SELL" and price == self.down_as_up_ask:
            self.down_ahead = min(self.down_ahead, size)

    def trade(self, side: str, price: float, size: float) -> None:
        if side == "SELL":  # a taker sold Up into the Up bids
            if price < self.up_price:
                self.up_filled = PROBE_SHARES
            elif price == self.up_price:
                self.up_ahead -= size
                if self.up_ahead < 0:
                    self.up_filled = min(PROBE_SHARES, self.up_filled - self.up_ahead)
                    self.up_ahead = 0.0
        else:  # a taker bought Up from the asks: the mirrored Down bids
            if price > self.down_as_up_ask:
                self.down_filled = PROBE_SHARES
            elif price == self.down_as_up_ask:
                self.down_ahead -= size
                if self.down_ahead < 0:
                    self.down_filled = min(PROBE_SHARES, self.down_filled - self.down_ahead)
                    self.down_ahead = 0.0

    def verdict(self, outcome: str | None) -> str:
        up, down = self.up_filled >= PROBE_SHARES, self.down_filled >= PROBE_SHARES
        if up and down:
            return "both"
        if not (up or down):
            return "none"
        lone = "up" if up else "down"
        return "one-winner" if lone == outcome else "one-loser"


def window_stats(window: Window) -> WindowStats:
    book = _UpBook()
    token = window.up_token
    samples: list[tuple[float, float]] = []  # (bid, ask) at each whole second
    next_second = window.start + 1
    probe: _Probe | None = None
    probe_at = window.end - PROBE_SECONDS_BEFORE_END
    for t_ns, text in window.frames():
        second = t_ns / 1e9
        while next_second <= second and next_second < window.end:
            top = book.best()
            if top is not None:
                samples.append(top)
            if next_second == probe_at and top is not None:
                probe = _Probe(book)
            next_second += 1
        decoded = json.loads(text)
        for message in decoded if isinstance(decoded, list) else [decoded]:
            kind = message["event_type"]
            if kind == "book" and message["asset_id"] == token:
                book.bids = {float(lv["price"]): float(lv["size"]) for lv in message["bids"]}
                book.asks = {float(lv["price"]): float(lv["size"]) for lv in message["asks"]}
            elif kind == "price_change":
                for change in message["price_changes"]:
                    if change["asset_id"] != token:
                        continue
                    side, price, size = (
                        change["side"],
                        float(change["price"]),
                        float(change["size"]),
                    )
                    levels = book.bids if side == "BUY" else book.asks
                    if size:
                        levels[price] = size
                    else:
                        levels.pop(price, None)
                    if probe is not None:
                        probe.level(side, price, size)
            elif kind == "last_trade_price" and message["asset_id"] == token and probe:
                probe.trade(message["side"], float(message["price"]), float(message["size"]))
    spreads = [ask - bid for bid, ask in samples]
    mids = [(bid + ask) / 2 for bid, ask in samples]
    crossings, sign = 0, 0
    for mid in mids:
        now = 1 if mid > 0.5 else -1 if mid < 0.5 else sign
        if sign and now != sign:
            crossings += 1
        sign = now
    early = samples[: max(1, WINDOW_SECONDS - CHEAP_PAIR_CUTOFF_SECONDS)]
    cheapest_up = min(ask for _, ask in early)
    cheapest_down = min(1 - bid for bid, _ in early)
    return WindowStats(
        median_spread=round(statistics.median(spreads), 4),
        mid_changes=[b - a for a, b in zip(mids, mids[1:], strict=False)],
        crossings=crossings,
        cheapest_pair=round(cheapest_up + cheapest_down, 4),
        probe=probe.verdict(window.outcome) if probe is not None else "none",
    )


def measure(windows: Iterable[Window], fifteen_minute_sd: float | None = None) -> dict[str, Any]:
    stats = [window_stats(window) for window in windows]
    changes = [change for s in stats for change in s.mid_changes]
    probes = [s.probe for s in stats]
    spreads = [s.median_spread for s in stats]
    return {
        "windows": len(stats),
        "median_spread_per_window": {
            "min": min(spreads),
            "median": statistics.median(spreads),
            "max": max(spreads),
            "share_at_0.01": round(sum(abs(s - 0.01) < 1e-9 for s in spreads) / len(stats), 3),
        },
        "sd_one_second_mid_change": round(statistics.pstdev(changes), 4),
        "crossings_of_half_per_window": round(statistics.mean(s.crossings for s in stats), 2),
        "cheapest_pair_before_t120_median": round(
            statistics.median(s.cheapest_pair for s in stats), 4
        ),
        "fifteen_minute_sd_pct": fifteen_minute_sd,
        "probe": {
            "both": probes.count("both"),
            "one": probes.count("one-loser") + probes.count("one-winner"),
            "one_on_loser": probes.count("one-loser"),
            "none": probes.count("none"),
        },
    }


def underlying_sd_pct(windows: Iterable[Any]) -> float:
    """The 15-minute s.d. of the underlying, from its one-second log returns, in percent."""
    returns = []
    for window in windows:
        samples = window.path().samples
        returns += [math.log(b / a) for a, b in zip(samples, samples[1:], strict=False)]
    return round(statistics.pstdev(returns) * math.sqrt(WINDOW_SECONDS) * 100, 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gabagool.sim.calibration")
    parser.add_argument("--windows", type=int, default=60)
    parser.add_argument("--asset", default="btc")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--uncalibrated", action="store_true", help="the 2026-12 parameters")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    params = UNCALIBRATED if args.uncalibrated else MarketParams()
    sims = list(simulate(args.asset, args.windows, args.seed, DEFAULT_START, params=params))
    result = measure(sims, underlying_sd_pct(sims))
    result["params"] = asdict(params)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
