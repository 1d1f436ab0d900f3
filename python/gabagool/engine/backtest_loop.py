"""One window through the engine's decisions in a plain loop: no Trio, no clock, no I/O.

`run_window(frames, header, settings)` plays a window's market-channel frames through the
same `WindowCore` the live engine runs, against the paper venue (`PaperMarket`), and returns
what happened: the fills, the journal the engine would have written, the final position and
the settlement. Same inputs, same result, on any machine, at any load: this is what
`gabagool backtest` runs, one call per window, in as many processes as it likes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import msgspec

from gabagool.engine.core import Command, FillEntry, JournalEntry, NoLimits, Notice, WindowCore
from gabagool.engine.core.driver import WindowDriver, run_to_end
from gabagool.engine.core.fair import ReferenceFrame
from gabagool.engine.core.orders import OrderStats
from gabagool.engine.core.snapshot import WindowSnapshot
from gabagool.engine.core.window import WindowSettings
from gabagool.types import MICROS, NS, Outcome
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
        snapshot=core.snapshot(),
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


__all__ = ["FinalPosition", "WindowResult", "WindowSettings", "run_window"]
