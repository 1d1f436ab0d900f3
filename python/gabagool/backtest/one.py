"""The seam: one backtest window in, its result out. `run_one` is the only function the
runner calls, so the engine under it can change without touching the rest.

The window's frames are generated (or read) first, then the engine's synchronous window
core trades them on the paper venue in a plain loop (`engine.backtest_loop.run_window`):
no clock, no scheduler, no I/O, so a run gives the same result whatever the machine's load
and whatever the process ran before.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

from gabagool.attribution import attribute, rebate_rate_ppm
from gabagool.backtest.result import WindowResult
from gabagool.backtest.spec import WindowFrames, WindowSpec, window_frames
from gabagool.config import Settings
from gabagool.engine.backtest_loop import WindowResult as EngineResult
from gabagool.engine.backtest_loop import WindowSettings, run_window
from gabagool.engine.core import OrderIntent, OrderUpdate, WindowCore
from gabagool.types import NS, Outcome

TIMELINE_STEP_NS = NS  # market time between samples of the books (timelines only)
# an order's journaled status that ends its life on the book
_CLOSED = ("filled", "cancelled", "rejected", "unknown")

Tops = tuple[int | None, int | None, int | None, int | None]  # up bid/ask, down bid/ask


@dataclass
class Timeline:
    """What one window looked like over time (for the report's timeline plot)."""

    t: list[float] = field(default_factory=list)  # seconds since the window's start
    up_bid: list[int | None] = field(default_factory=list)  # micro-dollars
    up_ask: list[int | None] = field(default_factory=list)
    down_bid: list[int | None] = field(default_factory=list)
    down_ask: list[int | None] = field(default_factory=list)
    delta: list[int] = field(default_factory=list)  # micro-shares
    # (outcome, price, from s, to s) of every resting bid of ours
    bids: list[tuple[str, int, float, float]] = field(default_factory=list)
    # (s, outcome, action, price, size, maker)
    fills: list[tuple[float, str, str, int, int, bool]] = field(default_factory=list)


class _Books:
    """A read-only watch on the core: both books' tops after every frame."""

    def __init__(self) -> None:
        self.t_ns: list[int] = []  # when the tops changed
        self.tops: list[Tops] = []
        self.last_ns = 0  # the last frame (keepalives included)

    def __call__(self, t_ns: int, core: WindowCore) -> None:
        self.last_ns = t_ns
        market = core.market
        tops: list[int | None] = []
        for outcome in ("up", "down"):
            bid, ask = market.best_bid(outcome), market.best_ask(outcome)
            tops.append(bid[0] if bid is not None else None)
            tops.append(ask[0] if ask is not None else None)
        top = (tops[0], tops[1], tops[2], tops[3])
        if not self.tops or self.tops[-1] != top:
            self.t_ns.append(t_ns)
            self.tops.append(top)

    def at(self, t_ns: int) -> Tops:
        i = bisect_right(self.t_ns, t_ns)
        return self.tops[i - 1] if i else (None, None, None, None)


def run_one(spec: WindowSpec, settings: Settings) -> WindowResult:
    """Backtest one window; deterministic for a given (spec, settings)."""
    window = window_frames(spec)
    engine = _run(window, settings)
    return _result(spec, window, settings, engine)


def run_with_timeline(spec: WindowSpec, settings: Settings) -> tuple[WindowResult, Timeline]:
    window = window_frames(spec)
    books = _Books()
    engine = _run(window, settings, books)
    result = _result(spec, window, settings, engine)
    return result, _timeline(window, engine, books)


def _run(window: WindowFrames, settings: Settings, books: _Books | None = None) -> EngineResult:
    return run_window(window.frames, window.header, settings, outcome=window.outcome, watch=books)


def _timeline(window: WindowFrames, engine: EngineResult, books: _Books) -> Timeline:
    start = window.header.start * NS
    last = max([start, books.last_ns, *(f.t_ns for f in engine.fills)])

    def seconds(t_ns: int) -> float:
        return (t_ns - start) / NS

    line = Timeline()
    fills = engine.fills
    delta, next_fill = 0, 0
    for t_ns in range(start, last + 1, TIMELINE_STEP_NS):
        while next_fill < len(fills) and fills[next_fill].t_ns <= t_ns:
            fill = fills[next_fill]
            signed = fill.size if (fill.outcome == "up") == (fill.side == "buy") else -fill.size
            delta += signed
            next_fill += 1
        up_bid, up_ask, down_bid, down_ask = books.at(t_ns)
        line.t.append(seconds(t_ns))
        line.up_bid.append(up_bid)
        line.up_ask.append(up_ask)
        line.down_bid.append(down_bid)
        line.down_ask.append(down_ask)
        line.delta.append(delta)
    # our bids' lives on the book, from what the engine journaled
    bids: dict[str, tuple[str, int]] = {}
    resting: dict[str, tuple[str, int, int]] = {}
    for entry in engine.journal:
        if isinstance(entry, OrderIntent):
            request = entry.request
            if request.action == "buy":
                bids[request.client_id] = (request.outcome, request.price)
        elif isinstance(entry, OrderUpdate) and entry.client_id in bids:
            if entry.status == "open" and entry.client_id not in resting:
                outcome, price = bids[entry.client_id]
                resting[entry.client_id] = (outcome, price, entry.t_ns)
            elif entry.status in _CLOSED and entry.client_id in resting:
                outcome, price, since = resting.pop(entry.client_id)
                line.bids.append((outcome, price, seconds(since), seconds(entry.t_ns)))
    for outcome, price, since in resting.values():
        line.bids.append((outcome, price, seconds(since), seconds(last)))
    line.fills = [
        (seconds(f.t_ns), f.outcome, f.side, f.price, f.size, f.maker) for f in engine.fills
    ]
    return line


def _result(
    spec: WindowSpec, window: WindowFrames, settings: Settings, engine: EngineResult
) -> WindowResult:
    fees = WindowSettings(settings, window.header).fees
    rebate_ppm = rebate_rate_ppm(window.header.fee_schedule)
    winner: Outcome | None = engine.winner
    parts = attribute(engine.fills, fees, winner, rebate_ppm)
    pnl = engine.settlement_pnl
    settled = pnl is not None
    total = parts.locked + parts.unpaired + parts.sells + parts.fees
    if pnl is not None and not total == pnl == engine.paper_cash:
        raise AssertionError(
            f"{spec.label}: attribution {total} pico$, engine settlement {pnl} pico$ "
            f"and paper cash {engine.paper_cash} pico$ differ"
        )
    p = engine.position
    return WindowResult(
        spec=spec,
        slug=engine.slug,
        winner=winner,
        settled=settled,
        pnl=pnl or 0,
        locked=parts.locked,
        unpaired=parts.unpaired,
        sells=parts.sells,
        fees=parts.fees,
        rebates=parts.rebates,
        qty_up=p.qty_up,
        qty_down=p.qty_down,
        hedged=min(p.qty_up, p.qty_down),
        delta=p.qty_up - p.qty_down,
        pair_cost=p.pair_cost,
        fills=len(engine.fills),
        maker_fills=parts.maker_fills,
        taker_fills=parts.taker_fills,
        volume=parts.volume,
        volume_notional=parts.volume_notional,
        max_unhedged=parts.max_unhedged,
        max_unhedged_cost=parts.max_unhedged_cost,
        orders_placed=engine.orders_placed,
        orders_rejected=engine.orders_rejected,
        rule_breaches=engine.rule_breaches,
        halted=engine.halted,
        fair=engine.fair,
    )
