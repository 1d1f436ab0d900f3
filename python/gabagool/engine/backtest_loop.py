"""One window through the engine's decisions in a plain loop: no Trio, no clock, no I/O.

`run_window(frames, header, settings)` plays a window's market-channel frames through the
same `WindowCore` the live engine runs, against the paper venue (`PaperMarket`), and returns
what happened: the fills, the journal the engine would have written, the final position and
the settlement. Same inputs, same result, on any machine, at any load: this is what
`gabagool backtest` runs, one call per window, in as many processes as it likes.

Beside the decisions it reads what the core held of the underlying (`FairRecord`): Up's fair
value next to the book's mid at fixed horizons before the end, the open and how it was
known, and what the fair-value gate did. Reading it changes nothing the core decides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import msgspec

from gabagool.engine.core import Command, FillEntry, JournalEntry, NoLimits, Notice, WindowCore
from gabagool.engine.core.commands import WindowOpenEntry
from gabagool.engine.core.driver import WindowDriver, run_to_end
from gabagool.engine.core.fair import ReferenceFrame
from gabagool.engine.core.orders import OrderStats
from gabagool.engine.core.snapshot import WindowSnapshot
from gabagool.engine.core.window import WindowSettings
from gabagool.fair_value import up_mid
from gabagool.types import MICROS, MS, NS, Outcome
from gabagool.venues.base import WindowHeader
from gabagool.venues.paper_market import PaperMarket
from gabagool.venues.sim_feed import with_keepalives


class FinalPosition(msgspec.Struct, frozen=True, kw_only=True):
    """Micro-shares, pico-dollars (costs fees included, realized from sells), fee micro-$."""

    qty_up: int
    qty_down: int
    cost_up: int
    cost_down: int
    realized: int
    fees_paid: int
    # avg_up + avg_down in dollars, as (numerator, denominator) in lowest terms: the core's
    # `Position.pair_cost`, so a report never computes it again; None unless both are held
    pair_cost: tuple[int, int] | None


FAIR_HORIZONS_S = (600, 300, 120, 30)  # seconds before the end: fair value beside the mid


class FairSample(msgspec.Struct, frozen=True, kw_only=True):
    """Up's fair value and the book's mid as the core held them `seconds_left` before the
    end, every frame received at or before that moment applied."""

    seconds_left: int
    fair_up: int | None  # micro-dollars; None: no reference price or open yet
    mid: int | None  # micro-dollars, Up's (best bid + best ask) // 2; None: a side empty
    stale: bool  # the reference price was older than `reference.stale_after`


class FairRecord(msgspec.Struct, frozen=True, kw_only=True):
    """The window's underlying as the core held it (None in a result: reference off)."""

    open: int | None  # atto-dollars: S_open at the end
    open_how: str | None  # the journal's: "price to beat" | "reference"
    ticks: int  # reference updates of the window's asset
    samples: tuple[FairSample, ...]  # one per horizon reached, the farthest first
    gate_dropped: int  # accumulator buys the gate refused
    gate_lowered: int  # accumulator buys the gate let through at a lower price
    stale_episodes: int
    reference_winner: Outcome | None  # settlement TWAP vs open, ties Up
    resolution_disagrees: bool


class WindowResult(msgspec.Struct, kw_only=True):
    slug: str
    market_id: str
    asset: str
    start: int  # unix seconds
    end: int
    mode: str  # maker | taker
    fills: list[FillEntry]  # in order; FillEntry.breach marks a fill that broke its rule
    journal: list[JournalEntry]  # what the engine journals, in order
    notices: list[tuple[int, str, str]]  # (market ns, action, detail): risk actions, faults
    position: FinalPosition
    winner: Outcome | None
    settlement_pnl: int | None  # pico-dollars; None when no winner is known
    halted: str  # the window's own halt reason ("" if none)
    frames: int
    bad_frames: int
    orders_placed: int
    orders_rejected: int
    rule_breaches: int
    paper_cash: int  # the venue's own cash ledger after the payout: equals settlement_pnl
    snapshot: WindowSnapshot | None = None  # the window at its end: fair value, resolution
    fair: FairRecord | None = None


