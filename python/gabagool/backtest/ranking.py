"""The comparison table of a backtest's runs, best first: one definition of its columns for
the terminal and for the report."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

Totals = Mapping[str, Any]


class Column(NamedTuple):
    header: str
    cell: Callable[[str, Totals], object]
    in_terminal: bool = True


COLUMNS: tuple[Column, ...] = (
    Column("run", lambda label, t: label),
    Column("mean $/window", lambda label, t: t["mean_pnl"]),
    Column("95% CI (bootstrap)", lambda label, t: "[{}, {}]".format(*t["mean_pnl_ci95"])),
    Column("total $", lambda label, t: t["pnl"]),
    Column("locked", lambda label, t: t["locked"]),
    Column("unpaired", lambda label, t: t["unpaired"]),
    Column("sells", lambda label, t: t["sells"]),
    Column("fees", lambda label, t: t["fees"]),
    Column("rebates (est.)", lambda label, t: t["rebates_estimated"], in_terminal=False),
    Column("pair cost (median)", lambda label, t: t["median_pair_cost"] or "-"),
    Column("pair cost (max)", lambda label, t: t["max_pair_cost"] or "-", in_terminal=False),
    Column("balanced windows", lambda label, t: f"{t['balanced_windows']}/{t['windows']}"),
    Column("worst window $", lambda label, t: t["worst_window"]),
    Column("largest unhedged $", lambda label, t: t["max_unhedged_usd"], in_terminal=False),
    Column("fills", lambda label, t: str(t["fills"])),
    Column(
        "maker/taker", lambda label, t: f"{t['maker_fills']}/{t['taker_fills']}", in_terminal=False
    ),
)


def ranking_table(
    document: Mapping[str, Any], *, terminal: bool
) -> tuple[list[str], list[list[object]]]:
    """Headers and rows of the runs in the document's ranking order."""
    columns = [c for c in COLUMNS if c.in_terminal or not terminal]
    by_label = {r["label"]: r for r in document["runs"]}
    rows = [
        [c.cell(label, by_label[label]["totals"]) for c in columns]
        for label in document["ranking"]
    ]
    return [c.header for c in columns], rows
