"""Synthetic 15-minute Up or Down markets, as the exchange's market-channel frames.

The model (floats are used for the model only; every price and size in a frame is an exact
decimal on the book's grid):
- the underlying follows a Gaussian random walk in log price with the asset's typical
  volatility (scaled per window), drawn as a Brownian bridge to a close drawn up front, so
  consecutive windows chain (each opens where the previous closed);
- the fair probability of Up is `Phi(ln(S / S_open) / (sigma * sqrt(time left)))`;
- a few market makers quote ladders around their own noisy, lagging view of that
  probability on one mirrored book (an Up bid at p is a Down ask at 1 - p), beside deep
  stale orders far from the price;
- takers arrive at random (noise) and whenever the book is off the fair value (informed),
  walk the book and print `last_trade_price` on both tokens;
- the tick switches from 0.01 to 0.001 once the price passes 0.96 or 0.04, with
  `tick_size_change` frames and fresh snapshots, as the exchange does;
- the window ends with `market_resolved` (Up wins ties of the reference price).

What it does not model is listed in docs/SIMULATOR.md.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

import msgspec

from gabagool.recording import FeeScheduleHeader, MarketHeader

WINDOW_SECONDS = 900
# 2026-01-01T00:00:00Z: a fixed, epoch-aligned default so that output depends on the seed only.
DEFAULT_START = 1_767_225_600
SECONDS_PER_YEAR = 365 * 24 * 3600

DEFAULT_FEE_SCHEDULE = FeeScheduleHeader(
    rate="0.072", exponent=1, taker_only=True, rebate_rate="0.2"
)
DEFAULT_TICK_SIZE = "0.01"
DEFAULT_MIN_ORDER_SIZE = "5"


@dataclass(frozen=True)
class AssetModel:
    """What the simulator assumes of an underlying: a typical price and annual volatility."""

    reference_price: float
    annual_volatility: float
    price_decimals: int


# Late-2025 levels; realised annual volatility of the majors sits around these values.
ASSETS: dict[str, AssetModel] = {
    "btc": AssetModel(95_000.0, 0.45, 2),
    "eth": AssetModel(3_400.0, 0.60, 2),
    "sol": AssetModel(180.0, 0.75, 3),
    "xrp": AssetModel(2.3, 0.80, 4),
}

# Prices are integers in thousandths of a dollar (the finest tick the markets use), sizes
# integers in hundredths of a share (the wire's size precision).
FULL = 1000
COARSE_TICK = 10
FINE_TICK = 1
# The exchange switches a market to the 0.001 tick once its price passes 0.96 or 0.04.
FINE_TICK_ABOVE = 960
FINE_TICK_BELOW = 40

BID, ASK = 0, 1
MODEL_STEP_MS = 500
BACKGROUND_STEP_MS = 2000
# Receive time = exchange timestamp + this latency (ns), a typical home-to-exchange delay.
LATENCY_NS = (15_000_000, 60_000_000)
# Nothing but the resolution is sent in the last moments, so every frame precedes the end.
QUIET_TAIL_MS = 200

# Stale deep orders are cancelled when the price comes this close and put back once it has
# moved twice as far away again (in thousandths).
BACKGROUND_CANCEL_DISTANCE = 30
BACKGROUND_RESTORE_DISTANCE = 60

NOISE_TAKERS_PER_MINUTE = 6.0
# Informed takers trade when the book is this far (thousandths) off the fair value; they
# notice it at a model step with this probability.
INFORMED_EDGE = 15
INFORMED_PROBABILITY = 0.15
# A maker re-sends its ladder now and then even when its view has not moved, and tops it up
# this long (mean) after a taker filled part of it.
REFRESH_PROBABILITY = 0.05
REFILL_MEAN_MS = 1500.0

# Event kinds of the simulation's queue.
MODEL, BACKGROUND, TAKER, INFORMED, MAKER_CHECK, MAKER_REFILL = range(6)


def _derive_seed(*parts: object) -> int:
    digest = hashlib.sha256(":".join(str(part) for part in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _digits(label: str, count: int) -> str:
    value = int.from_bytes(hashlib.sha256(label.encode()).digest(), "big")
    return str(10 ** (count - 1) + value % (9 * 10 ** (count - 1)))


def token_id(asset: str, start: int, seed: int, outcome: str) -> str:
    """A 77-digit decimal token id, like the exchange's, fixed by (asset, start, seed)."""
    return _digits(f"token:{asset}:{start}:{seed}:{outcome}", 77)


