"""The simulated underlying: its price path, the settlement TWAP, and the probability of Up.

Floats are used here and only here: the path is a model, turned into exact decimals by the
wire encoders. A window's path is fixed by `(asset, start, seed, open)` alone, before any
frame is made, so the outcome is known up front and nothing depends on the wall clock.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass

from gabagool.types import WINDOW_SECONDS

# 2026-01-01T00:00:00Z: a fixed, epoch-aligned default so that output depends on the seed only.
DEFAULT_START = 1_767_225_600
SECONDS_PER_YEAR = 365 * 24 * 3600

# The path is kept at this step; makers and informed takers look at it on the same grid.
MODEL_STEP_MS = 500
STEPS_PER_SECOND = 1000 // MODEL_STEP_MS
# The settlement price is the mean of the reference's one-second samples over this long.
TWAP_SECONDS = 60
# Per-window volatility is the asset's figure times a lognormal factor of this s.d.
VOLATILITY_DISPERSION = 0.3
# How far a window's opening price wanders from the asset's reference level (log s.d.).
OPEN_DISPERSION = 0.05
_TWOPI = 2.0 * math.pi  # as `random` has it


@dataclass(frozen=True)
class AssetModel:
    """What the simulator assumes of an underlying: a typical price and annual volatility."""

    reference_price: float
    annual_volatility: float
    price_decimals: int


# Late-2025 levels. BTC's volatility is the Chainlink stream's measured 0.10-0.20% over
# 15 minutes (POLYMARKET.md: one-second log returns of s.d. 3.5e-5 to 6.6e-5): 0.28 a year is
# 0.15% per window. The others keep their historical ratio to BTC (ETH 4/3, SOL 5/3, XRP 16/9).
ASSETS: dict[str, AssetModel] = {
    "btc": AssetModel(95_000.0, 0.28, 2),
    "eth": AssetModel(3_400.0, 0.373, 2),
    "sol": AssetModel(180.0, 0.467, 3),
    "xrp": AssetModel(2.3, 0.498, 4),
}


def gauss_draws(rng: random.Random, mu: float, sigma: float, count: int) -> list[float]:
    """`[rng.gauss(mu, sigma) for _ in range(count)]`, the same numbers and the same state
    left in `rng` (its spare `gauss_next` included), without a call per draw: `gauss`
    makes its normals in pairs (Box-Muller), and this makes the same pairs, inline."""
    out: list[float] = []
    append = out.append
    spare = rng.gauss_next  # type: ignore[attr-defined]
    rng.gauss_next = None  # type: ignore[attr-defined]
    if count and spare is not None:
        append(mu + spare * sigma)
        count -= 1
        spare = None
    random_, log, sqrt, cos, sin = rng.random, math.log, math.sqrt, math.cos, math.sin
    for _ in range(count // 2):
        x2pi = random_() * _TWOPI
        g2rad = sqrt(-2.0 * log(1.0 - random_()))
        append(mu + cos(x2pi) * g2rad * sigma)
        append(mu + sin(x2pi) * g2rad * sigma)
    if count % 2:
        x2pi = random_() * _TWOPI
        g2rad = sqrt(-2.0 * log(1.0 - random_()))
        append(mu + cos(x2pi) * g2rad * sigma)
        spare = sin(x2pi) * g2rad
    if spare is not None:
        rng.gauss_next = spare  # type: ignore[attr-defined]
    return out


def derive_seed(*parts: object) -> int:
    """A 64-bit seed from labelled parts: each random stream of a window has its own."""
    digest = hashlib.sha256(":".join(str(part) for part in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def check_asset(asset: str) -> AssetModel:
    try:
        return ASSETS[asset]
    except KeyError:
        known = ", ".join(sorted(ASSETS))
        raise ValueError(f"unknown asset {asset!r} (known: {known})") from None


def check_start(start: int) -> int:
    if type(start) is not int or start < 0 or start % WINDOW_SECONDS:
        raise ValueError(f"window start {start!r} is not a unix second divisible by 900")
    return start


def phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def to_units(price: float, decimals: int) -> int:
    """A price in integer units of the asset's last decimal (BTC: cents)."""
    return round(price * 10**decimals)


def plan(
    asset: str,
    start: int,
    seed: int,
    open_price: float | None = None,
    volatility_scale: float = 1.0,
) -> tuple[float, float, float]:
    """(annual volatility, open, close) of a window: its plan's draws alone, without the
    path. Cheap, so a chain of windows is walked to its n-th window on plans."""
    model = check_asset(asset)
    decimals = model.price_decimals
    rng = random.Random(derive_seed("plan", asset, start, seed))
    volatility = (
        volatility_scale * model.annual_volatility * math.exp(rng.gauss(0.0, VOLATILITY_DISPERSION))
    )
    if open_price is None:
        open_price = model.reference_price * math.exp(rng.gauss(0.0, OPEN_DISPERSION))
    open_price = round(open_price, decimals)
    window_sigma = volatility / math.sqrt(SECONDS_PER_YEAR) * math.sqrt(WINDOW_SECONDS)
    close_price = round(open_price * math.exp(rng.gauss(0.0, window_sigma)), decimals)
    return volatility, open_price, close_price