def run_window(
    frames: Iterable[tuple[int, bytes | str | ReferenceFrame]],
    header: WindowHeader,
    settings: Any,
    *,
    outcome: Outcome | None = None,
    latency_ms: int = 0,
    max_capital: int | None = None,
    max_unhedged: int | None = None,
    keepalive: bool = True,
    watch: Callable[[int, WindowCore], None] | None = None,
) -> WindowResult:
    """Trade one window on the paper venue.

    `frames`: (receive time, unix ns; raw market-channel frame) in time order, e.g. a
    recording's items of this window or `WindowSimulator.frames()`; reference-feed frames
    among them as `ReferenceFrame`s (`sim_feed.sim_frames`). `header`: the window
    (`gabagool.recording.MarketHeader`). `settings`: `gabagool.config.Settings` (strategy and
    risk sections; `engine.resolution_wait`). `outcome`: the winner when no
    `market_resolved` frame says it. `latency_ms`: the paper venue's delay on every order
    and cancel. `max_capital` (pico-dollars) / `max_unhedged` (micro-shares): the portfolio
    caps applied to this window alone (None: `settings.risk`'s). `keepalive`: a silent
    stretch counts as a live, quiet link (as the live feed's PONGs say), not a dead one.
    `watch(t_ns, core)`: called after every frame's work is done (books, position), to
    read the window over time (the backtest's timeline); it must not change the core.
    """
    risk = settings.risk
    limits = NoLimits(
        max_capital if max_capital is not None else int(risk.max_capital * MICROS * MICROS),
        max_unhedged if max_unhedged is not None else int(risk.max_unhedged * MICROS),
    )
    core = WindowCore(header, settings, limits=limits, fallback_outcome=lambda: outcome)
    limits.core = core
    venue = PaperMarket(header, core.market, min_order_size=core.params.min_order_size)
    notices: list[tuple[int, str, str]] = []

    def observe(t_ns: int, command: Command) -> None:
        if isinstance(command, Notice):
            notices.append((t_ns, command.action, command.detail))

    driver = WindowDriver(core, venue, latency_ns=latency_ms * 1_000_000, on_command=observe)
    stream = ((t, f.encode() if isinstance(f, str) else f) for t, f in frames)
    paced: Iterable[tuple[int, bytes | ReferenceFrame | None]] = (
        with_keepalives(stream, header.start * NS) if keepalive else stream
    )
    sampler = _FairSampler(core, header.end * NS) if core.reference is not None else None
    if sampler is not None:
        paced = sampler.frames(paced)
    if watch is not None:
        paced = _watched(paced, core, watch)
    run_to_end(driver, paced)
    p = core.position
    if core.winner is not None:
        venue.payout(core.winner, p.qty_up, p.qty_down)
    stats: OrderStats = core.orders.stats
    return WindowResult(
        slug=core.slug,
        market_id=core.market_id,
        asset=core.asset,
        start=header.start,
        end=header.end,
        mode="maker" if core.maker else "taker",
        fills=list(core.fills),
        journal=list(core.journal),
        notices=notices,
        position=FinalPosition(
            qty_up=p.qty_up,
            qty_down=p.qty_down,
            cost_up=p.cost_up,
            cost_down=p.cost_down,
            realized=p.realized,
            fees_paid=p.fees_paid,
            pair_cost=p.pair_cost_ratio,
        ),
        winner=core.winner,
        settlement_pnl=core.settlement_pnl,
        halted=core.halt_reason,
        frames=core.frames,
        bad_frames=core.bad_frames,
        orders_placed=stats.placed,
        orders_rejected=stats.rejected,
        rule_breaches=stats.breaches,
        paper_cash=venue.cash,
        snapshot=(snapshot := core.snapshot()),
        fair=sampler.record(snapshot) if sampler is not None else None,
    )


class _FairSampler:
    """Reads the core's fair value and Up's mid at each horizon: just before the first
    frame received after it, when the driver has done all the earlier frames' work (a
    window whose frames stop earlier is read when they stop). `WindowFair.value` is a pure
    function of the state, so the reads change nothing the core decides."""

    def __init__(self, core: WindowCore, end_ns: int) -> None:
        self.core = core
        self.due = [(end_ns - s * NS, s) for s in FAIR_HORIZONS_S]  # earliest first
        self.samples: list[FairSample] = []

    def frames(
        self, frames: Iterable[tuple[int, bytes | ReferenceFrame | None]]
    ) -> Iterator[tuple[int, bytes | ReferenceFrame | None]]:
        due = self.due
        for item in frames:
            while due and item[0] > due[0][0]:
                self._take(*due.pop(0))
            yield item
        while due:
            self._take(*due.pop(0))

    def _take(self, at_ns: int, seconds_left: int) -> None:
        core = self.core
        reference = core.reference
        value = reference.fair.value(at_ns // MS) if reference is not None else None
        self.samples.append(
            FairSample(
                seconds_left=seconds_left,
                fair_up=value.up if value is not None else None,
                mid=up_mid(core.market),
                stale=value.stale if value is not None else False,
            )
        )

    def record(self, snapshot: WindowSnapshot) -> FairRecord:
        reference = self.core.reference
        assert reference is not None
        opens = [e for e in self.core.journal if isinstance(e, WindowOpenEntry)]
        return FairRecord(
            open=snapshot.reference_open,
            open_how=opens[-1].how if opens else None,
            ticks=snapshot.reference_ticks,
            samples=tuple(self.samples),
            gate_dropped=reference.gate_blocks,
            gate_lowered=reference.gate_clamps,
            stale_episodes=snapshot.stale_episodes,
            reference_winner=snapshot.ours_winner,
            resolution_disagrees=snapshot.resolution_disagrees,
        )


def _watched(
    frames: Iterable[tuple[int, bytes | ReferenceFrame | None]],
    core: WindowCore,
    watch: Callable[[int, WindowCore], None],
) -> Iterator[tuple[int, bytes | ReferenceFrame | None]]:
    # resumed only once the driver has done all of the frame's work
    for t_ns, frame in frames:
        yield t_ns, frame
        watch(t_ns, core)


__all__ = [
    "FAIR_HORIZONS_S",
    "FairRecord",
    "FairSample",
    "FinalPosition",
    "WindowResult",
    "WindowSettings",
    "run_window",
]
