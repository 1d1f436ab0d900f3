"""Core benchmarks: book updates, snapshots and the scan, in Rust, from Python, and against
the plain-Python (Decimal + dict) implementation, all in the same run."""

from __future__ import annotations

import json
import random
import subprocess
import timeit
from decimal import Decimal
from pathlib import Path

from python_baseline import DecimalBook, scan

from gabagool import _core

ROOT = Path(__file__).resolve().parents[1]


def rust_numbers() -> dict[str, float]:
    out = subprocess.run(
        ["cargo", "bench", "--quiet", "--bench", "core"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def per_call_ns(stmt, number: int) -> float:
    return min(timeit.repeat(stmt, number=number, repeat=5)) / number * 1e9


def row(what: str, value: float, unit: str, target: str, ok: bool) -> dict:
    return {"bench": "core", "what": what, "value": value, "unit": unit, "target": target, "ok": ok}


def snapshot_levels(rng: random.Random) -> tuple[list, list]:
    bids = [(f"0.{49 - i:02d}", f"{rng.randint(1, 5000)}.{rng.randint(0, 99):02d}") for i in range(25)]
    asks = [(f"0.{51 + i:02d}", f"{rng.randint(1, 5000)}.{rng.randint(0, 99):02d}") for i in range(25)]
    return bids, asks


def run() -> list[dict]:
    rng = random.Random(7)
    rust = rust_numbers()
    bids_text, asks_text = snapshot_levels(rng)
    bids = [(_core.parse_price(p), _core.parse_size(s)) for p, s in bids_text]
    asks = [(_core.parse_price(p), _core.parse_size(s)) for p, s in asks_text]

    updates_text = []
    for _ in range(4096):
        bid = rng.random() < 0.5
        offset = rng.randrange(10)
        price = f"0.{(49 - offset) if bid else (51 + offset):02d}"
        size = "0" if rng.random() < 0.2 else f"{rng.randint(1, 1000)}.{rng.randint(0, 99):02d}"
        updates_text.append(("bid" if bid else "ask", price, size))
    updates = [(s, _core.parse_price(p), _core.parse_size(z)) for s, p, z in updates_text]

    book = _core.Book()
    book.apply_snapshot(bids, asks)

    def py_updates() -> None:
        set_level = book.set_level
        for side, price, size in updates:
            set_level(side, price, size)

    py_update_ns = per_call_ns(py_updates, 20) / len(updates)
    py_snapshot_ns = per_call_ns(lambda: book.apply_snapshot(bids, asks), 2000)

    baseline = DecimalBook()
    baseline.apply_snapshot(bids_text, asks_text)

    def decimal_updates() -> None:
        set_level, best_bid, best_ask = baseline.set_level, baseline.best_bid, baseline.best_ask
        for side, price, size in updates_text:
            set_level(side, price, size)
            best_bid()
            best_ask()

    decimal_update_ns = per_call_ns(decimal_updates, 5) / len(updates_text)
    decimal_snapshot_ns = per_call_ns(lambda: baseline.apply_snapshot(bids_text, asks_text), 500)

    rows = [
        row("level update, Rust", rust["level_update_ns"], "ns", "<= 30", rust["level_update_ns"] <= 30),
        row("level update, BTreeMap book (the tree alternative), Rust",
            rust["btree_level_update_ns"], "ns", "> ladder", rust["btree_level_update_ns"] > rust["level_update_ns"]),
        row("level update, from Python", py_update_ns, "ns", "", True),
        row("level update, Decimal+dict", decimal_update_ns, "ns", "", True),
        row("level update speed-up vs Decimal+dict (Python call)", decimal_update_ns / py_update_ns,
            "x", ">= 30", decimal_update_ns / py_update_ns >= 30),
        row("snapshot of 50 levels, Rust", rust["snapshot_50_levels_ns"], "ns", "", True),
        row("snapshot of 50 levels, from Python", py_snapshot_ns, "ns", "", True),
        row("snapshot of 50 levels, Decimal+dict", decimal_snapshot_ns, "ns", "", True),
        row("walk asks for 300 shares, Rust", rust["walk_asks_ns"], "ns", "", True),
    ]
    rows.extend(scan_rows(rust, rng, decimal_update_ns))
    return rows


def scan_rows(rust: dict[str, float], rng: random.Random, decimal_update_ns: float) -> list[dict]:
    """Filled in once the scan exists in the core."""
    return []


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    for r in run():
        print(r)
