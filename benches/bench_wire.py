"""Market-channel frames: parse + apply + summary, frames per second.

The same simulated recording goes through the Rust core in batch (`cargo bench --bench
wire`), through `Market.apply_frame` one frame per call from Python, through
`Replay.apply_many` from Python, and through two pure-Python baselines: (a) `json` +
`Decimal` + dict books, (b) `msgspec` + an integer price ladder. The Rust bench also runs
on the captured crossing-burst frames (real exchange frame shapes, ~670 bytes each).
"""

# No `from __future__ import annotations`: msgspec reads the Structs' annotations at run
# time, and benches/run.py loads this file without registering it in sys.modules.
import json
import subprocess
import tempfile
import time
from collections import deque
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import msgspec
from gabagool import _core
from gabagool.sim import simulate

ROOT = Path(__file__).resolve().parents[1]
WINDOWS = 6
SEED = 11
SEEN = 1024  # recent event keys kept for dropping duplicates, as in the core


def row(what: str, value: float, unit: str, target: str = "", ok: bool = True) -> dict:
    return {"bench": "wire", "what": what, "value": value, "unit": unit, "target": target,
            "ok": ok}


def best_seconds(action: Callable[[], object], repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - start)
    return best


def rust_numbers(frames_file: Path) -> dict:
    command = ["cargo", "bench", "--quiet", "--bench", "wire", "--", str(frames_file)]
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# ---- baseline (a): json + Decimal + dict ----------------------------------------------------

class DecimalFeed:
    """The plain way: json.loads, Decimal prices, a dict per side, best by max/min."""

    def __init__(self, markets: list[tuple[str, str]]) -> None:
        self.books: dict[str, tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]] = {}
        for up, down in markets:
            self.books[up] = ({}, {})
            self.books[down] = ({}, {})
        self.pending: dict[str, tuple[Decimal, Decimal]] = {}
        self.burst = ""
        self.mismatches = 0
        self.trades: list[tuple[str, Decimal, Decimal, str]] = []
        self.seen: set[tuple] = set()
        self.seen_order: deque[tuple] = deque()

    def duplicate(self, key: tuple) -> bool:
        """The same duplicate rule as the core: the last SEEN keys, (timestamp, content)."""
        if key in self.seen:
            return True
        self.seen.add(key)
        self.seen_order.append(key)
        if len(self.seen_order) > SEEN:
            self.seen.discard(self.seen_order.popleft())
        return False

    def best(self, token: str) -> tuple[Decimal | None, Decimal | None]:
        bids, asks = self.books[token]
        return (max(bids) if bids else None, min(asks) if asks else None)

    def close_burst(self) -> None:
        for token, (bid, ask) in self.pending.items():
            best_bid, best_ask = self.best(token)
            crossed = best_bid is not None and best_ask is not None and best_bid >= best_ask
            if crossed or (best_bid, best_ask) != (bid or None, ask if ask < 1 else None):
                self.mismatches += 1
        self.pending.clear()

    def apply(self, text: str) -> int:
        data = json.loads(text)
        touched = set()
        before = {}
        for event in data if isinstance(data, list) else [data]:
            ts = event.get("timestamp", "")
            changes = event.get("price_changes")
            content = (tuple((c["asset_id"], c["price"], c["size"], c["side"], c["hash"])
                             for c in changes) if changes else
                       (event.get("asset_id"), event.get("hash"), event.get("price")))
            if self.duplicate((ts, content)):
                continue
            if ts != self.burst:
                self.close_burst()
                self.burst = ts
            kind = event.get("event_type")
            if kind == "book" and event["asset_id"] in self.books:
                token = event["asset_id"]
                before.setdefault(token, self.best(token))
                bids, asks = self.books[token]
                bids.clear()
                asks.clear()
                for level in event["bids"]:
                    if Decimal(level["size"]):
                        bids[Decimal(level["price"])] = Decimal(level["size"])
                for level in event["asks"]:
                    if Decimal(level["size"]):
                        asks[Decimal(level["price"])] = Decimal(level["size"])
                touched.add(token)
            elif kind == "price_change":
                for change in event["price_changes"]:
                    token = change["asset_id"]
                    if token not in self.books:
                        continue
                    before.setdefault(token, self.best(token))
                    bids, asks = self.books[token]
                    levels = bids if change["side"] == "BUY" else asks
                    price, size = Decimal(change["price"]), Decimal(change["size"])
                    if size:
                        levels[price] = size
                    else:
                        levels.pop(price, None)
                    self.pending[token] = (Decimal(change["best_bid"]), Decimal(change["best_ask"]))
                    touched.add(token)
            elif kind == "last_trade_price" and event["asset_id"] in self.books:
                self.trades.append((event["asset_id"], Decimal(event["price"]),
                                    Decimal(event["size"]), event["side"]))
            elif kind == "tick_size_change" and event["asset_id"] in self.books:
                for levels in self.books[event["asset_id"]]:
                    levels.clear()
        return sum(1 for token in touched if self.best(token) != before[token])


# ---- baseline (b): msgspec + integer ladder ---------------------------------------------------

class Level(msgspec.Struct):
    price: str
    size: str


