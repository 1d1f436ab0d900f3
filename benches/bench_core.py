"""Core benchmarks: book updates, snapshots and the scan, in Rust, from Python, and against
the plain-Python (Decimal + dict) implementation, all in the same run."""

from __future__ import annotations

import json
import random
import subprocess
import timeit
from decimal import Decimal
from pathlib import Path

from gabagool import _core
from python_baseline import DecimalBook, scan, scan_maker

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
    def size() -> str:
        return f"{rng.randint(1, 5000)}.{rng.randint(0, 99):02d}"

    bids = [(f"0.{49 - i:02d}", size()) for i in range(25)]
    asks = [(f"0.{51 + i:02d}", size()) for i in range(25)]
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
        row("level update, Rust", rust["level_update_ns"], "ns", "<= 30",
            rust["level_update_ns"] <= 30),
        row("level update, BTreeMap book (the tree alternative), Rust",
            rust["btree_level_update_ns"], "ns", "> ladder",
            rust["btree_level_update_ns"] > rust["level_update_ns"]),
        row("level update, from Python", py_update_ns, "ns", "", True),
        row("level update, Decimal+dict", decimal_update_ns, "ns", "", True),
        row("level update speed-up vs Decimal+dict (Python call)", decimal_update_ns / py_update_ns,
            "x", ">= 30", decimal_update_ns / py_update_ns >= 30),
        row("snapshot of 50 levels, Rust", rust["snapshot_50_levels_ns"], "ns", "", True),
        row("snapshot of 50 levels, from Python", py_snapshot_ns, "ns", "", True),
        row("snapshot of 50 levels, Decimal+dict", decimal_snapshot_ns, "ns", "", True),
        row("walk asks for 300 shares, Rust", rust["walk_asks_ns"], "ns", "", True),
    ]
    rows.extend(scan_rows(rust, bids, asks, updates, bids_text, asks_text, updates_text))
    rows.extend(fair_rows())
    return rows


def fair_rows() -> list[dict]:
    """Fair value of Up from Python: the call the engine makes on every book or reference
    move (anchored on the mid, 7 min left, a 3.75 bp move since the book last moved)."""
    open_, at_book = _core.parse_reference_price("100000"), _core.parse_reference_price("100012")
    spot = _core.parse_reference_price("100037.5")
    anchored, model = _core.fair_anchored, _core.fair_model
    anchored_ns = per_call_ns(lambda: anchored(430_000, at_book, spot, open_, 50_000, 421_000),
                              100_000)
    model_ns = per_call_ns(lambda: model(spot, open_, 50_000, 421_000), 100_000)
    return [
        row("fair value (anchored on the mid), from Python", anchored_ns, "ns", "<= 1000",
            anchored_ns <= 1000),
        row("fair value (model only), from Python", model_ns, "ns", "", True),
    ]


def mirrored_market(bids: list, asks: list) -> _core.Market:
    market = _core.Market("1", "2")
    market.apply_snapshot("up", bids, asks)
    market.apply_snapshot(
        "down", [(1_000_000 - p, z) for p, z in asks], [(1_000_000 - p, z) for p, z in bids]
    )
    return market


def scan_rows(rust: dict[str, float], bids: list, asks: list, updates: list,
              bids_text: list, asks_text: list, updates_text: list) -> list[dict]:
    market = mirrored_market(bids, asks)
    position = _core.Position()
    position.buy("up", 400_000, 20_000_000, 0)
    fees = _core.FeeSchedule(72_000, 1, True)
    maker = _core.StrategyParams()
    taker = _core.StrategyParams(mode="taker")
    accumulate, set_level = _core.accumulate, market.set_level

    py_maker_ns = per_call_ns(lambda: accumulate(market, position, maker, fees, 600_000), 20_000)
    py_taker_ns = per_call_ns(lambda: accumulate(market, position, taker, fees, 600_000), 20_000)

    def update_and_scan(params: _core.StrategyParams) -> float:
        def body() -> None:
            for side, price, size in updates:
                set_level("up", side, price, size)
                accumulate(market, position, params, fees, 600_000)

        return per_call_ns(body, 5) / len(updates)

    py_update_scan_ns = update_and_scan(maker)
    py_update_taker_scan_ns = update_and_scan(taker)

    up, down = DecimalBook(), DecimalBook()
    up.apply_snapshot(bids_text, asks_text)
    down.apply_snapshot(
        [(str(1 - Decimal(p)), z) for p, z in asks_text],
        [(str(1 - Decimal(p)), z) for p, z in bids_text],
    )
    qty = {"up": Decimal(20), "down": Decimal(0)}
    cost = {"up": Decimal(8), "down": Decimal(0)}
    common = (Decimal("0.98"), Decimal("0.45"), Decimal(10), Decimal(50))

    def decimal_update_and_scan(scanner, last) -> float:
        def body() -> None:
            for side, price, size in updates_text:
                up.set_level(side, price, size)
                scanner(up, down, qty, cost, *common, last)

        return per_call_ns(body, 2) / len(updates_text)

    decimal_update_scan_ns = decimal_update_and_scan(scan_maker, Decimal("0.01"))
    decimal_update_taker_scan_ns = decimal_update_and_scan(scan, Decimal("0.072"))
    speedup = decimal_update_scan_ns / py_update_scan_ns
    taker_speedup = decimal_update_taker_scan_ns / py_update_taker_scan_ns
    return [
        row("scan (accumulate), maker, Rust", rust["maker_scan_ns"], "ns", "<= 300",
            rust["maker_scan_ns"] <= 300),
        row("scan (accumulate), taker, Rust", rust["taker_scan_ns"], "ns", "<= 300",
            rust["taker_scan_ns"] <= 300),
        row("equalize, Rust", rust["equalize_ns"], "ns", "", True),
        row("level update + scan, Rust", rust["update_and_scan_ns"], "ns", "", True),
        row("scan, maker, from Python", py_maker_ns, "ns", "", True),
        row("scan, taker, from Python", py_taker_ns, "ns", "", True),
        row("level update + scan, maker, from Python", py_update_scan_ns, "ns", "<= 1500",
            py_update_scan_ns <= 1500),
        row("level update + scan, maker, Decimal+dict", decimal_update_scan_ns, "ns", "", True),
        row("update + scan speed-up vs Decimal+dict, maker", speedup, "x", ">= 30",
            speedup >= 30),
        row("level update + scan, taker, from Python", py_update_taker_scan_ns, "ns", "<= 1500",
            py_update_taker_scan_ns <= 1500),
        row("level update + scan, taker, Decimal+dict", decimal_update_taker_scan_ns, "ns", "",
            True),
        row("update + scan speed-up vs Decimal+dict, taker", taker_speedup, "x", ">= 30",
            taker_speedup >= 30),
    ]


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    for r in run():
        print(r)
