"""One window's fair value: S, S_open, sigma, the fair value of Up and Down and its age, kept
from a stream of `ReferenceTick`s and the book's mid; and the resolution check at the end.

Pure: no Trio, no clock of its own. Times are epoch milliseconds passed in by the caller, in
the same clock as the feed's timestamps and the window's bounds, so the engine, replay and
backtests drive it alike. The arithmetic is the core's (`fair_anchored`, `fair_model`,
`Volatility`, `WindowOpen`); this module only keeps the state between calls:
- S: the latest spot tick (by the feed's timestamp; an older one is counted and ignored);
- S_open: Gamma's `priceToBeat` when given, else the first spot tick at or after the start;
- the running TWAP: the time-weighted average of the spot over the part of the settlement
  window already elapsed (each price held until the next), what the model mixes with S in
  the last minute;
- the reference price when the book last moved, which anchors the fair value on the mid.

The fair value is the anchored value and the model's own, mixed by `model_weight` (half
each by default: `python -m gabagool.fair_eval` measures both against the simulator's true
probability).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from gabagool.config import ReferenceSettings
from gabagool.core import Market, Volatility, WindowOpen, fair_anchored, fair_model
from gabagool.venues.polymarket.reference_frames import ReferenceTick

Winner = Literal["up", "down"]


def _ms(seconds: Decimal) -> int:
    return int(seconds * 1000)


def _ppb(sigma: Decimal) -> int:
    return int(sigma * 1_000_000_000)


@dataclass(frozen=True, slots=True)
class FairSettings:
    """The model's settings in the core's units (config validates the exact conversion)."""

    twap_window_ms: int = 60_000
    stale_after_ms: int = 5_000
    fair_edge: int = 15_000  # micro-dollars (docs/STRATEGY.md)
    when_stale: Literal["pair_rules", "pause"] = "pair_rules"
    # a minute: the simulator draws each window's volatility afresh, and a five-minute
    # half-life carried the last window's into the next (MAE against the true probability
    # 1.81 c against 1.54 c with a minute, `python -m gabagool.fair_eval --windows 30
    # --seed 7000`)
    vol_halflife_ms: int = 60_000
    vol_initial_ppb: int = 50_000
    vol_floor_ppb: int = 20_000
    vol_cap_ppb: int = 500_000
    # per mille of the fair value taken from the model alone, the rest from the anchored
    # value (`reference.model_weight`): the mid re-anchors on every maker's stale re-quote,
    # the model lags the price by the feed's second; their errors are independent, so half
    # of each beats either (tuned on seed 7000, docs/FAIR_VALUE.md)
    model_weight: int = 500

    def __post_init__(self) -> None:
        if not 0 <= self.model_weight <= 1000:
            raise ValueError(f"model_weight {self.model_weight} is not in [0, 1000] per mille")

    @classmethod
    def from_settings(cls, reference: ReferenceSettings) -> FairSettings:
        return cls(
            twap_window_ms=_ms(reference.twap_window),
            stale_after_ms=_ms(reference.stale_after),
            fair_edge=int(reference.fair_edge * 1_000_000),
            when_stale=reference.when_stale,
            vol_halflife_ms=_ms(reference.vol_halflife),
            vol_initial_ppb=_ppb(reference.vol_initial),
            vol_floor_ppb=_ppb(reference.vol_floor),
            vol_cap_ppb=_ppb(reference.vol_cap),
            model_weight=int(reference.model_weight * 1000),
        )


@dataclass(frozen=True, slots=True)
class FairValue:
    """The fair value at `now_ms`: micro-dollars of Up and Down (`down = 1e6 - up`)."""

    up: int
    down: int
    model_up: int  # the model alone, for judging the anchoring
    anchored: bool  # False: no mid yet, `up` is the model's
    spot: int  # atto-dollars
    open: int
    sigma_ppb: int
    ms_left: int
    age_ms: int  # since the spot's last update (its feed timestamp)
    stale: bool  # age_ms > stale_after: the gate must not buy on it


@dataclass(frozen=True, slots=True)
class ResolutionCheck:
    """Our winner (settlement price vs open, ties Up) beside the exchange's."""

    ours: Winner | None
    exchange: Winner | None
    settlement: int | None
    open: int | None

    @property
    def agree(self) -> bool | None:
        if self.ours is None or self.exchange is None:
            return None
        return self.ours == self.exchange