class BookEvent(msgspec.Struct, tag_field="event_type", tag="book"):
    asset_id: str
    bids: list[Level]
    asks: list[Level]
    timestamp: str = ""
    hash: str = ""


class Change(msgspec.Struct):
    asset_id: str
    price: str
    size: str
    side: str
    hash: str = ""
    best_bid: str = "0"
    best_ask: str = "1"


class PriceChange(msgspec.Struct, tag_field="event_type", tag="price_change"):
    price_changes: list[Change]
    timestamp: str = ""


class TradeEvent(msgspec.Struct, tag_field="event_type", tag="last_trade_price"):
    asset_id: str
    price: str
    size: str
    side: str
    timestamp: str = ""


class TickEvent(msgspec.Struct, tag_field="event_type", tag="tick_size_change"):
    asset_id: str
    new_tick_size: str
    timestamp: str = ""


class ResolvedEvent(msgspec.Struct, tag_field="event_type", tag="market_resolved"):
    winning_asset_id: str = ""
    timestamp: str = ""


Event = BookEvent | PriceChange | TradeEvent | TickEvent | ResolvedEvent


def micros(text: str) -> int:
    whole, _, fraction = text.partition(".")
    return int(whole) * 1_000_000 + int((fraction + "000000")[:6])


class Ladder:
    """Sizes by 0.0001 slot, best slot cached, rescanned only when the best empties."""

    def __init__(self, is_bid: bool) -> None:
        self.sizes = [0] * 10_001
        self.best = 0
        self.is_bid = is_bid

    def clear(self) -> None:
        self.sizes = [0] * 10_001
        self.best = 0

    def set(self, slot: int, size: int) -> None:
        self.sizes[slot] = size
        if size:
            if not self.best or (slot > self.best if self.is_bid else slot < self.best):
                self.best = slot
        elif slot == self.best:
            sizes = self.sizes
            if self.is_bid:
                self.best = next((s for s in range(slot - 1, 0, -1) if sizes[s]), 0)
            else:
                self.best = next((s for s in range(slot + 1, 10_000) if sizes[s]), 0)


