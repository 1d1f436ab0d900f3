"""What one backtest window is: a simulated window (seed, asset, index) or a recorded one
(file, asset, start), and the simulator variation it runs under.

Specs sort in one fixed order, and results are reported in that order, so the output does
not depend on which worker finished first.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from functools import lru_cache

import msgspec

from gabagool import sim
from gabagool.recording import MarketHeader
from gabagool.sim import DEFAULT_START, MarketParams, WindowSimulator
from gabagool.types import WINDOW_SECONDS, Outcome
from gabagool.venues.base import ReferenceFrame
from gabagool.venues.sim_feed import ReplayMarketData, sim_frames


class SpecError(ValueError):
    """A window description that names no window (bad seed list, unknown asset, no file)."""


class WindowSpec(msgspec.Struct, frozen=True, order=True, kw_only=True):
    """One window to backtest. Sorted by (file, seed, asset, start, variant)."""

    file: str = ""  # a recording; "" for the simulator
    seed: int = 0  # the simulator's seed (0 for a recording)
    asset: str
    start: int  # unix seconds
    variant: str = ""  # simulator variation, "vol=2,informed=0.5"; "" = as built

    @property
    def index(self) -> int:
        """The window's place in its simulated day(s), counted from the simulator's start."""
        return (self.start - DEFAULT_START) // WINDOW_SECONDS

    @property
    def label(self) -> str:
        where = self.file.rsplit("/", 1)[-1] if self.file else f"seed {self.seed}"
        extra = f" [{self.variant}]" if self.variant else ""
        return f"{where} {self.asset} #{self.index}{extra}"


def parse_seeds(text: str) -> list[int]:
    """`1-20`, `1,5,9`, `1000-1099,2000`: the seeds, in order, without repeats."""
    seeds: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        low, dash, high = part.partition("-")
        try:
            first, last = int(low), int(high) if dash else int(low)
        except ValueError:
            raise SpecError(f"seeds {text!r}: {part!r} is not N or N-M") from None
        if first < 0 or last < first:
            raise SpecError(f"seeds {text!r}: {part!r} is not an increasing range of seeds >= 0")
        seeds.extend(s for s in range(first, last + 1) if s not in seeds)
    if not seeds:
        raise SpecError(f"seeds {text!r}: no seed")
    return seeds


def sim_specs(
    seeds: Sequence[int], assets: Sequence[str], windows: int, variant: str = ""
) -> list[WindowSpec]:
    """`windows` consecutive simulated windows per (seed, asset) from the simulator's start."""
    for asset in assets:
        try:
            sim.check_asset(asset)
        except ValueError as exc:
            raise SpecError(str(exc)) from None
    if windows < 1:
        raise SpecError(f"windows {windows}: expected at least 1")
    parse_variant(variant)
    return sorted(
        WindowSpec(
            seed=seed, asset=asset, start=DEFAULT_START + i * WINDOW_SECONDS, variant=variant
        )
        for seed in seeds
        for asset in assets
        for i in range(windows)
    )


def recording_specs(
    files: Sequence[str], assets: Sequence[str] | None, windows: int | None
) -> list[WindowSpec]:
    """Every window of every recording (gaps allowed), optionally of some assets only and at
    most `windows` per file and asset."""
    specs: list[WindowSpec] = []
    for path in files:
        try:
            data = _recording(path)
        except (OSError, LookupError, ValueError) as exc:
            raise SpecError(f"{path}: {exc}") from None
        per_asset: dict[str, int] = {}
        for asset, start in sorted(data.headers):
            if assets and asset not in assets:
                continue
            if windows is not None and per_asset.get(asset, 0) >= windows:
                continue
            per_asset[asset] = per_asset.get(asset, 0) + 1
            specs.append(WindowSpec(file=path, asset=asset, start=start))
    if not specs:
        raise SpecError("the recordings hold no window of the assets asked for")
    return sorted(specs)


# ---- simulator variations ---------------------------------------------------------------

VARIANT_KEYS = ("vol", "informed")


def parse_variant(text: str) -> dict[str, Fraction]:
    """`vol=2,informed=0.5` -> scale factors (volatility, informed-taker intensity)."""
    out: dict[str, Fraction] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        key, eq, value = part.partition("=")
        if key not in VARIANT_KEYS or not eq:
            raise SpecError(f"variant {text!r}: {part!r} is not vol=X or informed=X")
        try:
            scale = Fraction(value)
        except (ValueError, ZeroDivisionError):
            raise SpecError(f"variant {text!r}: {value!r} is not a number") from None
        if scale <= 0:
            raise SpecError(f"variant {text!r}: {key} must be > 0")
        out[key] = scale
    return out


def sim_params(variant: str) -> MarketParams:
    """The simulator's (calibrated) market with the variation's scales applied."""
    scales = parse_variant(variant)
    return MarketParams(
        volatility_scale=float(scales.get("vol", 1)),
        informed_scale=float(scales.get("informed", 1)),
    )


class WindowFrames(msgspec.Struct, frozen=True, kw_only=True):
    """One window's input to the engine: its header, its frames in time order, and the
    winner when no `market_resolved` frame says it (the simulator knows it; a recording says
    it in its frames)."""

    header: MarketHeader
    # (market ns, raw market-channel frame or the underlying's reference frame)
    frames: list[tuple[int, bytes | ReferenceFrame]]
    outcome: Outcome | None = None


def window_frames(spec: WindowSpec) -> WindowFrames:
    """The window's frames, generated (or read) up front: the backtest times the engine."""
    if spec.file:
        replay = _recording(spec.file)
        header = replay.headers.get((spec.asset, spec.start))
        if header is None:
            raise SpecError(f"{spec.file} holds no {spec.asset} window starting at {spec.start}")
        return WindowFrames(header=header, frames=replay.frames[header.condition_id])
    if spec.start < DEFAULT_START or (spec.start - DEFAULT_START) % WINDOW_SECONDS:
        raise SpecError(f"{spec.label}: start {spec.start} is not a simulated window")
    params = sim_params(spec.variant)
    # each window opens where the previous one closed: walk the plans (cheap) up to it
    open_price = sim.chain_open(spec.asset, spec.start, spec.seed, params)
    chain = WindowSimulator(
        spec.asset, spec.start, spec.seed, open_price=open_price, params=params, keep_path=True
    )
    frames = list(sim_frames(chain))  # the market and the reference feed, as the engine sees them
    outcome: Outcome | None = "up" if chain.up_wins else "down"
    return WindowFrames(header=chain.header, frames=frames, outcome=outcome)


@lru_cache(maxsize=4)
def _recording(path: str) -> ReplayMarketData:
    return ReplayMarketData(path)
