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

from gabagool.engine.core.snapshot import WindowSnapshot
from gabagool.engine.summary import Summary
from gabagool.types import NS, decimal, dollars, shares

if TYPE_CHECKING:
    from gabagool.engine.supervisor import Engine


def _cents(price: int | None) -> str:
    if price is None:
        return "-"
    whole, rest = divmod(price, 10_000)
    return f"{whole}" if not rest else f"{whole}.{rest:04d}".rstrip("0")


def _book(best: tuple[int | None, int | None]) -> str:
    return f"{_cents(best[0])}/{_cents(best[1])}"


def _fair(snap: WindowSnapshot) -> str:
    """Up's fair value in cents beside its book; `~` marks a stale reference."""
    if snap.fair_up is None:
        return "-"
    return f"{'~' if snap.fair_stale else ''}{_cents(snap.fair_up)}"


def _money(value: Fraction | None, places: int = 2) -> str:
    return "-" if value is None else (decimal(value, places) or "-")


def _qty(micros: int) -> str:
    return str(micros // 1_000_000) if micros % 1_000_000 == 0 else shares(micros)


def _state(snap: WindowSnapshot, portfolio_halted: bool) -> str:
    """A few words: the full reasons are in the log."""
    if portfolio_halted:
        return "halted"
    if snap.halt_reason:
        return snap.halt_reason.split(":")[0][:14]
    if snap.blocked:
        return snap.blocked.split(" ")[0]
    return f"{snap.resting} bids"


def _label(snap: WindowSnapshot) -> str:
    start = snap.start
    return f"{snap.asset} {start // 3600 % 24:02d}:{start // 60 % 60:02d}"


def render(engine: Engine) -> Group:
    """Fits 80 columns: books in cents (bid/ask), quantities in shares, money in dollars."""
    table = Table(title="gabagool: paper trading on simulated markets", box=box.SIMPLE_HEAD)
    for column in ("window", "T-", "up ¢", "fair", "down ¢", "up/down", "pair", "delta", "state"):
        table.add_column(column, no_wrap=True, overflow="ellipsis", min_width=len(column))
    portfolio = engine.portfolio
    open_now = list(portfolio.snapshots.values())
    for snap in open_now:
        seconds = max(0, (snap.end * NS - snap.t_ns) // NS)
        table.add_row(
            _label(snap),
            f"{seconds // 60}:{seconds % 60:02d}",
            _book(snap.best_up),
            _fair(snap),
            _book(snap.best_down),
            f"{_qty(snap.qty_up)}/{_qty(snap.qty_down)}",
            _money(snap.pair_cost, 3),
            _qty(snap.delta),
            _state(snap, portfolio.halted),
        )
    settled = [s for s in engine.results() if s.settlement_pnl is not None]
    total = sum(s.settlement_pnl or 0 for s in settled)
    locked = sum((s.locked_profit for s in open_now), Fraction(0))
    footer = Text(
        f"locked: ${_money(locked)}  settled: {len(settled)}  PnL: {dollars(total)}  "
        f"halt: {portfolio.halt_reason or 'no'}  Ctrl-C: stop"
    )
    return Group(table, footer)


def summary_table(summary: Summary) -> Table:
    table = Table(title="summary (dollars, shares)", box=box.SIMPLE_HEAD, pad_edge=False)
    columns = (
        "window",
        "status",
        "fills",
        "up/down",
        "pair",
        "delta",
        "fair",
        "locked",
        "unpaired",
        "fees",
        "won",
        "PnL",
    )
    for column in columns:
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
            _short(r.fair_up, 3),
            _short(r.pnl_split.locked if r.pnl_split else None, 2),
            _short(r.pnl_split.unpaired if r.pnl_split else None, 2),
            _short(r.fees, 2),
            (r.winner or "-") + ("!" if r.resolution_disagrees else ""),
            _short(r.settlement_pnl, 2) if r.settlement_pnl else f"({_short(r.mark_pnl, 2)})",
        )
    t = summary.totals
    caption = [
        "PnL = locked (pairs) + unpaired (excess at settlement) + sells - fees; "
        "the totals' locked and unpaired: settled windows"
    ]
    if t.with_fair_value:
        caption.append(
            f"fair: Up's fair value at the end ($); reference winner disagreed with the "
            f"exchange's (!) in {t.resolution_disagreements} of {t.with_fair_value} window(s)"
        )
    table.caption = "\n".join(caption)
    table.add_row(
        "total",
        f"{t.settled}/{t.windows}",
        str(t.fills),
        "",
        "",
        "",
        "",
        _short(t.pnl_split.locked if t.pnl_split else None, 2),
        _short(t.pnl_split.unpaired if t.pnl_split else None, 2),
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