@dataclass(frozen=True, slots=True)
class BuyGate:
    """What fair value allows a buy of one side to pay.

    `limit`: the highest price in micro-dollars (fair minus the edge; 0 or less allows
    nothing), or None when fair value sets no limit (no fresh reference price and
    `when_stale = "pair_rules"`: the pair rules alone decide). `paused`: no buy at all (no
    fresh reference price and `when_stale = "pause"`).
    """

    limit: int | None
    paused: bool
    reason: Literal["fair value", "no reference", "stale reference"]

    def allows(self, price: int) -> bool:
        if self.paused:
            return False
        return self.limit is None or price <= self.limit


def buy_gate(value: FairValue | None, outcome: Literal["up", "down"],
             settings: FairSettings) -> BuyGate:
    """The gate on buying `outcome`: `price <= fair - fair_edge` while the fair value is
    fresh; without one, the pair rules alone or a pause, per `when_stale`."""
    if value is None or value.stale:
        reason: Literal["no reference", "stale reference"] = (
            "no reference" if value is None else "stale reference")
        return BuyGate(None, settings.when_stale == "pause", reason)
    fair = value.up if outcome == "up" else value.down
    return BuyGate(fair - settings.fair_edge, False, "fair value")


def resolution_check(open_price: int | None, settlement: int | None,
                     exchange: Winner | None) -> ResolutionCheck:
    """Who won by our view of the reference: Up when the settlement is at or above the open."""
    ours: Winner | None = None
    if open_price is not None and settlement is not None:
        ours = "up" if settlement >= open_price else "down"
    return ResolutionCheck(ours, exchange, settlement, open_price)


