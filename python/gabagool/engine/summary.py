"""Per-window results and totals: what `gabagool run` prints and writes with --summary-json."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import msgspec

from gabagool.attribution import Attribution
from gabagool.engine.core.snapshot import WindowSnapshot
from gabagool.types import decimal, format_picos, shares

__all__ = ["PnlSplit", "Summary", "Totals", "WindowResult", "decimal", "shares", "summarize"]


class PnlSplit(msgspec.Struct, kw_only=True):
    """Where the money went, dollars: the settlement PnL is locked + unpaired + sells + fees
    (fees negative); rebates are the exchange's estimated share back, not in the PnL."""

    locked: str  # the paired shares: $1 a pair less what they cost
    unpaired: str | None  # the excess shares at settlement; None before a winner is known
    sells: str
    fees: str
    rebates_estimated: str


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
    # the underlying, at the window's last snapshot (None: no reference feed or price)
    fair_up: str | None = None  # dollars
    fair_down: str | None = None
    fair_age: str | None = None  # seconds since the reference price's last update
    fair_stale: bool = False
    reference_open: str | None = None  # dollars: the price to beat
    reference_ticks: int = 0
    gate_blocks: int = 0
    stale_episodes: int = 0
    reference_winner: str | None = None  # TWAP at the end vs the open, ties Up
    resolution_disagrees: bool = False
    pnl_split: PnlSplit | None = None
    taker_fills: int = 0
    volume: str = "0"  # shares bought and sold
    largest_unhedged: str = "0"  # shares: the largest |delta| reached
    largest_unhedged_cost: str = "0"  # dollars paid for unpaired shares, the most at once


class Totals(msgspec.Struct, kw_only=True):
    windows: int
    settled: int
    fills: int
    fees: str
    settlement_pnl: str
    locked_profit: str
    with_fair_value: int = 0  # windows that had a fair value
    resolution_disagreements: int = 0  # our winner against the exchange's
    pnl_split: PnlSplit | None = None  # of the settled windows


class Summary(msgspec.Struct, kw_only=True):
    windows: list[WindowResult]
    totals: Totals
    failure: str = ""  # why the run could not do its job; "" when it could


def window_result(snap: WindowSnapshot) -> WindowResult:
    settled = snap.settlement_pnl is not None
    result = WindowResult(
        asset=snap.asset,
        slug=snap.slug,
        market_id=snap.market_id,
        start=snap.start,
        end=snap.end,
        status="settled" if settled else "unsettled",
        mode="maker" if snap.maker else "taker",
        fills=snap.fills,
        maker_fills=snap.maker_fills,
        qty_up=shares(snap.qty_up),
        qty_down=shares(snap.qty_down),
        avg_up=decimal(snap.avg("up")),
        avg_down=decimal(snap.avg("down")),
        pair_cost=decimal(snap.pair_cost),
        delta=shares(snap.delta),
        locked_profit=decimal(snap.locked_profit) or "0",
        fees=decimal(Fraction(snap.fees_paid, 1_000_000)) or "0",
        winner=snap.winner,
        settlement_pnl=(
            format_picos(snap.settlement_pnl) if snap.settlement_pnl is not None else None
        ),
        mark_pnl=format_picos(snap.mark_at_bids),
        rule_breaches=snap.rule_breaches,
        orders_placed=snap.orders_placed,
        orders_rejected=snap.orders_rejected,
        halted=snap.halt_reason,
        fair_up=_micro_dollars(snap.fair_up),
        fair_down=_micro_dollars(1_000_000 - snap.fair_up if snap.fair_up is not None else None),
        fair_age=(
            decimal(Fraction(snap.fair_age_ms, 1000), 3) if snap.fair_age_ms is not None else None
        ),
        fair_stale=snap.fair_stale,
        reference_open=(
            decimal(Fraction(snap.reference_open, 10**18), 8)
            if snap.reference_open is not None
            else None
        ),
        reference_ticks=snap.reference_ticks,
        gate_blocks=snap.gate_blocks,
        stale_episodes=snap.stale_episodes,
        reference_winner=snap.ours_winner,
        resolution_disagrees=snap.resolution_disagrees,
    )
    parts = snap.attribution
    if parts is not None:
        result.pnl_split = pnl_split([parts], settled=settled)
        result.taker_fills = parts.taker_fills
        result.volume = shares(parts.volume)
        result.largest_unhedged = shares(parts.max_unhedged)
        result.largest_unhedged_cost = format_picos(parts.max_unhedged_cost)
    return result


def pnl_split(parts: Sequence[Attribution], *, settled: bool) -> PnlSplit:
    """The parts summed; `settled` False: the excess shares' value is not known yet."""
    return PnlSplit(
        locked=format_picos(sum(p.locked for p in parts)),
        unpaired=format_picos(sum(p.unpaired for p in parts)) if settled else None,
        sells=format_picos(sum(p.sells for p in parts)),
        fees=format_picos(sum(p.fees for p in parts)),
        rebates_estimated=format_picos(sum(p.rebates for p in parts)),
    )


def _micro_dollars(micros: int | None) -> str | None:
    return decimal(Fraction(micros, 1_000_000)) if micros is not None else None


def summarize(snapshots: Sequence[WindowSnapshot], *, failure: str = "") -> Summary:
    """The run's results from each window's last snapshot; `failure` says why the run could
    not do its job (it then exits non-zero, and these are not the market's results)."""
    results = [window_result(s) for s in snapshots]
    settled = [s for s in snapshots if s.settlement_pnl is not None]
    return Summary(
        windows=results,
        totals=Totals(
            windows=len(results),
            settled=len(settled),
            fills=sum(r.fills for r in results),
            fees=decimal(Fraction(sum(s.fees_paid for s in snapshots), 1_000_000)) or "0",
            settlement_pnl=format_picos(sum(s.settlement_pnl or 0 for s in settled)),
            locked_profit=decimal(sum((s.locked_profit for s in snapshots), Fraction(0))) or "0",
            with_fair_value=sum(1 for s in snapshots if s.fair_up is not None),
            resolution_disagreements=sum(1 for s in snapshots if s.resolution_disagrees),
            pnl_split=pnl_split(
                [s.attribution for s in settled if s.attribution is not None], settled=True
            ),
        ),
        failure=failure,
    )


def write_summary_json(path: str | Path, summary: Summary) -> None:
    Path(path).expanduser().write_bytes(msgspec.json.format(msgspec.json.encode(summary)) + b"\n")
