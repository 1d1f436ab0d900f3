"""gabagool22's real windows (tests/fixtures/gabagool22/, the trader's public activity) as a
reference table: what a real pair accumulator did on real markets.

Per window, from the TRADE rows: fills, shares bought a side, VWAP a side (the record's
`usdcSize`, which holds no fee), pair cost = VWAP Up + VWAP Down, final delta. The record
names no winner; it is inferred from the last fill prices of each side (at the end of a
window the winner trades near $1), and the PnL follows: the winner's shares minus all that
was paid (merges turn pairs into $1 each before the end, which settlement would pay too).
"""

from __future__ import annotations

import csv
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path

import msgspec

from gabagool.backtest.result import decimal

FIXTURES = Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "gabagool22"


class ReferenceWindow(msgspec.Struct, kw_only=True):
    slug: str
    fills: int
    merges: int
    shares_up: str
    shares_down: str
    vwap_up: str | None
    vwap_down: str | None
    pair_cost: str | None
    final_delta: str
    winner_inferred: str | None
    pnl: str | None


def _exact(text: str) -> Fraction:
    try:
        return Fraction(Decimal(text))
    except (InvalidOperation, ValueError):
        raise ValueError(f"not a decimal: {text!r}") from None


def read_window(path: Path) -> ReferenceWindow:
    qty = {"Up": Fraction(0), "Down": Fraction(0)}
    paid = {"Up": Fraction(0), "Down": Fraction(0)}
    last: dict[str, tuple[int, Fraction]] = {}
    fills = merges = 0
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["type"] == "MERGE":
                merges += 1
                continue
            if row["type"] != "TRADE" or row["outcome"] not in qty:
                continue
            sign = 1 if row["side"] == "BUY" else -1
            outcome = row["outcome"]
            qty[outcome] += sign * _exact(row["size"])
            paid[outcome] += sign * _exact(row["usdcSize"])
            fills += 1
            at = int(row["timestamp"])
            if outcome not in last or at >= last[outcome][0]:
                last[outcome] = (at, _exact(row["price"]))
    vwap = {o: paid[o] / qty[o] if qty[o] > 0 else None for o in qty}
    pair = (
        vwap["Up"] + vwap["Down"] if vwap["Up"] is not None and vwap["Down"] is not None else None
    )
    winner = None
    if len(last) == 2 and last["Up"][1] != last["Down"][1]:
        winner = "Up" if last["Up"][1] > last["Down"][1] else "Down"
    pnl = qty[winner] - paid["Up"] - paid["Down"] if winner is not None else None
    return ReferenceWindow(
        slug=path.stem,
        fills=fills,
        merges=merges,
        shares_up=decimal(qty["Up"], 2),
        shares_down=decimal(qty["Down"], 2),
        vwap_up=decimal(vwap["Up"], 4) if vwap["Up"] is not None else None,
        vwap_down=decimal(vwap["Down"], 4) if vwap["Down"] is not None else None,
        pair_cost=decimal(pair, 4) if pair is not None else None,
        final_delta=decimal(qty["Up"] - qty["Down"], 2),
        winner_inferred=winner.lower() if winner else None,
        pnl=decimal(pnl, 2) if pnl is not None else None,
    )


def reference_windows(directory: Path = FIXTURES) -> list[ReferenceWindow]:
    """Every window in `directory`, by slug; empty when the fixtures are not there (an
    installed package without the repository's tests)."""
    if not directory.is_dir():
        return []
    return [read_window(path) for path in sorted(directory.glob("*.csv"))]