class WindowFair:
    """The reference-price state of one window of one asset."""

    def __init__(self, asset: str, start_ms: int, end_ms: int, settings: FairSettings,
                 price_to_beat: int | None = None, volatility: Volatility | None = None) -> None:
        """`volatility`: the asset's running estimate, to carry it from window to window
        (the next window's instance keeps updating it); a fresh one otherwise."""
        if end_ms <= start_ms:
            raise ValueError(f"window end {end_ms} is not after its start {start_ms}")
        self.asset = asset
        self.start_ms, self.end_ms = start_ms, end_ms
        self.settings = settings
        self.opening = WindowOpen(start_ms)
        if price_to_beat is not None:
            self.opening.set_price_to_beat(price_to_beat)
        self.volatility = volatility if volatility is not None else Volatility(
            settings.vol_halflife_ms, settings.vol_initial_ppb, settings.vol_floor_ppb,
            settings.vol_cap_ppb)
        self.spot: int | None = None
        self.twap: int | None = None  # the TWAP feed's last value, for display
        self.spot_ms: int | None = None
        self.out_of_order = 0
        self._twap_start = end_ms - settings.twap_window_ms
        self._held_ms = 0  # ms of the settlement window covered by `_held_sum`
        self._held_sum = 0  # sum of price x ms over them (atto-dollar ms), exact
        self._twap_ticks: list[tuple[int, int]] = []  # the TWAP feed, stamped at or after end
        self._mid: int | None = None
        self._spot_at_book: int | None = None
        self._book_ms: int | None = None  # when the book last moved (see `on_mid`)
        self._book_fixed: int | None = None  # the TWAP's fixed part then

    # ---- input ------------------------------------------------------------------------------

    def set_price_to_beat(self, price: int) -> None:
        self.opening.set_price_to_beat(price)

    def on_tick(self, tick: ReferenceTick) -> None:
        if tick.asset != self.asset:
            return
        if tick.kind == "twap":
            self.twap = tick.price
            if tick.ts_ms >= self.end_ms:
                self._twap_ticks.append((tick.ts_ms, tick.price))
            return
        if self.spot_ms is not None and tick.ts_ms < self.spot_ms:
            self.out_of_order += 1
            return
        if self.spot is not None and self.spot_ms is not None:
            self._hold(self.spot, self.spot_ms, tick.ts_ms)
        self.spot, self.spot_ms = tick.price, tick.ts_ms
        if self._spot_at_book is None:
            self._spot_at_book, self._book_ms = tick.price, tick.ts_ms
        elif self._book_ms is not None and tick.ts_ms < self._book_ms:
            # sampled before the book last moved, received after: the feed lags the world
            # the book's makers quote from by up to ~1.5 s, so this is the reference as it
            # stood when the book moved, and the anchoring's move is counted from it
            # (`python -m gabagool.fair_eval`: MAE 1.51 -> 1.49 c on seed 7000)
            self._spot_at_book = tick.price
        self.volatility.update(tick.ts_ms, tick.price)
        self.opening.observe(tick.ts_ms, tick.price)

    def on_mid(self, mid: int | None, now_ms: int | None = None) -> None:
        """The book's mid (micro-dollars) after a book change; None when a side is empty.

        `now_ms`: when (the caller's clock, as `value`'s); without it, the latest reference
        price's timestamp stands for it. The anchoring reads the mid against the model as it
        stood then, so a book that stays put grows as certain as the model does."""
        if mid != self._mid:
            self._mid = mid
            self._spot_at_book = self.spot
            self._book_ms = now_ms if now_ms is not None else self.spot_ms
            self._book_fixed = None
            if self._book_ms is not None and self._book_ms > self._twap_start:
                self._book_fixed = self.twap_fixed(self._book_ms)

    def _hold(self, price: int, since_ms: int, until_ms: int) -> None:
        """Add `price` held over [since, until] to the settlement window's running sum."""
        lo, hi = max(since_ms, self._twap_start), min(until_ms, self.end_ms)
        if hi > lo:
            self._held_sum += price * (hi - lo)
            self._held_ms += hi - lo

    # ---- output -----------------------------------------------------------------------------

    @property
    def open_price(self) -> int | None:
        return self.opening.price

    def twap_fixed(self, now_ms: int) -> int | None:
        """The spot's average over the settlement window so far (atto-dollars), or None
        before the window or without a price in it."""
        if self.spot is None or self.spot_ms is None or now_ms <= self._twap_start:
            return None
        lo, hi = max(self.spot_ms, self._twap_start), min(now_ms, self.end_ms)
        held_sum, held_ms = self._held_sum, self._held_ms
        if hi > lo:
            held_sum, held_ms = held_sum + self.spot * (hi - lo), held_ms + hi - lo
        return held_sum // held_ms if held_ms else None

    def value(self, now_ms: int) -> FairValue | None:
        """The fair value now; None until both S and S_open are known."""
        open_price = self.opening.price
        if self.spot is None or self.spot_ms is None or open_price is None:
            return None
        ms_left = self.end_ms - now_ms
        window, sigma = self.settings.twap_window_ms, self.volatility.sigma_ppb
        fixed = self.twap_fixed(now_ms) if ms_left < window else None
        model_up, _ = fair_model(self.spot, open_price, sigma, ms_left, window, fixed)
        anchored = self._mid is not None and self._spot_at_book is not None
        if self._mid is not None and self._spot_at_book is not None:
            book_ms_left = None if self._book_ms is None else self.end_ms - self._book_ms
            book_up, _ = fair_anchored(self._mid, self._spot_at_book, self.spot, open_price,
                                       sigma, ms_left, window, fixed, book_ms_left,
                                       self._book_fixed)
            weight = self.settings.model_weight
            up = (weight * model_up + (1000 - weight) * book_up + 500) // 1000
            down = 1_000_000 - up
        else:  # no book yet: the model alone, flagged
            up, down = model_up, 1_000_000 - model_up
        age_ms = max(now_ms - self.spot_ms, 0)
        return FairValue(up, down, model_up, anchored, self.spot, open_price, sigma,
                         max(ms_left, 0), age_ms, age_ms > self.settings.stale_after_ms)

    def stale(self, now_ms: int) -> bool:
        """No spot yet, or none for longer than `stale_after`."""
        return self.spot_ms is None or now_ms - self.spot_ms > self.settings.stale_after_ms

    def settlement_price(self) -> tuple[int, str] | None:
        """(price, how): the TWAP feed's first value stamped at or after the end, else our
        own average of the spot over the whole settlement window once it has passed."""
        if self._twap_ticks:
            return min(self._twap_ticks)[1], "twap"
        if self.spot_ms is not None and self.spot_ms >= self.end_ms:
            average = self.twap_fixed(self.end_ms)
            if average is not None:
                return average, "spot average"
        return None

    def resolution(self, exchange: Winner | None) -> ResolutionCheck:
        settled = self.settlement_price()
        return resolution_check(self.opening.price, settled[0] if settled else None, exchange)


def up_mid(market: Market) -> int | None:
    """Up's mid on `market` (micro-dollars, rounded down): what the fair value is anchored
    on; None while either side of Up's book is empty."""
    bid, ask = market.best_bid("up"), market.best_ask("up")
    if bid is None or ask is None:
        return None
    return (bid[0] + ask[0]) // 2


def log_loss(forecasts: Iterable[tuple[int, Winner]]) -> float | None:
    """Mean log loss of (Up's price in micro-dollars, winner) pairs, the way the fair value
    and the mid are judged against each other; None for no pairs. A report's number, never
    a decision's: a float is fine here. Forecasts are clipped to [1e-6, 1 - 1e-6] so a
    certain forecast that missed costs a finite 13.8."""
    total, count = 0.0, 0
    for up, winner in forecasts:
        p = min(max(up, 1), 999_999) / 1_000_000
        total -= math.log(p if winner == "up" else 1 - p)
        count += 1
    return total / count if count else None
