"""Frames in the exchange's exact formats: the market channel's events for the simulated
book, and PolyBolt `price.crypto` / `price.crypto.twap` envelopes for the reference price.

Every price and size is an exact decimal string; the shapes are copied from the captured
fixtures (tests compare key sets). Nothing here decides anything: the event loop says what
happened, these functions say how the exchange would have written it.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from decimal import Decimal

import msgspec

from gabagool.core import sim_price_change
from gabagool.recording import FeeScheduleHeader, MarketHeader
from gabagool.sim.book import ASK, BID, COARSE_TICK, FINE_TICK, FULL, Book, Change
from gabagool.types import MS

DEFAULT_FEE_SCHEDULE = FeeScheduleHeader(
    rate="0.072", exponent=1, taker_only=True, rebate_rate="0.2"
)
DEFAULT_TICK_SIZE = "0.01"
DEFAULT_MIN_ORDER_SIZE = "5"

# Receive time = exchange timestamp + this latency (ns), a typical home-to-exchange delay.
LATENCY_NS = (15_000_000, 60_000_000)

# PolyBolt writes `full_accuracy_value` with this many decimals.
REFERENCE_DECIMALS = 8


def randint_of(rng: random.Random, low: int, high: int) -> Callable[[], int]:
    """`rng.randint(low, high)` as a bound function: the same draws (`getrandbits` with
    rejection, as `random.Random._randbelow` makes them) without `randrange`'s argument
    checks, which cost more than the draw on the simulator's hot paths."""
    getrandbits = rng.getrandbits
    width = high - low + 1
    bits = width.bit_length()

    def draw() -> int:
        r = getrandbits(bits)
        while r >= width:
            r = getrandbits(bits)
        return low + r

    return draw


def digits(label: str, count: int) -> str:
    value = int.from_bytes(hashlib.sha256(label.encode()).digest(), "big")
    return str(10 ** (count - 1) + value % (9 * 10 ** (count - 1)))


def token_id(asset: str, start: int, seed: int, outcome: str) -> str:
    """A 77-digit decimal token id, like the exchange's, fixed by (asset, start, seed)."""
    return digits(f"token:{asset}:{start}:{seed}:{outcome}", 77)


