"""One simulated window and a run of consecutive ones: the simulator's public face."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator

from gabagool.recording import MarketHeader
from gabagool.sim.loop import WindowRun
from gabagool.sim.model import (
    DEFAULT_START,
    TWAP_SECONDS,
    WINDOW_SECONDS,
    UnderlyingPath,
    check_asset,
    check_start,
    plan,
)
from gabagool.sim.params import MarketParams
from gabagool.sim.reference import reference_frames
from gabagool.sim.wire import REFERENCE_DECIMALS, digits, market_header, reference_text

MARKET = "market"
REFERENCE = "ref"
assert MARKET < REFERENCE  # merge_sources puts the market first on a tie
"""Source tags of `all_frames` and of recordings (`recording.SOURCES`)."""


class WindowSimulator:
    """One simulated 15-minute window of an asset.

    `frames()` yields the market channel's (t_ns, frame text); `reference_frames()` the
    reference price's PolyBolt envelopes; `all_frames()` both, tagged, in receive order.
    The outcome (the settlement TWAP at the end against the open, ties to Up) is fixed at
    construction. `previous` chains this window to the one before it: it opens at its close
    and its first minute's TWAP averages the previous window's last minute. `keep_path`
    keeps the underlying's path built at construction for the frames, instead of building
    it again for each pass (faster for one window, more memory for many).
    """

    def __init__(
        self,
        asset: str,
        start: int,
        seed: int,
        *,
        open_price: float | None = None,
        previous: WindowSimulator | None = None,
        params: MarketParams | None = None,
        keep_path: bool = False,
    ) -> None:
        self.asset = asset
        self.model = check_asset(asset)
        self.start = check_start(start)
        self.end = start + WINDOW_SECONDS
        self.seed = seed
        self.params = params if params is not None else MarketParams()
        self._history: tuple[int, ...] | None = None
        if previous is not None:
            if previous.asset != asset or previous.end != start:
                raise ValueError(
                    f"previous window {previous.asset} {previous.start} does not end where "
                    f"{asset} {start} starts"
                )
            open_price = previous.close_price if open_price is None else open_price
            self._history = previous.tail
        self._open_argument = open_price
        self._kept: UnderlyingPath | None = None
        path = self.path()
        if keep_path:
            # one window about to be generated keeps its path (frames and reference share
            # it); by default a window keeps only its summary (see `path`)
            self._kept = path
        self.volatility: float = path.volatility
        self.open_price: float = path.open_price
        self.close_price: float = path.close_price
        self.tail: tuple[int, ...] = path.tail
        self.up_wins: bool = path.up_wins
        self.outcome: str | None = "up" if path.up_wins else "down"
        scale = 10 ** (REFERENCE_DECIMALS - path.decimals)
        self.header: MarketHeader = market_header(
            asset, start, self.end, seed, reference_text(path.open_units * scale)
        )
        self.up_token = self.header.up_token
        self.down_token = self.header.down_token
        # the settlement TWAP as the reference feed's last TWAP frame writes it
        self.settlement_price = reference_text(path.settlement_units * scale // TWAP_SECONDS)
        self.market_id: str = digits(f"market:{asset}:{start}:{seed}", 7)

    def path(self) -> UnderlyingPath:
        """The underlying's path, rebuilt on demand (a window keeps only its summary, so a
        year of windows fits in memory), or the one kept with `keep_path`."""
        if self._kept is not None:
            return self._kept
        return UnderlyingPath(
            self.asset,
            self.start,
            self.seed,
            self._open_argument,
            self._history,
            self.params.volatility_scale,
        )

    def frames(self) -> Iterator[tuple[int, str]]:
        """The market channel's frames in time order, from the start to `market_resolved` at
        the end (re-runnable, same output)."""
        return WindowRun(self, self.path()).frames()

    def reference_frames(self) -> Iterator[tuple[int, str]]:
        """The reference feed of this window alone (a subscription at its start)."""
        return reference_frames([self])

    def all_frames(self) -> Iterator[tuple[int, str, str]]:
        """(t_ns, source, text): market and reference frames in receive order."""
        return merge_sources(self.frames(), self.reference_frames())


def chain_open(
    asset: str,
    start: int,
    seed: int,
    params: MarketParams | None = None,
    origin: int = DEFAULT_START,
) -> float | None:
    """The open of the window at `start` when windows chain from `origin`, each opening at
    the previous one's close (None at the origin: the window draws its own). Walks the
    windows' plans alone, which fix their closes, not their paths."""
    check_asset(asset)
    check_start(start)
    scale = (params if params is not None else MarketParams()).volatility_scale
    open_price: float | None = None
    for first in range(origin, start, WINDOW_SECONDS):
        _, _, open_price = plan(asset, first, seed, open_price, scale)
    return open_price


def merge_sources(
    market: Iterable[tuple[int, str]], reference: Iterable[tuple[int, str]]
) -> Iterator[tuple[int, str, str]]:
    """Both streams tagged by source, in receive order (market first on a tie)."""
    tagged_market = ((t, MARKET, text) for t, text in market)
    tagged_reference = ((t, REFERENCE, text) for t, text in reference)
    # no key: on a tie the tags decide, and MARKET sorts before REFERENCE
    return heapq.merge(tagged_market, tagged_reference)


def simulate(
    asset: str,
    windows: int,
    seed: int,
    start: int | None = None,
    *,
    params: MarketParams | None = None,
) -> Iterator[WindowSimulator]:
    """Consecutive windows of one asset; each opens at the previous one's close."""
    check_asset(asset)
    if type(windows) is not int or windows < 0:
        raise ValueError(f"window count {windows!r} is not a non-negative int")
    first = check_start(DEFAULT_START if start is None else start)
    previous: WindowSimulator | None = None
    for index in range(windows):
        window = WindowSimulator(
            asset, first + index * WINDOW_SECONDS, seed, previous=previous, params=params
        )
        previous = window
        yield window


def run_frames(windows: list[WindowSimulator]) -> Iterator[tuple[int, str, str]]:
    """Consecutive windows of one asset as one recording's lines: every window's market
    frames and one continuous reference subscription, tagged, in receive order."""

    def market() -> Iterator[tuple[int, str]]:
        for window in windows:
            yield from window.frames()

    return merge_sources(market(), reference_frames(windows))