def _price_text(price: int) -> str:
    # The exchange writes the shortest decimal ("0.5", "0.52", "0.013"), whatever the tick.
    return f"0.{price:03d}".rstrip("0") if price % FULL else str(price // FULL)


PRICE_TEXT = [_price_text(price) for price in range(FULL + 1)]


def size_text(size_cents: int) -> str:
    """Hundredths of a share as the wire writes sizes: `"1000"`, `"70281.2"`, `"3687.87"`."""
    whole, cents = divmod(size_cents, 100)
    return f"{whole}.{cents:02d}".rstrip("0") if cents else str(whole)


def _phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def check_asset(asset: str) -> AssetModel:
    try:
        return ASSETS[asset]
    except KeyError:
        known = ", ".join(sorted(ASSETS))
        raise ValueError(f"unknown asset {asset!r} (known: {known})") from None


def check_start(start: int) -> int:
    if type(start) is not int or start < 0 or start % WINDOW_SECONDS:
        raise ValueError(f"window start {start!r} is not a unix second divisible by 900")
    return start


@dataclass
class _Maker:
    """One market maker: a ladder around its own view of the fair value."""

    half_spread_ticks: int
    levels: int
    step_ticks: int
    lot_cents: int
    size_multipliers: list[list[float]]
    base_size: float
    mean_check_ms: float
    view_noise: float = 0.0
    center: float = -1.0
    dirty: bool = False


class _Book:
    """The Up book as the sum of its owners' orders; the Down book is its mirror."""

    def __init__(self) -> None:
        self.levels: tuple[dict[int, int], dict[int, int]] = ({}, {})
        self.orders: dict[int, dict[tuple[int, int], int]] = {}

    def best(self, side: int) -> int | None:
        prices = self.levels[side]
        if not prices:
            return None
        return max(prices) if side == BID else min(prices)

    def best_excluding(self, side: int, owner: int) -> int | None:
        own = self.orders.get(owner, {})
        prices = [p for p, total in self.levels[side].items() if total > own.get((side, p), 0)]
        if not prices:
            return None
        return max(prices) if side == BID else min(prices)

    def replace(self, owner: int, new: dict[tuple[int, int], int]) -> list[tuple[int, int, int]]:
        """Swap an owner's orders; the level changes come shrinking first, so that no prefix
        of them crosses the book when the final book does not."""
        old = self.orders.get(owner, {})
        shrink: list[tuple[int, int, int]] = []
        grow: list[tuple[int, int, int]] = []
        for key in old.keys() | new.keys():
            before, after = old.get(key, 0), new.get(key, 0)
            if before == after:
                continue
            side, price = key
            level = self.levels[side]
            total = level.get(price, 0) + after - before
            if total:
                level[price] = total
            else:
                level.pop(price, None)
            (shrink if after < before else grow).append((side, price, total))
        self.orders[owner] = dict(new)
        shrink.sort()
        grow.sort()
        return shrink + grow

    def take(self, side: int, price: int, size: int) -> int:
        """Remove up to `size` at one level, makers before the deep orders; returns the amount."""
        taken = 0
        for owner in sorted(self.orders):
            if taken == size:
                break
            orders = self.orders[owner]
            resting = orders.get((side, price), 0)
            if not resting:
                continue
            part = min(resting, size - taken)
            taken += part
            if part == resting:
                del orders[(side, price)]
            else:
                orders[(side, price)] = resting - part
        level = self.levels[side]
        remaining = level[price] - taken
        if remaining:
            level[price] = remaining
        else:
            del level[price]
        return taken


BACKGROUND_OWNER = 1_000
WALL_OWNER = 1_001


class WindowSimulator:
    """One simulated 15-minute window of an asset; `frames()` yields (t_ns, frame text)."""

    def __init__(
        self, asset: str, start: int, seed: int, *, open_price: float | None = None
    ) -> None:
        self.asset = asset
        self.model = check_asset(asset)
        self.start = check_start(start)
        self.end = start + WINDOW_SECONDS
        self.seed = seed
        plan = random.Random(_derive_seed("plan", asset, start, seed))
        self.volatility = self.model.annual_volatility * math.exp(plan.gauss(0.0, 0.3))
        if open_price is None:
            open_price = self.model.reference_price * math.exp(plan.gauss(0.0, 0.05))
        self.open_price = self._round_reference(open_price)
        window_sigma = self.volatility * math.sqrt(WINDOW_SECONDS / SECONDS_PER_YEAR)
        self.close_price = self._round_reference(
            self.open_price * math.exp(plan.gauss(0.0, window_sigma))
        )
        self.outcome: str | None = None
        self.up_token = token_id(asset, start, seed, "up")
        self.down_token = token_id(asset, start, seed, "down")
        condition = hashlib.sha256(f"condition:{asset}:{start}:{seed}".encode()).hexdigest()
        self.header = MarketHeader(
            asset=asset,
            slug=f"{asset}-updown-15m-{start}",
            condition_id="0x" + condition,
            up_token=self.up_token,
            down_token=self.down_token,
            start=start,
            end=self.end,
            tick_size=DEFAULT_TICK_SIZE,
            min_order_size=DEFAULT_MIN_ORDER_SIZE,
            fee_schedule=DEFAULT_FEE_SCHEDULE,
        )
        self.market_id = _digits(f"market:{asset}:{start}:{seed}", 7)
        self.fee_rate_bps = str(round(float(DEFAULT_FEE_SCHEDULE.rate) * 10_000))

    def _round_reference(self, price: float) -> float:
        return round(price, self.model.price_decimals)

    def frames(self) -> Iterator[tuple[int, str]]:
        """The window's frames in time order, from its start to its end (re-runnable)."""
        self.outcome = None
        run = _WindowRun(self)
        yield from run.frames()
        # Chainlink-style resolution: Up wins when the close is at or above the open.
        self.outcome = "up" if self.close_price >= self.open_price else "down"


class _WindowRun:
    """The state of one pass over a window; `WindowSimulator.frames` makes a fresh one."""

    def __init__(self, window: WindowSimulator) -> None:
        self.w = window
        self.rng = random.Random(_derive_seed("run", window.asset, window.start, window.seed))
        self.start_ms = window.start * 1000
        self.end_ms = window.end * 1000
        self.book = _Book()
        self.tick = COARSE_TICK
        self.last_trade = (500, 500)
        self.hash_counter = 0
        self.last_t_ns = 0
        self.encoder = msgspec.json.Encoder()
        self.background: dict[tuple[int, int], int] = {}
        self.background_active: set[tuple[int, int]] = set()
        self._build_path()
        self.fair = self.probability(0)
        self.consensus_noise = 0.0
        self.makers = [self._new_maker() for _ in range(self.rng.randint(3, 5))]
        self._build_background()
        self.queue: list[tuple[int, int, int, int]] = []
        self.sequence = 0

    def schedule(self, at_ms: float, kind: int, index: int = 0) -> None:
        self.sequence += 1
        heapq.heappush(self.queue, (int(at_ms), self.sequence, kind, index))

    # ---- model -------------------------------------------------------------------------

    def _build_path(self) -> None:
        steps = WINDOW_SECONDS * 1000 // MODEL_STEP_MS
        step_sigma = self.w.volatility * math.sqrt(MODEL_STEP_MS / 1000 / SECONDS_PER_YEAR)
        walk = [0.0]
        gauss = self.rng.gauss
        for _ in range(steps):
            walk.append(walk[-1] + gauss(0.0, step_sigma))
        target = math.log(self.w.close_price / self.w.open_price)
        miss = walk[-1] - target
        self.log_path = [x - miss * i / steps for i, x in enumerate(walk)]
        self.steps = steps

    def probability(self, step: int) -> float:
        """Fair probability of Up at a model step, from the distance to the open."""
        x = self.log_path[min(step, self.steps)]
        seconds_left = (self.steps - step) * MODEL_STEP_MS / 1000
        if seconds_left <= 0:
            return 1.0 if x >= 0 else 0.0
        scale = self.w.volatility * math.sqrt(seconds_left / SECONDS_PER_YEAR)
        return _phi(x / scale)

    def _new_maker(self) -> _Maker:
        rng = self.rng
        multipliers = [[math.exp(rng.gauss(0.0, 0.5)) for _ in range(FULL + 1)] for _ in (BID, ASK)]
        return _Maker(
            half_spread_ticks=rng.choice((1, 1, 1, 2, 2, 3)),
            levels=rng.randint(3, 7),
            step_ticks=rng.choice((1, 1, 1, 2)),
            lot_cents=rng.choice((1, 500, 1000)),
            size_multipliers=multipliers,
            base_size=math.exp(rng.gauss(math.log(120.0), 0.6)),
            mean_check_ms=rng.uniform(4000.0, 10000.0),
        )

    def _build_background(self) -> None:
        rng = self.rng
        for side, low, high in ((BID, 2, 45), (ASK, 55, 98)):
            for _ in range(rng.randint(8, 18)):
                price = rng.randint(low, high) * COARSE_TICK
                size = round(math.exp(rng.gauss(math.log(2000.0), 1.2)) * 100)
                self.background[(side, price)] = max(size, 500)
        self.walls = {
            (BID, COARSE_TICK): round(math.exp(rng.uniform(11.0, 15.0)) * 100),
            (ASK, FULL - COARSE_TICK): round(math.exp(rng.uniform(11.0, 15.0)) * 100),
        }
        self.book.replace(WALL_OWNER, self.walls)

    def _maker_tops(self, maker: _Maker) -> tuple[int, int]:
        tick = self.tick
        center = maker.center * FULL
        half = maker.half_spread_ticks * tick
        top_bid = math.floor((center - half) / tick) * tick
        top_ask = math.ceil((center + half) / tick) * tick
        return top_bid, max(top_ask, top_bid + tick)

    def _maker_orders(self, index: int, maker: _Maker) -> dict[tuple[int, int], int]:
        """The maker's ladder, less the levels that would cross the others' quotes."""
        tick = self.tick
        top_bid, top_ask = self._maker_tops(maker)
        others_bid = self.book.best_excluding(BID, index)
        others_ask = self.book.best_excluding(ASK, index)
        orders: dict[tuple[int, int], int] = {}
        step = maker.step_ticks * tick
        for k in range(maker.levels):
            bid = top_bid - k * step
            if bid >= tick and (others_ask is None or bid < others_ask):
                orders[(BID, bid)] = self._lot(maker, BID, bid)
            ask = top_ask + k * step
            if ask <= FULL - tick and (others_bid is None or ask > others_bid):
                orders[(ASK, ask)] = self._lot(maker, ASK, ask)
        return orders

    @staticmethod
    def _lot(maker: _Maker, side: int, price: int) -> int:
        # Sizes hang on the price, not the ladder position, so a ladder that shifts by one
        # tick changes two levels a side, not all of them.
        shares = maker.base_size * maker.size_multipliers[side][price]
        lots = max(1, round(shares * 100 / maker.lot_cents))
        return max(lots * maker.lot_cents, 500)

    def _maker_view(self, maker: _Maker) -> float:
        maker.view_noise = 0.8 * maker.view_noise + self.rng.gauss(0.0, 0.02)
        return _sigmoid(_logit(self.fair) + maker.view_noise)

    # ---- frames --------------------------------------------------------------------------

    def _hash(self) -> str:
        self.hash_counter += 1
        label = f"{self.w.up_token}:{self.hash_counter}"
        return hashlib.sha1(label.encode()).hexdigest()

    def _emit(self, ts_ms: int, payload: object) -> tuple[int, str]:
        t_ns = ts_ms * 1_000_000 + self.rng.randint(*LATENCY_NS)
        t_ns = max(t_ns, self.last_t_ns + 1)
        self.last_t_ns = t_ns
        return t_ns, self.encoder.encode(payload).decode()

    def _price_change(self, ts_ms: int, changes: list[tuple[int, int, int]]) -> tuple[int, str]:
        up_bid, up_ask = self.book.best(BID), self.book.best(ASK)
        assert up_bid is not None and up_ask is not None, "the walls keep both sides quoted"
        up_best = (PRICE_TEXT[up_bid], PRICE_TEXT[up_ask])
        down_best = (PRICE_TEXT[FULL - up_ask], PRICE_TEXT[FULL - up_bid])
        entries = []
        for side, price, total in changes:
            size = size_text(total)
            entries.append(
                {
                    "asset_id": self.w.up_token,
                    "price": PRICE_TEXT[price],
                    "size": size,
                    "side": "BUY" if side == BID else "SELL",
                    "hash": self._hash(),
                    "best_bid": up_best[0],
                    "best_ask": up_best[1],
                }
            )
            entries.append(
                {
                    "asset_id": self.w.down_token,
                    "price": PRICE_TEXT[FULL - price],
                    "size": size,
                    "side": "SELL" if side == BID else "BUY",
                    "hash": self._hash(),
                    "best_bid": down_best[0],
                    "best_ask": down_best[1],
                }
            )
        payload = {
            "market": self.w.header.condition_id,
            "price_changes": entries,
            "timestamp": str(ts_ms),
            "event_type": "price_change",
        }
        return self._emit(ts_ms, payload)

    def _snapshot(self, ts_ms: int, outcome: str) -> dict[str, object]:
        bids, asks = self.book.levels
        if outcome == "up":
            token, last = self.w.up_token, self.last_trade[0]
            bid_levels = sorted(bids.items())
            ask_levels = sorted(asks.items(), reverse=True)
        else:
            token, last = self.w.down_token, self.last_trade[1]
            bid_levels = sorted(((FULL - p, s) for p, s in asks.items()))
            ask_levels = sorted(((FULL - p, s) for p, s in bids.items()), reverse=True)
        return {
            "market": self.w.header.condition_id,
            "asset_id": token,
            "timestamp": str(ts_ms),
            "hash": self._hash(),
            "bids": [{"price": PRICE_TEXT[p], "size": size_text(s)} for p, s in bid_levels],
            "asks": [{"price": PRICE_TEXT[p], "size": size_text(s)} for p, s in ask_levels],
            "tick_size": PRICE_TEXT[self.tick],
            "event_type": "book",
            "last_trade_price": PRICE_TEXT[last],
        }

    def _snapshots(self, ts_ms: int) -> tuple[int, str]:
        return self._emit(ts_ms, [self._snapshot(ts_ms, "up"), self._snapshot(ts_ms, "down")])

    def _trade(self, ts_ms: int, outcome: str, price: int, side: str, size: int) -> tuple[int, str]:
        payload = {
            "event_type": "last_trade_price",
            "market": self.w.header.condition_id,
            "asset_id": self.w.up_token if outcome == "up" else self.w.down_token,
            "fee_rate_bps": self.w.fee_rate_bps,
            "price": PRICE_TEXT[price],
            "side": side,
            "size": size_text(size),
            "timestamp": str(ts_ms),
        }
        return self._emit(ts_ms, payload)

    def _tick_change(self, ts_ms: int) -> list[tuple[int, str]]:
        frames = []
        for token in (self.w.up_token, self.w.down_token):
            payload = {
                "event_type": "tick_size_change",
                "market": self.w.header.condition_id,
                "asset_id": token,
                "new_tick_size": PRICE_TEXT[FINE_TICK],
                "old_tick_size": PRICE_TEXT[COARSE_TICK],
                "timestamp": str(ts_ms),
            }
            frames.append(self._emit(ts_ms, payload))
        self.tick = FINE_TICK
        # On the fine grid the last-resort quotes move out to 0.001 and 0.999; the old ones at
        # 0.01 and 0.99 become ordinary deep orders, cancelled as the price nears them, or
        # they would keep the makers from quoting past them. The snapshot below carries it all.
        coarse = self.walls
        self.walls = {
            (BID, FINE_TICK): coarse[(BID, COARSE_TICK)],
            (ASK, FULL - FINE_TICK): coarse[(ASK, FULL - COARSE_TICK)],
        }
        self.book.replace(WALL_OWNER, self.walls)
        for key, size in coarse.items():
            self.background[key] = self.background.get(key, 0) + size
            self.background_active.add(key)
        active = {key: self.background[key] for key in self.background_active}
        self.book.replace(BACKGROUND_OWNER, active)
        frames.append(self._snapshots(ts_ms))
        return frames

    def _resolution(self) -> tuple[int, str]:
        up_wins = self.w.close_price >= self.w.open_price
        payload = {
            "event_type": "market_resolved",
            "id": self.w.market_id,
            "market": self.w.header.condition_id,
            "assets_ids": [self.w.up_token, self.w.down_token],
            "winning_asset_id": self.w.up_token if up_wins else self.w.down_token,
            "winning_outcome": "Up" if up_wins else "Down",
            "timestamp": str(self.end_ms),
            "tags": ["crypto", "up-or-down", "15M"],
        }
        t_ns = max(self.end_ms * 1_000_000, self.last_t_ns + 1)
        self.last_t_ns = t_ns
        return t_ns, self.encoder.encode(payload).decode()

    # ---- actions -------------------------------------------------------------------------

    def _requote(self, index: int, ts_ms: int, force: bool) -> list[tuple[int, str]]:
        maker = self.makers[index]
        view = self._maker_view(maker)
        moved = abs(view - maker.center) * FULL >= self.tick
        if not (force or moved or maker.dirty):
            return []
        maker.center = view
        maker.dirty = False
        top_bid, top_ask = self._maker_tops(maker)
        others_bid = self.book.best_excluding(BID, index)
        others_ask = self.book.best_excluding(ASK, index)
        lifts = others_ask is not None and top_bid >= others_ask
        hits = others_bid is not None and top_ask <= others_bid
        if not (lifts or hits):
            changes = self.book.replace(index, self._maker_orders(index, maker))
            return [self._price_change(ts_ms, changes)] if changes else []
        # A maker whose view has moved through the others' stale quotes takes them first
        # (after pulling its own, so that it never trades with itself), then quotes.
        frames = []
        pulled = self.book.replace(index, {})
        if pulled:
            frames.append(self._price_change(ts_ms, pulled))
        if lifts:
            frames += self._take(ts_ms, ASK, top_bid, 2 * self._lot(maker, BID, top_bid))
        else:
            frames += self._take(ts_ms, BID, top_ask, 2 * self._lot(maker, ASK, top_ask))
        posted = self.book.replace(index, self._maker_orders(index, maker))
        if posted:
            frames.append(self._price_change(ts_ms, posted))
        return frames

    def _refresh_background(self) -> list[tuple[int, int, int]]:
        fair = self.fair * FULL
        best_bid, best_ask = self.book.best(BID), self.book.best(ASK)
        active = set(self.background_active)
        for key in self.background:
            side, price = key
            distance = fair - price if side == BID else price - fair
            if key in active and distance < BACKGROUND_CANCEL_DISTANCE:
                active.discard(key)
            elif key not in active and distance >= BACKGROUND_RESTORE_DISTANCE:
                crosses = (side == BID and best_ask is not None and price >= best_ask) or (
                    side == ASK and best_bid is not None and price <= best_bid
                )
                if not crosses:
                    active.add(key)
        changes: list[tuple[int, int, int]] = []
        if self.book.orders[WALL_OWNER] != self.walls:
            # The last-resort quotes are topped up once takers have eaten into them.
            changes += self.book.replace(WALL_OWNER, self.walls)
        if active != self.background_active:
            self.background_active = active
            orders = {key: self.background[key] for key in active}
            changes += self.book.replace(BACKGROUND_OWNER, orders)
        return changes

    def _take(self, ts_ms: int, side: int, limit: int, size: int) -> list[tuple[int, str]]:
        """A taker walks one side of the Up book up to `limit`: hitting Up asks is buying Up
        (or selling Down), hitting Up bids is selling Up (or buying Down)."""
        levels = self.book.levels[side]
        changes: list[tuple[int, int, int]] = []
        fills: list[tuple[int, int]] = []
        while size > 0 and levels:
            price = max(levels) if side == BID else min(levels)
            if (side == ASK and price > limit) or (side == BID and price < limit):
                break
            owners = [i for i, orders in self.book.orders.items() if (side, price) in orders]
            taken = self.book.take(side, price, size)
            for owner in owners:
                if owner < len(self.makers) and not self.makers[owner].dirty:
                    # a maker that was filled tops its ladder up after a short reaction time
                    self.makers[owner].dirty = True
                    delay = self.rng.expovariate(1 / REFILL_MEAN_MS)
                    self.schedule(ts_ms + 1 + delay, MAKER_REFILL, owner)
            size -= taken
            fills.append((price, taken))
            changes.append((side, price, levels.get(price, 0)))
        if not fills:
            return []
        frames = [self._price_change(ts_ms, changes)]
        # A fill of an Up ask is also the fill of the mirrored Down bid, and the other way
        # round, so each match prints on both tokens (the taker's side on the Up token).
        up_side, down_side = ("BUY", "SELL") if side == ASK else ("SELL", "BUY")
        for price, taken in fills:
            frames.append(self._trade(ts_ms, "up", price, up_side, taken))
            frames.append(self._trade(ts_ms, "down", FULL - price, down_side, taken))
        self.last_trade = (fills[-1][0], FULL - fills[-1][0])
        return frames

    def _taker_size(self) -> int:
        rng = self.rng
        shares = math.exp(rng.gauss(math.log(25.0), 1.0))
        if rng.random() < 0.05:
            shares *= 20
        return max(500, round(shares * 100))

    def _noise_taker(self, ts_ms: int) -> list[tuple[int, str]]:
        # Noise takers lean with the fair value: they buy Up more often when Up is likely.
        side = ASK if self.rng.random() < 0.3 + 0.4 * self.fair else BID
        best = self.book.best(side)
        if best is None:
            return []
        slippage = 2 * self.tick
        limit = best + slippage if side == ASK else best - slippage
        return self._take(ts_ms, side, limit, self._taker_size())

    def _take_on_edge(self, ts_ms: int) -> list[tuple[int, str]]:
        fair = round(self.fair * FULL)
        best_bid, best_ask = self.book.best(BID), self.book.best(ASK)
        if best_ask is not None and fair - best_ask >= INFORMED_EDGE:
            return self._take(ts_ms, ASK, fair - INFORMED_EDGE // 2, self._taker_size())
        if best_bid is not None and best_bid - fair >= INFORMED_EDGE:
            return self._take(ts_ms, BID, fair + INFORMED_EDGE // 2, self._taker_size())
        return []

    def _needs_fine_tick(self) -> bool:
        if self.tick == FINE_TICK:
            return False
        best_bid, best_ask = self.book.best(BID), self.book.best(ASK)
        return (best_bid is not None and best_bid > FINE_TICK_ABOVE) or (
            best_ask is not None and best_ask < FINE_TICK_BELOW
        )

    # ---- the event loop ------------------------------------------------------------------

    def frames(self) -> Iterator[tuple[int, str]]:
        rng = self.rng
        for index, maker in enumerate(self.makers):
            maker.center = self._maker_view(maker)
            self.book.replace(index, self._maker_orders(index, maker))
        self._refresh_background()
        yield self._snapshots(self.start_ms)

        queue = self.queue
        now = self.start_ms
        self.schedule(now + MODEL_STEP_MS, MODEL)
        self.schedule(now + BACKGROUND_STEP_MS, BACKGROUND)
        self.schedule(now + rng.expovariate(NOISE_TAKERS_PER_MINUTE / 60_000), TAKER)
        for index, maker in enumerate(self.makers):
            self.schedule(now + rng.expovariate(1 / maker.mean_check_ms), MAKER_CHECK, index)

        last_ms = self.end_ms - QUIET_TAIL_MS
        while queue:
            now, _, kind, index = heapq.heappop(queue)
            if now >= last_ms:
                break
            out: list[tuple[int, str]] = []
            if kind == MODEL:
                step = (now - self.start_ms) // MODEL_STEP_MS
                self.consensus_noise = 0.97 * self.consensus_noise + rng.gauss(0.0, 0.03)
                self.fair = _sigmoid(_logit(self.probability(step)) + self.consensus_noise)
                if rng.random() < INFORMED_PROBABILITY:
                    # reaction time, so trades do not all land on the model's 500 ms grid
                    self.schedule(now + rng.uniform(20.0, MODEL_STEP_MS - 20.0), INFORMED)
                self.schedule(now + MODEL_STEP_MS, MODEL)
            elif kind == BACKGROUND:
                changes = self._refresh_background()
                if changes:
                    out.append(self._price_change(now, changes))
                self.schedule(now + BACKGROUND_STEP_MS + rng.uniform(-300.0, 300.0), BACKGROUND)
            elif kind == INFORMED:
                out += self._take_on_edge(now)
            elif kind == TAKER:
                out += self._noise_taker(now)
                self.schedule(now + rng.expovariate(NOISE_TAKERS_PER_MINUTE / 60_000), TAKER)
            else:
                out += self._requote(index, now, force=rng.random() < REFRESH_PROBABILITY)
                if kind == MAKER_CHECK:
                    mean_ms = self.makers[index].mean_check_ms
                    self.schedule(now + 1 + rng.expovariate(1 / mean_ms), MAKER_CHECK, index)
            if self._needs_fine_tick():
                out += self._tick_change(now)
            yield from out
        yield self._resolution()


def simulate(
    asset: str, windows: int, seed: int, start: int | None = None
) -> Iterator[WindowSimulator]:
    """Consecutive windows of one asset; each opens at the previous one's close."""
    check_asset(asset)
    if type(windows) is not int or windows < 0:
        raise ValueError(f"window count {windows!r} is not a non-negative int")
    first = check_start(DEFAULT_START if start is None else start)
    open_price: float | None = None
    for index in range(windows):
        window = WindowSimulator(asset, first + index * WINDOW_SECONDS, seed, open_price=open_price)
        open_price = window.close_price
        yield window
