"""The live terminal view: each open window's books, position, pair cost, delta and profit."""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING

import trio
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from gabagool.engine.events import format_picos
from gabagool.engine.summary import Summary, decimal, shares

if TYPE_CHECKING:
    from gabagool.engine.supervisor import Engine
    from gabagool.engine.window import Window


def _price(level: tuple[int, int] | None) -> str:
    return "-" if level is None else f"{level[0] / 1_000_000:.3f}"  # display only


def _money(value: Fraction | None, places: int = 4) -> str:
    return "-" if value is None else (decimal(value, places) or "-")


def _state(window: Window) -> str:
    reason = window.blocked()
    if reason:
        return reason
    return f"{len(window.orders.resting())} resting"


def render(engine: Engine) -> Group:
    table = Table(title="gabagool (paper)", expand=True)
    for column in (
        "window",
        "T-",
        "up bid/ask",
        "down bid/ask",
        "qty up",
        "qty down",
        "pair cost",
        "delta",
        "locked $",
        "fees $",
        "state",
    ):
        table.add_column(column, no_wrap=True)
    for window in engine.open_windows():
        m, p = window.market, window.position
        seconds = max(0, window.ms_to_end() // 1000)
        table.add_row(
            window.slug,
            f"{seconds // 60}:{seconds % 60:02d}",
            f"{_price(m.best_bid('up'))}/{_price(m.best_ask('up'))}",
            f"{_price(m.best_bid('down'))}/{_price(m.best_ask('down'))}",
            shares(p.qty_up),
            shares(p.qty_down),
            _money(p.pair_cost),
            shares(p.delta),
            _money(p.locked_profit),
            _money(Fraction(p.fees_paid, 1_000_000)),
            _state(window),
        )
    settled = [w for w in engine.windows if w.settlement_pnl is not None]
    total = sum(w.settlement_pnl or 0 for w in settled)
    footer = Text(
        f"settled windows: {len(settled)}   settlement PnL: {format_picos(total, 4)} $   "
        f"halt: {engine.portfolio.halt_reason or 'no'}   (Ctrl-C: cancel all and exit)"
    )
    return Group(table, footer)


def summary_table(summary: Summary) -> Table:
    table = Table(title="summary", expand=True)
    for column in (
        "window",
        "status",
        "fills",
        "qty up",
        "qty down",
        "pair cost",
        "delta",
        "fees $",
        "winner",
        "PnL $",
    ):
        table.add_column(column, no_wrap=True)
    for r in summary.windows:
        table.add_row(
            r.slug,
            r.status,
            str(r.fills),
            r.qty_up,
            r.qty_down,
            r.pair_cost or "-",
            r.delta,
            r.fees,
            r.winner or "-",
            r.settlement_pnl or f"({r.mark_pnl})",
        )
    t = summary.totals
    table.add_row(
        "total",
        f"{t.settled}/{t.windows}",
        str(t.fills),
        "",
        "",
        "",
        "",
        t.fees,
        "",
        t.settlement_pnl,
    )
    return table


async def run_view(engine: Engine, console: Console, *, refresh_seconds: float) -> None:
    """Redraw every `refresh_seconds` of Trio time until cancelled."""
    with Live(render(engine), console=console, auto_refresh=False, transient=False) as live:
        while True:
            await trio.sleep(refresh_seconds)
            live.update(render(engine), refresh=True)
