"""Per-window results and totals: what `gabagool run` prints and writes with --summary-json."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from gabagool.engine.events import format_picos

if TYPE_CHECKING:
    from gabagool.engine.window import Window


class WindowResult(msgspec.Struct, kw_only=True):
    asset: str
    slug: str
    market_id: str
    start: int
    end: int
    status: str  # settled | unsettled (stopped before the end, or no winner known)
    mode: str
    fills: int
    maker_fills: int
    qty_up: str  # shares
    qty_down: str
    avg_up: str | None  # dollars a share, fees included
    avg_down: str | None
    pair_cost: str | None
    delta: str
    locked_profit: str
    fees: str  # dollars
    winner: str | None
    settlement_pnl: str | None  # dollars
    mark_pnl: str
    rule_breaches: int
    orders_placed: int
    orders_rejected: int
    halted: str


class Totals(msgspec.Struct, kw_only=True):
    windows: int
    settled: int
    fills: int
    fees: str
    settlement_pnl: str
    locked_profit: str


class Summary(msgspec.Struct, kw_only=True):
    windows: list[WindowResult]
    totals: Totals


def decimal(value: Fraction | None, places: int = 6) -> str | None:
    """An exact fraction as a decimal string, truncated toward zero to `places`."""
    if value is None:
        return None
    scaled = abs(value.numerator) * 10**places // value.denominator
    sign = "-" if value < 0 and scaled else ""
    whole, frac = divmod(scaled, 10**places)
    return f"{sign}{whole}.{frac:0{places}d}"


def shares(micros: int) -> str:
    return decimal(Fraction(micros, 1_000_000)) or "0"


def window_result(window: Window) -> WindowResult:
    p = window.position
    stats = window.orders.stats
    settled = window.settlement_pnl is not None
    return WindowResult(
        asset=window.asset,
        slug=window.slug,
        market_id=window.market_id,
        start=window.header.start,
        end=window.header.end,
        status="settled" if settled else "unsettled",
        mode="maker" if window.maker else "taker",
        fills=len(stats.fills),
        maker_fills=sum(1 for r in stats.fills if r.fill.maker),
        qty_up=shares(p.qty_up),
        qty_down=shares(p.qty_down),
        avg_up=decimal(p.avg("up")),
        avg_down=decimal(p.avg("down")),
        pair_cost=decimal(p.pair_cost),
        delta=shares(p.delta),
        locked_profit=decimal(p.locked_profit) or "0",
        fees=decimal(Fraction(p.fees_paid, 1_000_000)) or "0",
        winner=window.winner,
        settlement_pnl=(
            format_picos(window.settlement_pnl) if window.settlement_pnl is not None else None
        ),
        mark_pnl=format_picos(p.mark_pnl(window.market)),
        rule_breaches=stats.breaches,
        orders_placed=stats.placed,
        orders_rejected=stats.rejected,
        halted=window.halt_reason,
    )


def summarize(windows: list[Window]) -> Summary:
    results = [window_result(w) for w in windows]
    settled = [w for w in windows if w.settlement_pnl is not None]
    return Summary(
        windows=results,
        totals=Totals(
            windows=len(results),
            settled=len(settled),
            fills=sum(r.fills for r in results),
            fees=decimal(Fraction(sum(w.position.fees_paid for w in windows), 1_000_000)) or "0",
            settlement_pnl=format_picos(sum(w.settlement_pnl or 0 for w in settled)),
            locked_profit=decimal(sum((w.position.locked_profit for w in windows), Fraction(0)))
            or "0",
        ),
    )


def write_summary_json(path: str | Path, summary: Summary) -> None:
    Path(path).expanduser().write_bytes(msgspec.json.format(msgspec.json.encode(summary)) + b"\n")
