"""The live terminal view: each open window's books, position, pair cost, delta and profit."""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING

import trio
from rich import box
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from gabagool.engine.events import format_picos
from gabagool.engine.summary import Summary, decimal, shares
from gabagool.venues.base import Outcome

if TYPE_CHECKING:
    from gabagool.engine.supervisor import Engine
    from gabagool.engine.window import Window


def _cents(level: tuple[int, int] | None) -> str:
    if level is None:
        return "-"
    whole, rest = divmod(level[0], 10_000)
    return f"{whole}" if not rest else f"{whole}.{rest:04d}".rstrip("0")


def _book(window: Window, outcome: Outcome) -> str:
    m = window.market
    return f"{_cents(m.best_bid(outcome))}/{_cents(m.best_ask(outcome))}"


def _money(value: Fraction | None, places: int = 2) -> str:
    return "-" if value is None else (decimal(value, places) or "-")


def _qty(micros: int) -> str:
    return str(micros // 1_000_000) if micros % 1_000_000 == 0 else shares(micros)


def _state(window: Window) -> str:
    """A few words: the full reasons are in the log."""
    if window.portfolio.halted:
        return "halted"
    if window.halt_reason:
        return window.halt_reason.split(":")[0][:14]
    reason = window.blocked()
    if reason:
        return reason.split(" ")[0]
    return f"{len(window.orders.resting())} bids"


def _label(window: Window) -> str:
    start = window.header.start
    return f"{window.asset} {start // 3600 % 24:02d}:{start // 60 % 60:02d}"


def render(engine: Engine) -> Group:
    """Fits 80 columns: books in cents (bid/ask), quantities in shares, money in dollars."""
    table = Table(title="gabagool: paper trading on simulated markets", box=box.SIMPLE_HEAD)
    for column in ("window", "T-", "up ¢", "down ¢", "up/down", "pair", "delta", "state"):
        table.add_column(column, no_wrap=True, overflow="ellipsis", min_width=len(column))
    for window in engine.open_windows():
        p = window.position
        seconds = max(0, window.ms_to_end() // 1000)
        table.add_row(
            _label(window),
            f"{seconds // 60}:{seconds % 60:02d}",
            _book(window, "up"),
            _book(window, "down"),
            f"{_qty(p.qty_up)}/{_qty(p.qty_down)}",
            _money(p.pair_cost, 3),
            _qty(p.delta),
            _state(window),
        )
    settled = [w for w in engine.windows if w.settlement_pnl is not None]
    total = sum(w.settlement_pnl or 0 for w in settled)
    locked = sum((w.position.locked_profit for w in engine.open_windows()), Fraction(0))
    footer = Text(
        f"locked: {_money(locked)} $  settled: {len(settled)}  PnL: {format_picos(total, 2)} $  "
        f"halt: {engine.portfolio.halt_reason or 'no'}  Ctrl-C: stop"
    )
    return Group(table, footer)


def summary_table(summary: Summary) -> Table:
    table = Table(title="summary (dollars, shares)", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("window", "status", "fills", "up/down", "pair", "delta", "fees", "won", "PnL"):
        table.add_column(column, no_wrap=True, min_width=len(column))
    for r in summary.windows:
        label = f"{r.asset} {r.start // 3600 % 24:02d}:{r.start // 60 % 60:02d}"
        table.add_row(
            label,
            "settled" if r.status == "settled" else "open",
            str(r.fills),
            f"{_short(r.qty_up)}/{_short(r.qty_down)}",
            _short(r.pair_cost, 3),
            _short(r.delta),
            _short(r.fees, 2),
            r.winner or "-",
            _short(r.settlement_pnl, 2) if r.settlement_pnl else f"({_short(r.mark_pnl, 2)})",
        )
    t = summary.totals
    table.add_row(
        "total",
        f"{t.settled}/{t.windows}",
        str(t.fills),
        "",
        "",
        "",
        _short(t.fees, 2),
        "",
        _short(t.settlement_pnl, 2),
    )
    return table


def _short(text: str | None, places: int = 0) -> str:
    """A decimal string cut to `places` decimals (display only; the JSON keeps them all)."""
    if text is None:
        return "-"
    whole, _, frac = text.partition(".")
    return whole if places == 0 else f"{whole}.{(frac + '0' * places)[:places]}"


async def run_view(engine: Engine, console: Console, *, refresh_seconds: float) -> None:
    """Redraw every `refresh_seconds` of Trio time until cancelled."""
    with Live(render(engine), console=console, auto_refresh=False, transient=False) as live:
        while True:
            await trio.sleep(refresh_seconds)
            live.update(render(engine), refresh=True)
