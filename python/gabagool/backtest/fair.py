"""The underlying in a backtest, as people read it: per window, S_open and how it was known,
Up's fair value beside the book's mid at T-600/-300/-120/-30 s, and what the fair-value gate
did; per run, the log loss of the fair value and of the mid against the winners.

Everything here reads what the engine's core held (`engine.backtest_loop.FairRecord`), never
the simulator. Log losses are a report's numbers: floats, shown with four decimals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any, cast

import msgspec

from gabagool.engine.backtest_loop import FAIR_HORIZONS_S, FairRecord
from gabagool.fair_value import log_loss
from gabagool.types import MICROS, Outcome, decimal

ATTOS = 10**18  # a reference price's unit: atto-dollars (`gabagool.core`)
PER_WINDOW_LINES = 20  # the terminal lists windows one a line up to this many


class FairTotals(msgspec.Struct, kw_only=True):
    """One run's fair value over its windows (log losses: the settled windows with both a
    fair value and a mid at that horizon)."""

    windows: int  # windows with a fair value at some horizon
    log_loss: dict[str, dict[str, str | int | None]]  # "600" -> fair, mid, windows
    gate_dropped: int
    gate_lowered: int
    stale_episodes: int
    resolution_disagreements: int


def fair_json(fair: FairRecord | None) -> dict[str, object] | None:
    """A window's `FairRecord` with decimal strings: dollars, Up's price."""
    if fair is None:
        return None
    return {
        "open": decimal(Fraction(fair.open, ATTOS), 8) if fair.open is not None else None,
        "open_how": fair.open_how,
        "reference_ticks": fair.ticks,
        "at": {
            str(s.seconds_left): {
                "fair_up": _price(s.fair_up),
                "mid": _price(s.mid),
                "stale": s.stale,
            }
            for s in fair.samples
        },
        "gate_dropped": fair.gate_dropped,
        "gate_lowered": fair.gate_lowered,
        "stale_episodes": fair.stale_episodes,
        "reference_winner": fair.reference_winner,
        "resolution_disagrees": fair.resolution_disagrees,
    }


def fair_totals(windows: Sequence[tuple[FairRecord | None, str | None]]) -> FairTotals | None:
    """(record, winner) of each window of a run; None when no window had a reference feed."""
    records = [(f, w) for f, w in windows if f is not None]
    if not records:
        return None
    losses: dict[str, dict[str, str | int | None]] = {}
    for horizon in FAIR_HORIZONS_S:
        fair: list[tuple[int, Outcome]] = []
        mid: list[tuple[int, Outcome]] = []
        for record, winner in records:
            sample = next((s for s in record.samples if s.seconds_left == horizon), None)
            if winner not in ("up", "down") or sample is None:
                continue
            if sample.fair_up is None or sample.mid is None:
                continue
            won = cast(Outcome, winner)
            fair.append((sample.fair_up, won))
            mid.append((sample.mid, won))
        losses[str(horizon)] = {
            "fair": _loss(log_loss(fair)),
            "mid": _loss(log_loss(mid)),
            "windows": len(fair),
        }
    return FairTotals(
        windows=sum(1 for f, _ in records if any(s.fair_up is not None for s in f.samples)),
        log_loss=losses,
        gate_dropped=sum(f.gate_dropped for f, _ in records),
        gate_lowered=sum(f.gate_lowered for f, _ in records),
        stale_episodes=sum(f.stale_episodes for f, _ in records),
        resolution_disagreements=sum(1 for f, _ in records if f.resolution_disagrees),
    )


def usd_price(text: str | None) -> str:
    """A reference price (a decimal string of dollars) for people: `$97,123.45`; cents
    under $10 say too little, so four places there (`$2.1234`)."""
    if text is None:
        return "-"
    value = Fraction(text)
    places = 2 if abs(value) >= 10 else 4
    whole, _, frac = (decimal(value, places) or "0").partition(".")
    return f"${int(whole):,}.{frac}"


def up_price(text: str | None) -> str:
    """Up's price (a decimal string of dollars) to three places: `0.620`; `-` unknown."""
    if text is None:
        return "-"
    return decimal(Fraction(text), 3) or "-"


def window_line(window: Mapping[str, Any]) -> str:
    """One window of the backtest's JSON: `seed 1 btc #0: open $97,123.45 (price to beat);
    fair up vs mid: T-600 s 0.620 vs 0.600, ...; won up (reference up); gate dropped 0,
    lowered 3`."""
    fair = window.get("fair")
    if fair is None:
        return f"{window['window']}: no reference feed"
    at = ", ".join(
        f"T-{h} s {up_price(s['fair_up'])}{'~' if s['stale'] else ''} vs {up_price(s['mid'])}"
        for h, s in fair["at"].items()
    )
    how = f" ({fair['open_how']})" if fair["open_how"] else ""
    reference = fair["reference_winner"] or "-"
    flag = ", disagrees" if fair["resolution_disagrees"] else ""
    return (
        f"{window['window']}: open {usd_price(fair['open'])}{how}; fair up vs mid: {at or '-'}; "
        f"won {window['winner'] or '-'} (reference {reference}{flag}); "
        f"gate dropped {fair['gate_dropped']}, lowered {fair['gate_lowered']}"
    )


def run_lines(run: Mapping[str, Any]) -> list[str]:
    """A run's fair value for the terminal: the totals, and each window when they are few."""
    totals = run["totals"].get("fair")
    if totals is None:
        return [f"fair value ('{run['label']}'): no reference feed"]
    losses = "; ".join(
        f"T-{h} s {v['fair'] or '-'} vs {v['mid'] or '-'}" for h, v in totals["log_loss"].items()
    )
    counted = max((v["windows"] for v in totals["log_loss"].values()), default=0)
    lines = [
        f"fair value ('{run['label']}'): known in {totals['windows']} of "
        f"{run['totals']['windows']} windows; log loss against the winner, fair vs mid "
        f"({counted} windows): {losses}; the gate dropped {totals['gate_dropped']} and "
        f"lowered {totals['gate_lowered']} accumulator buy intents (counted per scan); the "
        f"reference's winner disagreed with the exchange's in "
        f"{totals['resolution_disagreements']}"
    ]
    windows = run["windows"]
    if len(windows) <= PER_WINDOW_LINES:
        lines.extend(f"  {window_line(w)}" for w in windows)
    else:
        lines.append("  (per window: --json, or the --report page; ~ marks a stale value)")
    return lines


def _price(micros: int | None) -> str | None:
    return decimal(Fraction(micros, MICROS)) if micros is not None else None


def _loss(value: float | None) -> str | None:
    return f"{value:.4f}" if value is not None else None