class UnderlyingPath:
    """One window's true price, every `MODEL_STEP_MS`, and what settles it.

    The close is drawn first and the path is a Brownian bridge to it, so consecutive windows
    chain (each opens where the previous closed). The reference's one-second samples are the
    true price rounded to the asset's decimals; the window settles Up when the mean of the
    last `TWAP_SECONDS` samples (the Chainlink 60 s TWAP) is at or above the opening sample.
    `history` holds the samples of the minute before the start (the previous window's last
    minute when chained; otherwise a walk drawn backwards from the open), so the TWAP is
    defined from the first second on.
    """

    def __init__(
        self,
        asset: str,
        start: int,
        seed: int,
        open_price: float | None = None,
        history: tuple[int, ...] | None = None,
        volatility_scale: float = 1.0,
    ) -> None:
        self.model = check_asset(asset)
        self.decimals = self.model.price_decimals
        self.volatility, self.open_price, self.close_price = plan(
            asset, start, seed, open_price, volatility_scale
        )
        self.open_units = to_units(self.open_price, self.decimals)
        # volatility per square root of a second
        self.sigma_second = self.volatility / math.sqrt(SECONDS_PER_YEAR)
        self.steps = WINDOW_SECONDS * STEPS_PER_SECOND
        self.log_path = self._bridge(random.Random(derive_seed("path", asset, start, seed)))
        # `to_units(self.price(step))` of every second, inlined (the same operations)
        exp, open_price, unit = math.exp, self.open_price, 10**self.decimals
        self.samples = [
            round(open_price * exp(x) * unit) for x in self.log_path[::STEPS_PER_SECOND]
        ]
        # the close is the last sample, exactly: the next window opens on it
        self.samples[-1] = to_units(self.close_price, self.decimals)
        self.samples[0] = self.open_units
        if history is None or len(history) != TWAP_SECONDS:
            history = self._history(random.Random(derive_seed("history", asset, start, seed)))
        self.history = tuple(history)
        # cumulative sums of the log samples for the model's known part of the TWAP
        self.twap_units = self._twap_units()

    def _bridge(self, rng: random.Random) -> list[float]:
        step_sigma = self.sigma_second * math.sqrt(MODEL_STEP_MS / 1000)
        walk = [0.0]
        append = walk.append
        x = 0.0
        for step in gauss_draws(rng, 0.0, step_sigma, self.steps):
            x = x + step
            append(x)
        target = math.log(self.close_price / self.open_price)
        miss = walk[-1] - target
        steps = self.steps
        return [x - miss * i / steps for i, x in enumerate(walk)]

    def _history(self, rng: random.Random) -> tuple[int, ...]:
        x, back = 0.0, []
        for _ in range(TWAP_SECONDS):
            x += rng.gauss(0.0, self.sigma_second)
            back.append(to_units(self.open_price * math.exp(x), self.decimals))
        return tuple(reversed(back))

    def _twap_units(self) -> list[int]:
        """Sum of the `TWAP_SECONDS` samples up to each second of the window (exact)."""
        series = list(self.history) + self.samples
        total = sum(series[1 : TWAP_SECONDS + 1])
        sums = [total]
        for second in range(1, WINDOW_SECONDS + 1):
            total += series[second + TWAP_SECONDS] - series[second]
            sums.append(total)
        return sums

    @property
    def settlement_units(self) -> int:
        """The settlement TWAP times `TWAP_SECONDS`, in the asset's units (exact)."""
        return self.twap_units[-1]

    @property
    def up_wins(self) -> bool:
        """Chainlink-style resolution: Up when the TWAP is at or above the open (ties Up)."""
        return self.settlement_units >= self.open_units * TWAP_SECONDS

    @property
    def tail(self) -> tuple[int, ...]:
        """The last minute's samples before the close: the next window's `history`."""
        return tuple(self.samples[-TWAP_SECONDS - 1 : -1])

    def price(self, step: int) -> float:
        return self.open_price * math.exp(self.log_path[min(max(step, 0), self.steps)])

    def probability(self, step: int) -> float:
        """The true probability of Up at a model step: that the settlement TWAP ends at or
        above the open, given the path so far (Brownian in log price, known volatility).

        The TWAP's samples not yet seen are the current price plus the walk at 1..m seconds
        ahead; their sum has variance sigma^2 x sum_ij min(d_i, d_j). In the last minute part
        of the average is already known, which is why the price stops mattering at the end.
        """
        step = min(max(step, 0), self.steps)
        x = self.log_path[step]
        second = step // STEPS_PER_SECOND
        first_twap_second = WINDOW_SECONDS - TWAP_SECONDS + 1
        known = max(0, second - first_twap_second + 1)
        unknown = TWAP_SECONDS - known
        if unknown == 0:
            return 1.0 if self.up_wins else 0.0
        known_log = 0.0
        if known:
            lo = first_twap_second
            known_log = sum(
                math.log(self.samples[s] / self.open_units) for s in range(lo, lo + known)
            )
        seconds_left = (self.steps - step) / STEPS_PER_SECOND
        lead = max(0.0, seconds_left - unknown)  # time until the first unseen sample
        variance = unknown * unknown * lead + unknown * (unknown + 1) * (2 * unknown + 1) / 6
        mean = (known_log + unknown * x) / TWAP_SECONDS
        scale = self.sigma_second * math.sqrt(variance) / TWAP_SECONDS
        return phi(mean / scale)