def _price_text(price: int) -> str:
    # The exchange writes the shortest decimal ("0.5", "0.52", "0.013"), whatever the tick.
    return f"0.{price:03d}".rstrip("0") if price % FULL else str(price // FULL)


PRICE_TEXT = [_price_text(price) for price in range(FULL + 1)]


def size_text(size_cents: int) -> str:
    """Hundredths of a share as the wire writes sizes: `"1000"`, `"70281.2"`, `"3687.87"`."""
    whole, cents = divmod(size_cents, 100)
    return f"{whole}.{cents:02d}".rstrip("0") if cents else str(whole)


def reference_text(scaled: int, decimals: int = REFERENCE_DECIMALS) -> str:
    """An integer count of 10^-decimals as PolyBolt's `full_accuracy_value`: `"64123.50000000"`."""
    whole, frac = divmod(scaled, 10**decimals)
    return f"{whole}.{frac:0{decimals}d}"


def market_header(asset: str, start: int, end: int, seed: int, open_text: str) -> MarketHeader:
    condition = hashlib.sha256(f"condition:{asset}:{start}:{seed}".encode()).hexdigest()
    return MarketHeader(
        asset=asset,
        slug=f"{asset}-updown-15m-{start}",
        condition_id="0x" + condition,
        up_token=token_id(asset, start, seed, "up"),
        down_token=token_id(asset, start, seed, "down"),
        start=start,
        end=end,
        tick_size=DEFAULT_TICK_SIZE,
        min_order_size=DEFAULT_MIN_ORDER_SIZE,
        fee_schedule=DEFAULT_FEE_SCHEDULE,
        # written as Gamma's eventMetadata reads once normalised, so a discovered header and
        # the simulator's compare equal
        price_to_beat=format(Decimal(open_text).normalize(), "f"),
    )


class MarketWire:
    """One window's market-channel frames, each stamped with a receive time after its
    exchange timestamp; receive times strictly increase."""

    def __init__(self, header: MarketHeader, market_id: str, rng: random.Random) -> None:
        self.header = header
        self.market_id = market_id
        self.fee_rate_bps = str(round(float(header.fee_schedule.rate) * 10_000))
        self.rng = rng
        self._latency = randint_of(rng, *LATENCY_NS)
        self.hash_counter = 0
        # every hash is sha1("<up token>:<counter>"): the common prefix is hashed once
        self._hash_prefix = hashlib.sha1(f"{header.up_token}:".encode())
        self.last_t_ns = 0
        self.encoder = msgspec.json.Encoder()

    def _hash(self) -> str:
        self.hash_counter += 1
        digest = self._hash_prefix.copy()
        digest.update(b"%d" % self.hash_counter)
        return digest.hexdigest()

    def _receive_ns(self, ts_ms: int) -> int:
        t_ns = ts_ms * MS + self._latency()
        t_ns = max(t_ns, self.last_t_ns + 1)
        self.last_t_ns = t_ns
        return t_ns

    def emit(self, ts_ms: int, payload: object) -> tuple[int, str]:
        return self._receive_ns(ts_ms), self.encoder.encode(payload).decode()

    def price_change(self, ts_ms: int, book: Book, changes: list[Change]) -> tuple[int, str]:
        up_bid, up_ask = book.best(BID), book.best(ASK)
        assert up_bid is not None and up_ask is not None, "the walls keep both sides quoted"
        # The most frequent frame, two sha1 hashes an entry: written by the core
        # (rust/src/simwire.rs), the same bytes msgspec wrote for the same dicts.
        header = self.header
        text = sim_price_change(
            header.up_token,
            header.down_token,
            header.condition_id,
            up_bid,
            up_ask,
            changes,
            self.hash_counter + 1,
            ts_ms,
        )
        self.hash_counter += 2 * len(changes)
        return self._receive_ns(ts_ms), text

    def _snapshot(
        self, ts_ms: int, book: Book, tick: int, outcome: str, last: int
    ) -> dict[str, object]:
        bids, asks = book.levels
        if outcome == "up":
            token = self.header.up_token
            bid_levels = sorted(bids.items())
            ask_levels = sorted(asks.items(), reverse=True)
        else:
            token = self.header.down_token
            bid_levels = sorted(((FULL - p, s) for p, s in asks.items()))
            ask_levels = sorted(((FULL - p, s) for p, s in bids.items()), reverse=True)
        return {
            "market": self.header.condition_id,
            "asset_id": token,
            "timestamp": str(ts_ms),
            "hash": self._hash(),
            "bids": [{"price": PRICE_TEXT[p], "size": size_text(s)} for p, s in bid_levels],
            "asks": [{"price": PRICE_TEXT[p], "size": size_text(s)} for p, s in ask_levels],
            "tick_size": PRICE_TEXT[tick],
            "event_type": "book",
            "last_trade_price": PRICE_TEXT[last],
        }

    def snapshots(
        self, ts_ms: int, book: Book, tick: int, last_trade: tuple[int, int]
    ) -> tuple[int, str]:
        """Both tokens' `book` snapshots in one frame, as the initial dump sends them."""
        up = self._snapshot(ts_ms, book, tick, "up", last_trade[0])
        down = self._snapshot(ts_ms, book, tick, "down", last_trade[1])
        return self.emit(ts_ms, [up, down])

    def trade(self, ts_ms: int, outcome: str, price: int, side: str, size: int) -> tuple[int, str]:
        payload = {
            "event_type": "last_trade_price",
            "market": self.header.condition_id,
            "asset_id": self.header.up_token if outcome == "up" else self.header.down_token,
            "fee_rate_bps": self.fee_rate_bps,
            "price": PRICE_TEXT[price],
            "side": side,
            "size": size_text(size),
            "timestamp": str(ts_ms),
        }
        return self.emit(ts_ms, payload)

    def tick_changes(self, ts_ms: int) -> list[tuple[int, str]]:
        """The two `tick_size_change` frames (Up, then Down) of the switch to 0.001."""
        frames = []
        for token in (self.header.up_token, self.header.down_token):
            payload = {
                "event_type": "tick_size_change",
                "market": self.header.condition_id,
                "asset_id": token,
                "new_tick_size": PRICE_TEXT[FINE_TICK],
                "old_tick_size": PRICE_TEXT[COARSE_TICK],
                "timestamp": str(ts_ms),
            }
            frames.append(self.emit(ts_ms, payload))
        return frames

    def resolution(self, end_ms: int, up_wins: bool) -> tuple[int, str]:
        """`market_resolved`, received exactly at the window's end."""
        payload = {
            "event_type": "market_resolved",
            "id": self.market_id,
            "market": self.header.condition_id,
            "assets_ids": [self.header.up_token, self.header.down_token],
            "winning_asset_id": self.header.up_token if up_wins else self.header.down_token,
            "winning_outcome": "Up" if up_wins else "Down",
            "timestamp": str(end_ms),
            "tags": ["crypto", "up-or-down", "15M"],
        }
        t_ns = max(end_ms * MS, self.last_t_ns + 1)
        self.last_t_ns = t_ns
        return t_ns, self.encoder.encode(payload).decode()


SPOT_CHANNEL = "price.crypto"
TWAP_CHANNEL = "price.crypto.twap"


class ReferenceWire:
    """PolyBolt data envelopes for one symbol: `seq` consecutive per channel, a snapshot
    first, `dropped` when the server skipped updates (the fixture's shape)."""

    def __init__(self, symbol: str, twap_seconds: int) -> None:
        self.symbol = symbol
        self.twap_seconds = twap_seconds
        self.seq = {SPOT_CHANNEL: 0, TWAP_CHANNEL: 0}
        self.encoder = msgspec.json.Encoder()

    def _point(self, channel: str, sample_ms: int, scaled: int) -> dict[str, object]:
        text = reference_text(scaled)
        point: dict[str, object] = {"symbol": self.symbol}
        if channel == TWAP_CHANNEL:
            point["window_seconds"] = self.twap_seconds
        point.update(
            timestamp=sample_ms,
            value=msgspec.json.decode(text.rstrip("0").rstrip(".") or "0"),
            full_accuracy_value=text,
        )
        return point

    def update(
        self, channel: str, ts_ms: int, sample_ms: int, scaled: int, dropped: int = 0
    ) -> str:
        self.seq[channel] += 1 + dropped
        envelope: dict[str, object] = {
            "v": 1,
            "channel": channel,
            "seq": self.seq[channel],
            "ts": ts_ms,
        }
        if dropped:
            envelope["dropped"] = dropped
        envelope["payload"] = self._point(channel, sample_ms, scaled)
        return self.encoder.encode(envelope).decode()

    def snapshot(self, channel: str, ts_ms: int, points: list[tuple[int, int]]) -> str:
        """The subscription's first envelope: the recent points, oldest first."""
        self.seq[channel] += 1
        payload: dict[str, object] = {"symbol": self.symbol}
        if channel == TWAP_CHANNEL:
            payload["window_seconds"] = self.twap_seconds
        data = []
        for sample_ms, scaled in points:
            point = self._point(channel, sample_ms, scaled)
            data.append({k: point[k] for k in ("timestamp", "value", "full_accuracy_value")})
        payload["data"] = data
        envelope = {
            "v": 1,
            "channel": channel,
            "seq": self.seq[channel],
            "ts": ts_ms,
            "snapshot": True,
            "payload": payload,
        }
        return self.encoder.encode(envelope).decode()