class MsgspecFeed:
    def __init__(self, markets: list[tuple[str, str]]) -> None:
        self.decoder = msgspec.json.Decoder(list[Event] | Event)
        self.books = {}
        for up, down in markets:
            self.books[up] = (Ladder(True), Ladder(False))
            self.books[down] = (Ladder(True), Ladder(False))
        self.pending: dict[str, tuple[int, int]] = {}
        self.burst = ""
        self.mismatches = 0
        self.trades: list[tuple[str, int, int, str]] = []
        self.seen: set[tuple] = set()
        self.seen_order: deque[tuple] = deque()

    duplicate = DecimalFeed.duplicate

    def close_burst(self) -> None:
        for token, (bid, ask) in self.pending.items():
            bids, asks = self.books[token]
            crossed = bids.best and asks.best and bids.best >= asks.best
            if crossed or (bids.best * 100, asks.best * 100 or 1_000_000) != (bid, ask):
                self.mismatches += 1
        self.pending.clear()

    def apply(self, text: str) -> int:
        data = self.decoder.decode(text)
        before = {}
        for event in data if isinstance(data, list) else [data]:
            if type(event) is PriceChange:
                content = tuple((c.asset_id, c.price, c.size, c.side, c.hash)
                                for c in event.price_changes)
            else:
                content = (getattr(event, "asset_id", ""), getattr(event, "hash", ""),
                           getattr(event, "price", ""))
            if self.duplicate((event.timestamp, content)):
                continue
            if event.timestamp != self.burst:
                self.close_burst()
                self.burst = event.timestamp
            if type(event) is BookEvent and event.asset_id in self.books:
                bids, asks = self.books[event.asset_id]
                before.setdefault(event.asset_id, (bids.best, asks.best))
                bids.clear()
                asks.clear()
                for level in event.bids:
                    bids.set(micros(level.price) // 100, micros(level.size))
                for level in event.asks:
                    asks.set(micros(level.price) // 100, micros(level.size))
            elif type(event) is PriceChange:
                for change in event.price_changes:
                    book = self.books.get(change.asset_id)
                    if book is None:
                        continue
                    before.setdefault(change.asset_id, (book[0].best, book[1].best))
                    ladder = book[0] if change.side == "BUY" else book[1]
                    ladder.set(micros(change.price) // 100, micros(change.size))
                    self.pending[change.asset_id] = (micros(change.best_bid),
                                                     micros(change.best_ask))
            elif type(event) is TradeEvent and event.asset_id in self.books:
                self.trades.append((event.asset_id, micros(event.price), micros(event.size),
                                    event.side))
            elif type(event) is TickEvent and event.asset_id in self.books:
                for ladder in self.books[event.asset_id]:
                    ladder.clear()
        return sum(1 for token, (bid, ask) in before.items()
                   if (self.books[token][0].best, self.books[token][1].best) != (bid, ask))


# ---- the run ------------------------------------------------------------------------------------

Recording = tuple[list[tuple[str, str, int]], list[str]]
FIXTURES = ROOT / "tests" / "fixtures" / "polymarket"


def simulated() -> Recording:
    markets, frames = [], []
    for window in simulate("btc", WINDOWS, SEED):
        markets.append((window.up_token, window.down_token, 10_000))
        frames.extend(frame for _, frame in window.frames())
    return markets, frames


def captured_burst(passes: int = 300) -> Recording:
    """The captured burst (a snapshot, 49 mirrored deltas, a closing snapshot) with the Down
    snapshot mirrored from Up's, repeated with timestamps moved on at each pass."""
    items = json.loads((FIXTURES / "ws_market_price_change_crossing_burst.json").read_text())
    snapshot = items[0]
    up = snapshot["asset_id"]
    down = next(c["asset_id"] for c in items[1]["price_changes"] if c["asset_id"] != up)

    def mirrored(levels: list[dict]) -> list[dict]:
        return [{"price": str(1 - Decimal(lv["price"])), "size": lv["size"]} for lv in levels]

    down_snapshot = {"event_type": "book", "asset_id": down, "market": snapshot["market"],
                     "bids": mirrored(snapshot["asks"]), "asks": mirrored(snapshot["bids"]),
                     "timestamp": snapshot["timestamp"], "hash": "mirror"}
    template = [json.dumps(item, separators=(",", ":"))
                for item in [snapshot, down_snapshot, *items[1:]]]
    frames = []
    for shift in range(passes):
        moved = str(1_790_658 + shift * 1_000)
        frames.extend(text.replace('"timestamp":"1790658', f'"timestamp":"{moved}')
                      for text in template)
    return [(up, down, 1_000)], frames


def measure(name: str, recording: Recording, tmp: Path) -> list[dict]:
    markets, frames = recording
    frames_file = tmp / f"{name}.frames"
    with frames_file.open("w") as out:
        for up, down, tick in markets:
            out.write(f"#market {up} {down} {tick}\n")
        for frame in frames:
            out.write(frame + "\n")
    rust = rust_numbers(frames_file)
    assert rust["frame_errors"] == 0 and rust["problems"] == 0, rust

    def python_batch() -> None:
        replay = _core.Replay(markets)
        replay.apply_many(frames)
        replay.finish()

    # One frame per call, as the engine's feed does it: each frame into its window's Market
    # (the routing is done beforehand, outside the timing).
    owner = {}
    for index, (up, down, _) in enumerate(markets):
        owner[up] = owner[down] = index
    routes = []
    for frame in frames:
        index = next((i for token, i in owner.items() if token in frame), None)
        if index is not None:
            routes.append((index, frame))

    def python_per_call() -> None:
        applies = [_core.Market(up, down, tick).apply_frame for up, down, tick in markets]
        for index, frame in routes:
            applies[index](frame)

    token_pairs = [(up, down) for up, down, _ in markets]

    def decimal_run() -> None:
        feed = DecimalFeed(token_pairs)
        for frame in frames:
            feed.apply(frame)

    def msgspec_run() -> None:
        feed = MsgspecFeed(token_pairs)
        for frame in frames:
            feed.apply(frame)

    batch_fps = len(frames) / best_seconds(python_batch)
    per_call_us = best_seconds(python_per_call) / len(routes) * 1e6
    decimal_fps = len(frames) / best_seconds(decimal_run, repeat=2)
    msgspec_fps = len(frames) / best_seconds(msgspec_run, repeat=3)
    rust_fps = rust["frames_per_second"]
    per_call_fps = 1e6 / per_call_us
    mean_bytes = sum(len(f) for f in frames) / len(frames)
    label = f"{name} ({len(frames)} frames, {mean_bytes:.0f} B mean)"
    return [
        row(f"{label}: Rust batch parse+apply+summary", rust_fps, "frames/s", ">= 2,000,000",
            rust_fps >= 2e6),
        row(f"{label}: Rust batch", rust["megabytes_per_second"], "MB/s"),
        row(f"{label}: Python Market.apply_frame, one frame per call", per_call_us, "us/frame",
            "<= 2", per_call_us <= 2),
        row(f"{label}: Python Replay.apply_many", batch_fps, "frames/s"),
        row(f"{label}: baseline (a) json + Decimal + dict", decimal_fps, "frames/s"),
        row(f"{label}: baseline (b) msgspec + int ladder", msgspec_fps, "frames/s"),
        row(f"{label}: Rust batch vs (a)", rust_fps / decimal_fps, "x", ">= 30",
            rust_fps / decimal_fps >= 30),
        row(f"{label}: Rust batch vs (b)", rust_fps / msgspec_fps, "x"),
        row(f"{label}: Python per call vs (a)", per_call_fps / decimal_fps, "x"),
        row(f"{label}: Python per call vs (b)", per_call_fps / msgspec_fps, "x"),
    ]


def run() -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        return (measure("simulated recording", simulated(), Path(tmp))
                + measure("captured burst", captured_burst(), Path(tmp)))


if __name__ == "__main__":
    for result in run():
        print(f"{result['what']:<100} {result['value']:>14,.2f} {result['unit']:<9} "
              f"{result['target']:<14} {'ok' if result['ok'] else 'MISSED'}")
