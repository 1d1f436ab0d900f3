"""The event loop of one simulated window: when each participant acts, in time order.

A heap of (time ms, sequence, kind, index) events; each handler asks the agents what they
want, applies it to the book and has the wire write the frames. Everything random draws from
generators seeded by the window's identity, so a window is a pure function of its inputs.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from typing import TYPE_CHECKING

from gabagool.sim import agents
from gabagool.sim.book import (
    ASK,
    BID,
    COARSE_TICK,
    FINE_TICK,
    FINE_TICK_ABOVE,
    FINE_TICK_BELOW,
    FULL,
    Book,
    Change,
)
from gabagool.sim.model import MODEL_STEP_MS, derive_seed, logit, sigmoid
from gabagool.sim.wire import MarketWire

if TYPE_CHECKING:
    from gabagool.sim.model import UnderlyingPath
    from gabagool.sim.window import WindowSimulator

BACKGROUND_STEP_MS = 2000
# Nothing but the resolution is sent in the last moments, so every frame precedes the end.
QUIET_TAIL_MS = 200

# Event kinds of the simulation's queue.
MODEL, BACKGROUND, TAKER, INFORMED, MAKER_CHECK, MAKER_REFILL = range(6)

Frame = tuple[int, str]


class WindowRun:
    """The state of one pass over a window; `WindowSimulator.frames` makes a fresh one."""

    def __init__(self, window: WindowSimulator, path: UnderlyingPath) -> None:
        self.w = window
        self.path = path
        self.params = window.params
        identity = (window.asset, window.start, window.seed)
        self.rng = random.Random(derive_seed("run", *identity))
        self.wire = MarketWire(
            window.header, window.market_id, random.Random(derive_seed("wire", *identity))
        )
        fees = window.header.fee_schedule
        self.fee_rate = float(fees.rate)
        self.fee_exponent = fees.exponent
        self.start_ms = window.start * 1000
        self.end_ms = window.end * 1000
        self.book = Book()
        self.tick = COARSE_TICK
        self.last_trade = (500, 500)
        self.fair = path.probability(0)
        self.true_probability = self.fair
        self.consensus_noise = 0.0
        low, high = self.params.makers
        self.makers = [
            agents.new_maker(self.rng, self.params) for _ in range(self.rng.randint(low, high))
        ]
        self.background = agents.Background.build(self.rng, self.book)
        self.queue: list[tuple[int, int, int, int]] = []
        self.sequence = 0
        self.informed_probability = self.params.informed_probability * self.params.informed_scale

    def schedule(self, at_ms: float, kind: int, index: int = 0) -> None:
        self.sequence += 1
        heapq.heappush(self.queue, (int(at_ms), self.sequence, kind, index))

    # ---- actions -------------------------------------------------------------------------

    def _view(self, maker: agents.Maker) -> float:
        return agents.maker_view(maker, self.fair, self.rng, self.params)

    def _post(self, index: int, maker: agents.Maker) -> list[Change]:
        return self.book.replace(index, agents.maker_orders(self.book, index, maker, self.tick))

    def _requote(self, index: int, ts_ms: int, force: bool) -> list[Frame]:
        maker = self.makers[index]
        view = self._view(maker)
        moved = abs(view - maker.center) * FULL >= self.params.requote_ticks * self.tick
        if not (force or moved or maker.dirty):
            return []
        maker.center = view
        maker.dirty = False
        top_bid, top_ask = agents.maker_tops(maker, self.tick)
        others_bid = self.book.best_excluding(BID, index)
        others_ask = self.book.best_excluding(ASK, index)
        lifts = others_ask is not None and top_bid >= others_ask
        hits = others_bid is not None and top_ask <= others_bid
        if (lifts or hits) and self.params.informed_pays_fee:
            # taking the others' stale quotes costs the taker fee: a maker does it only when
            # its view is that far through them, and otherwise quotes what does not cross
            decision = agents.informed_taker(
                self.book, view, self.params, self.fee_rate, self.fee_exponent
            )
            lifts = lifts and decision is not None and decision[0] == ASK
            hits = hits and decision is not None and decision[0] == BID
        if not (lifts or hits):
            changes = self._post(index, maker)
            return [self.wire.price_change(ts_ms, self.book, changes)] if changes else []
        # A maker whose view has moved through the others' stale quotes takes them first
        # (after pulling its own, so that it never trades with itself), then quotes.
        frames = []
        pulled = self.book.replace(index, {})
        if pulled:
            frames.append(self.wire.price_change(ts_ms, self.book, pulled))
        if lifts:
            frames += self._take(ts_ms, ASK, top_bid, 2 * agents.lot(maker, BID, top_bid))
        else:
            frames += self._take(ts_ms, BID, top_ask, 2 * agents.lot(maker, ASK, top_ask))
        posted = self._post(index, maker)
        if posted:
            frames.append(self.wire.price_change(ts_ms, self.book, posted))
        return frames

    def _take(self, ts_ms: int, side: int, limit: int, size: int) -> list[Frame]:
        """A taker walks one side of the Up book up to `limit`: hitting Up asks is buying Up
        (or selling Down), hitting Up bids is selling Up (or buying Down)."""
        levels = self.book.levels[side]
        changes: list[Change] = []
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
                    delay = self.rng.expovariate(1 / self.params.refill_mean_ms)
                    self.schedule(ts_ms + 1 + delay, MAKER_REFILL, owner)
            size -= taken
            fills.append((price, taken))
            changes.append((side, price, levels.get(price, 0)))
        if not fills:
            return []
        frames = [self.wire.price_change(ts_ms, self.book, changes)]
        # A fill of an Up ask is also the fill of the mirrored Down bid, and the other way
        # round, so each match prints on both tokens (the taker's side on the Up token).
        up_side, down_side = ("BUY", "SELL") if side == ASK else ("SELL", "BUY")
        for price, taken in fills:
            frames.append(self.wire.trade(ts_ms, "up", price, up_side, taken))
            frames.append(self.wire.trade(ts_ms, "down", FULL - price, down_side, taken))
        self.last_trade = (fills[-1][0], FULL - fills[-1][0])
        return frames

    def _noise_taker(self, ts_ms: int) -> list[Frame]:
        decision = agents.noise_taker(
            self.rng, self.book, self.fair, self.tick, self.params.noise_lean
        )
        if decision is None:
            return []
        side, limit = decision
        return self._take(ts_ms, side, limit, agents.taker_size(self.rng))

    def _informed_taker(self, ts_ms: int) -> list[Frame]:
        decision = agents.informed_taker(
            self.book, self.fair, self.params, self.fee_rate, self.fee_exponent
        )
        if decision is None:
            return []
        side, limit = decision
        return self._take(ts_ms, side, limit, agents.taker_size(self.rng))

    def _needs_fine_tick(self) -> bool:
        if self.tick == FINE_TICK:
            return False
        best_bid, best_ask = self.book.best(BID), self.book.best(ASK)
        return (best_bid is not None and best_bid > FINE_TICK_ABOVE) or (
            best_ask is not None and best_ask < FINE_TICK_BELOW
        )

    def _tick_change(self, ts_ms: int) -> list[Frame]:
        frames = self.wire.tick_changes(ts_ms)
        self.tick = FINE_TICK
        self.background.to_fine_tick(self.book)
        # the snapshot carries the new walls and the old ones turned deep orders
        frames.append(self.wire.snapshots(ts_ms, self.book, self.tick, self.last_trade))
        return frames

    # ---- the loop ------------------------------------------------------------------------

    def frames(self) -> Iterator[Frame]:
        rng = self.rng
        for index, maker in enumerate(self.makers):
            maker.center = self._view(maker)
            self._post(index, maker)
        self.background.refresh(self.book, self.fair)
        yield self.wire.snapshots(self.start_ms, self.book, self.tick, self.last_trade)

        queue = self.queue
        now = self.start_ms
        params = self.params
        noise_rate = params.noise_takers_per_minute / 60_000
        self.schedule(now + MODEL_STEP_MS, MODEL)
        self.schedule(now + BACKGROUND_STEP_MS, BACKGROUND)
        self.schedule(now + rng.expovariate(noise_rate), TAKER)
        for index, maker in enumerate(self.makers):
            self.schedule(now + rng.expovariate(1 / maker.mean_check_ms), MAKER_CHECK, index)

        last_ms = self.end_ms - QUIET_TAIL_MS
        while queue:
            now, _, kind, index = heapq.heappop(queue)
            if now >= last_ms:
                break
            out: list[Frame] = []
            if kind == MODEL:
                step = (now - self.start_ms) // MODEL_STEP_MS
                self.consensus_noise = params.consensus_persistence * self.consensus_noise + (
                    rng.gauss(0.0, params.consensus_step)
                )
                # makers quote from the true price (the model's probability of Up), which
                # the engine's reference feed shows only late and sampled
                self.true_probability = self.path.probability(step)
                self.fair = sigmoid(logit(self.true_probability) + self.consensus_noise)
                if rng.random() < self.informed_probability:
                    # reaction time, so trades do not all land on the model's 500 ms grid
                    self.schedule(now + rng.uniform(20.0, MODEL_STEP_MS - 20.0), INFORMED)
                self.schedule(now + MODEL_STEP_MS, MODEL)
            elif kind == BACKGROUND:
                changes = self.background.refresh(self.book, self.fair)
                if changes:
                    out.append(self.wire.price_change(now, self.book, changes))
                self.schedule(now + BACKGROUND_STEP_MS + rng.uniform(-300.0, 300.0), BACKGROUND)
            elif kind == INFORMED:
                out += self._informed_taker(now)
            elif kind == TAKER:
                out += self._noise_taker(now)
                self.schedule(now + rng.expovariate(noise_rate), TAKER)
            else:
                out += self._requote(index, now, force=rng.random() < params.refresh_probability)
                if kind == MAKER_CHECK:
                    mean_ms = self.makers[index].mean_check_ms
                    self.schedule(now + 1 + rng.expovariate(1 / mean_ms), MAKER_CHECK, index)
            if self._needs_fine_tick():
                out += self._tick_change(now)
            yield from out
        yield self.wire.resolution(self.end_ms, self.path.up_wins)
