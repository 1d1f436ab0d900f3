"""The Rust core (`gabagool._core`): exact fixed-point books, frames, position and scan math.

Units, everywhere: prices in micro-dollars per share (0.52 -> 520_000, 0 < p < 1_000_000),
sizes in micro-shares (12.5 -> 12_500_000), money in pico-dollars (1e-12 $) unless a name
says otherwise, fees in micro-dollars. Errors are the classes of `gabagool.errors`.
"""

from fractions import Fraction
from typing import Literal, Self, final

BookSide = Literal["bid", "ask"]
Outcome = Literal["up", "down"]
Level = tuple[int, int]
"""(price micro-dollars, size micro-shares)"""
WalkResult = tuple[int, int, int | None]
"""(filled micro-shares, notional pico-dollars before fees, worst price touched or None)"""

# ---- fixed: exact decimal parsing -------------------------------------------------------

def parse_price(text: str) -> int:
    """`"0.52"` -> 520_000. ParseError unless a plain decimal with <= 6 places in (0, 1)."""

def parse_size(text: str) -> int:
    """`"12.5"` -> 12_500_000. ParseError unless a plain decimal with <= 6 places, >= 0."""

def format_micros(micros: int) -> str:
    """520_000 -> `"0.52"`: the shortest exact decimal of an amount in millionths."""

# ---- book: one token's order book ---------------------------------------------------------

@final
class Book:
    """One token's book on a 0.0001 price ladder; best prices in O(1)."""

    def __new__(cls, tick: int = 10_000) -> Self:
        """`tick` in micro-dollars: one of 100_000, 10_000, 1_000, 100 (else BookError)."""
    def apply_snapshot(self, bids: list[Level], asks: list[Level]) -> None:
        """Replace the whole book (levels in any order, zero sizes skipped); new epoch."""
    def set_level(self, side: BookSide, price: int, size: int) -> None:
        """Set a level's total size, 0 removes it. BookError before the first snapshot."""
    def invalidate(self) -> None:
        """Empty the book and start a new epoch; updates are refused until a snapshot."""
    @property
    def best_bid(self) -> Level | None: ...
    @property
    def best_ask(self) -> Level | None: ...
    def levels(self, side: BookSide) -> list[Level]:
        """Levels from the best outward (not for the hot path)."""
    def level_count(self, side: BookSide) -> int: ...
    def depth_within(self, side: BookSide, bound: int) -> int:
        """Micro-shares at prices no worse than `bound` (asks <= bound, bids >= bound)."""
    def walk(self, side: BookSide, size: int, limit: int | None = None) -> WalkResult:
        """Take up to `size` from the best level outward, stopping past `limit`."""
    @property
    def is_crossed(self) -> bool: ...
    @property
    def tick(self) -> int: ...
    @tick.setter
    def tick(self, tick: int) -> None: ...
    @property
    def epoch(self) -> int: ...
    @property
    def has_snapshot(self) -> bool: ...

# ---- market: a window's two books --------------------------------------------------------

@final
class Market:
    """The Up and Down books of one window, with the token ids that name them on the wire."""

    def __new__(cls, up_token: str, down_token: str, tick: int = 10_000) -> Self: ...
    def token(self, outcome: Outcome) -> str: ...
    def apply_snapshot(self, outcome: Outcome, bids: list[Level], asks: list[Level]) -> None: ...
    def set_level(self, outcome: Outcome, side: BookSide, price: int, size: int) -> None: ...
    def best_bid(self, outcome: Outcome) -> Level | None: ...
    def best_ask(self, outcome: Outcome) -> Level | None: ...
    def levels(self, outcome: Outcome, side: BookSide) -> list[Level]: ...
    def depth_within(self, outcome: Outcome, side: BookSide, bound: int) -> int: ...
    def walk(
        self, outcome: Outcome, side: BookSide, size: int, limit: int | None = None
    ) -> WalkResult: ...
    def is_crossed(self, outcome: Outcome) -> bool: ...
    def tick(self, outcome: Outcome) -> int: ...
    def epoch(self, outcome: Outcome) -> int: ...
    def has_snapshot(self, outcome: Outcome) -> bool: ...
    # -- the market channel (wire): frames in, books updated, a summary out --------------
    def apply_frame(self, frame: bytes | str) -> FrameSummary:
        """Parse one market-channel frame (an object or an array of them) and apply it.

        `book` replaces a token's book; `price_change` sets levels of whichever tokens it
        names; `tick_size_change` drops the token's book until a snapshot; trades, quotes,
        resolution and new markets are reported; unknown events and fields are ignored, as
        are events for other tokens (counted). Duplicates (same timestamp and content) are
        dropped. A frame's `best_bid`/`best_ask` are checked against the book when its burst
        (events sharing a timestamp) ends: at the next timestamp or at `end_batch()`. A
        token found inconsistent is emptied and waits for a snapshot; the other token is
        never touched. FrameError (and nothing applied) when the frame is not readable JSON,
        is over 8 MiB, or nests deeper than 32.
        """
    def end_batch(self) -> FrameSummary:
        """Check the burst in progress now: call when no more frames are queued."""
    def begin_resync(self, outcome: Outcome) -> None:
        """Start a REST resync: the token's book empties and its updates are buffered."""
    def apply_rest_book(self, outcome: Outcome, body: bytes | str) -> FrameSummary:
        """Replace the token's book with a `GET /book?token_id=` body and replay the
        updates buffered since `begin_resync` that are newer than its timestamp.

        FrameError when the body is not one readable book of this token with a ms timestamp.
        The summary carries `resync_gap` when buffered updates newer than the snapshot were
        lost (the token then keeps buffering for a fresher snapshot). A body older than what
        a WebSocket snapshot already brought is ignored (counted as `stale_rest_books`).
        """
    def needs_resync(self) -> int:
        """Bit 0 Up, bit 1 Down: books not trusted until a snapshot."""
    def counters(self) -> dict[str, int]:
        """Market-wide counts (`frames`, `events`, `duplicates`, `unknown_events`,
        `foreign_events`, `frame_errors`, `quotes`, `new_markets`, `resolutions`,
        `missing_asset`, `stale_rest_books`), then per token `up_*` / `down_*`: `events`,
        `snapshots`, `trades`, `resyncs`, `tick_changes`, `ignored_deltas`,
        `buffered_deltas`, `problems`, and one count per problem code."""

ProblemCode = Literal[
    "bad_number",
    "bad_field",
    "off_grid",
    "no_snapshot",
    "best_mismatch",
    "crossed",
    "resync_gap",
    "missing_asset",
]
"""Why a token's data was distrusted (`missing_asset`: an event with no readable asset_id)."""

@final
class FrameSummary:
    """What one call changed. Instances are immutable and may be shared between calls."""

    @property
    def changed(self) -> int:
        """Bit 0 Up, bit 1 Down: the token's best bid or best ask price moved."""
    @property
    def needs_resync(self) -> int:
        """Bit 0 Up, bit 1 Down: the token's book is not trusted until a snapshot."""
    @property
    def resolved(self) -> Outcome | None:
        """The winning outcome, when a `market_resolved` named one of the tokens."""
    @property
    def trades(self) -> list[tuple[Outcome, int, int, Literal["buy", "sell"]]]:
        """`last_trade_price` events: (outcome, price micros, size micros, taker side)."""
    @property
    def problems(self) -> list[str]:
        """`"<up|down|market>:<ProblemCode>"` for each problem found, in order."""
    @property
    def quotes(self) -> list[tuple[Outcome, int | None, int | None]]:
        """`best_bid_ask` events: (outcome, best bid, best ask), None for an empty side."""
    @property
    def new_markets(self) -> list[str]:
        """Slugs of `new_market` announcements."""

@final
class Replay:
    """Several markets fed from one recorded stream; each frame is parsed once and routed
    to the market(s) whose tokens it names (the batch path of `gabagool replay`)."""

    def __new__(cls, markets: list[tuple[str, str, int]]) -> Self:
        """One market per (up_token, down_token, tick micros). BookError for a bad tick."""
    def apply(self, frame: bytes | str) -> bool:
        """Apply one frame; False (and counted) when it is not readable."""
    def apply_many(self, frames: list[bytes] | list[str]) -> int:
        """Apply frames in order; returns how many were not readable."""
    def finish(self) -> None:
        """End of the stream: check the last burst of every market."""
    @property
    def frames(self) -> int: ...
    @property
    def frame_errors(self) -> int: ...
    @property
    def unrouted(self) -> int:
        """Readable frames that named none of the markets' tokens."""
    def report(self) -> list[dict[str, int | str | bool | None]]:
        """Two rows per market (up, then down): `token`, `outcome`, `best_bid`, `best_ask`
        (micros or None), `bid_levels`, `ask_levels`, `frames` (events naming the token),
        `trades`, `resyncs`, `errors` (problems), `needs_resync`, `duplicates` (market)."""

# ---- fair: the reference price and the fair value of Up ------------------------------------
# Reference prices are integers in atto-dollars (1e-18 $: "64123.5" -> 64123500000000000000000),
# exact for PolyBolt's 8 decimals and RTDS's 1e18 fixed point. Volatility is the s.d. of
# one-second log returns in parts per billion per sqrt-second (5e-5 -> 50_000). Fair values
# are micro-dollars, returned as (up, down) with down == 1_000_000 - up exactly. The model
# is the core's one float computation, reproducible bit for bit (its own exp/ln/Phi).

def parse_reference_price(text: str) -> int:
    """`"64123.5"` -> atto-dollars. ParseError unless a plain decimal in (0, 1e15) $ with at
    most 18 decimals."""

def format_reference_price(attos: int) -> str:
    """Atto-dollars -> the shortest exact decimal (`"64123.5"`). ParseError if not > 0."""

def fair_model(
    spot: int,
    open: int,
    sigma_ppb: int,
    ms_left: int,
    twap_window_ms: int = 60_000,
    twap_fixed: int | None = None,
) -> tuple[int, int]:
    """(up, down) micro-dollars from the model alone: `Phi(ln(M / open) / sd)`, where the
    settlement is the average of the last `twap_window_ms` (0: the spot at the end). Before
    that window `M` is the spot and `sd = sigma sqrt(t - 2W/3)`; inside it `M = (e A + t S)/W`
    with `A = twap_fixed` (the average of the part already elapsed; None: the spot) and
    `sd = sigma (t/W) sqrt(t/3)`. With nothing left (`sd = 0`): 1 or 0, ties Up.
    ParseError for a price <= 0; ParamsError for sigma or the window out of range."""

def fair_anchored(
    mid: int,
    spot_at_book: int,
    spot: int,
    open: int,
    sigma_ppb: int,
    ms_left: int,
    twap_window_ms: int = 60_000,
    twap_fixed: int | None = None,
    book_ms_left: int | None = None,
    book_twap_fixed: int | None = None,
) -> tuple[int, int]:
    """(up, down) micro-dollars anchored on the book: `Phi(Phi^-1(mid) + ln(M(spot) /
    M(spot_at_book)) / sd)`, i.e. the mid (micro-dollars in [0, 1_000_000]) moved by what
    the reference's move since the book last moved is worth. `spot == spot_at_book` or a mid
    of 0 or 1_000_000: the mid itself; nothing left to happen: the model's certain outcome.
    With `book_ms_left` (and `book_twap_fixed`, the TWAP's fixed part then), the time left
    when the book last moved: the shift is the model's z-score now minus its z-score then,
    each with its own s.d. (`z = ln(M / open) / sd`), so time passing sharpens the value as
    it sharpens the model. Errors as `fair_model`."""

@final
class Volatility:
    """An EWMA of the feed's one-second log returns (`r^2 / dt` for samples >= 1 s apart,
    weight halving every `halflife_ms`), floored and capped on the way out. Updates under a
    second after the last sample wait for the next; a gap over 60 s re-anchors without a
    sample; older timestamps are ignored."""

    def __new__(cls, halflife_ms: int, initial_ppb: int, floor_ppb: int, cap_ppb: int) -> Self:
        """ParamsError unless halflife > 0 and 0 < floor <= initial <= cap."""
    def update(self, ts_ms: int, price: int) -> bool:
        """One reference price (atto-dollars) stamped `ts_ms`; True when it made a sample."""
    @property
    def sigma_ppb(self) -> int: ...
    @property
    def samples(self) -> int: ...

@final
class WindowOpen:
    """A window's opening reference: Gamma's `priceToBeat` when known (final), else the
    earliest reference update stamped at or after `start_ms`."""

    def __new__(cls, start_ms: int) -> Self: ...
    def observe(self, ts_ms: int, price: int) -> bool:
        """One reference update; True when it became the open."""
    def set_price_to_beat(self, price: int) -> None: ...
    @property
    def start_ms(self) -> int: ...
    @property
    def price(self) -> int | None: ...
    @property
    def source(self) -> Literal["price_to_beat", "reference"] | None: ...

# ---- fees: the exchange's taker fee ------------------------------------------------------

@final
class FeeSchedule:
    """A market's fee schedule (Gamma `feeSchedule`): `fee = shares x rate x (p(1-p))^exponent`,
    truncated to 5 decimals of a dollar, exactly (256-bit intermediate)."""

    def __new__(cls, rate: int, exponent: int = 1, taker_only: bool = True) -> Self:
        """`rate` in millionths (0.072 -> 72_000, within [0, 1_000_000]); `exponent` 1 or 2.
        ParamsError otherwise."""
    @staticmethod
    def parse(rate: str, exponent: int = 1, taker_only: bool = True) -> FeeSchedule:
        """From Gamma's decimal rate (`"0.072"`); ParamsError if it is not one."""
    @property
    def rate(self) -> int: ...
    @property
    def exponent(self) -> int: ...
    @property
    def taker_only(self) -> bool: ...
    def taker_fee(self, price: int, size: int) -> int:
        """Micro-dollars a taker pays for `size` micro-shares at `price`: floor to 1e-5 $ of
        size x rate x (p(1-p))^exponent. ParseError for a price outside (0, 1) or size < 0."""
    def fee(self, price: int, size: int, maker: bool) -> int:
        """The fee of a fill: 0 for a maker when `taker_only`, else the taker fee."""

# ---- position: one window's holdings --------------------------------------------------------

@final
class Position:
    """One market window, average-cost accounting, exact. Quantities in micro-shares, costs
    and PnL in pico-dollars (fees included), fees in micro-dollars. At most 1e14 micro-shares
    (100 million shares) a side."""

    def __new__(cls) -> Self: ...
    def buy(self, outcome: Outcome, price: int, size: int, fee: int) -> None:
        """A buy fill: the shares arrive in full, the fee is paid on top (into the cost).
        PositionError, changing nothing, for size <= 0, a price outside (0, 1), a fee < 0 or
        above the notional, or a side past 1e14 micro-shares."""
    def sell(self, outcome: Outcome, price: int, size: int, fee: int) -> None:
        """A sell fill: the side's cost drops by the sold shares' average cost (floored to a
        pico, so a full sell removes all of it); proceeds - fee - that cost go to `realized`.
        PositionError, changing nothing, as for `buy` or when selling more than is held."""
    @property
    def qty_up(self) -> int: ...
    @property
    def qty_down(self) -> int: ...
    @property
    def cost_up(self) -> int:
        """Pico-dollars paid for the Up shares held, fees included."""
    @property
    def cost_down(self) -> int: ...
    @property
    def realized(self) -> int:
        """Pico-dollars realised by sells: proceeds - fee - average cost removed."""
    @property
    def fees_paid(self) -> int:
        """Micro-dollars of fees on every fill, buys and sells."""
    @property
    def delta(self) -> int:
        """qty_up - qty_down."""
    @property
    def hedged(self) -> int:
        """min(qty_up, qty_down): the matched pairs."""
    def avg(self, outcome: Outcome) -> Fraction | None:
        """Dollars per share paid, fees included, exact; None when none is held."""
    @property
    def pair_cost(self) -> Fraction | None:
        """avg_up + avg_down in dollars, when both sides are held."""
    @property
    def pair_cost_ratio(self) -> tuple[int, int] | None:
        """`pair_cost` as (numerator, denominator) in lowest terms, no `Fraction` built."""
    @property
    def locked_profit(self) -> Fraction:
        """Dollars the matched pairs earn for sure: hedged x (1 - pair_cost); 0 unhedged."""
    @property
    def worst_case_pnl(self) -> int:
        """Pico-dollars if the side held least wins: min(qty) - cost + realized."""
    @property
    def best_case_pnl(self) -> int:
        """Pico-dollars if the side held most wins: max(qty) - cost + realized."""
    def mark_pnl(self, market: Market) -> int:
        """Pico-dollars: holdings at each side's best bid (0 without one) - cost + realized."""
    def copy(self) -> Position: ...

# ---- scan: the strategy's decisions --------------------------------------------------------

Mode = Literal["maker", "taker"]
Action = Literal["buy", "sell"]
OrderType = Literal["GTC", "FAK"]
Rule = Literal[
    "opening",
    "pairing",
    "instant_pair",
    "equalize_maker",
    "equalize_taker",
    "stop_loss_sell",
    "stop_loss_buy",
]

@final
class StrategyParams:
    """The strategy's settings (DESIGN.md defaults). Prices in micro-dollars, sizes in
    micro-shares, times in ms, `stop_loss_ppm` in millionths of the capital deployed.
    ParamsError naming the field and value when one is out of range: pair costs in (0, 2$]
    with max >= target, entry in (0, 1$), sizes >= 0.01 share with min <= trade,
    quote_cutoff <= open_cutoff."""

    def __new__(
        cls,
        *,
        mode: Mode = "maker",
        target_pair_cost: int = 980_000,
        entry_max_price: int = 450_000,
        max_pair_cost: int = 1_000_000,
        trade_size: int = 10_000_000,
        min_order_size: int = 5_000_000,
        max_delta: int = 50_000_000,
        hedge_slippage: int = 20_000,
        liquidity_multiple: int = 3,
        open_cutoff_ms: int = 120_000,
        quote_cutoff_ms: int = 10_000,
        taker_cutoff_ms: int = 30_000,
        stop_loss_ppm: int = 20_000,
        fee_blind: bool = False,
        unhedged_cap: int = 0,
        delta_per_pair_ppm: int = 0,
        skew_ticks_per_clip: int = 0,
        lag_bid_ticks: int = 1,
        mid_edge: int | None = None,
        excess_min_mid: int = 0,
        equalizer: bool = True,
    ) -> Self:
        """Unpaired-risk bounds (0 = off): `unhedged_cap` pico-dollars paid for unpaired
        shares; `delta_per_pair_ppm` |delta| as millionths of the paired quantity (at least
        one trade_size); maker skew `skew_ticks_per_clip` (heavy side lower per clip of
        |delta|) and `lag_bid_ticks` (lagging side over the best bid); `mid_edge` (None =
        off) buys a side only at or under its book mid minus the edge; `excess_min_mid` (0 =
        off) raises |delta| only on a side whose mid is at least this. `fee_blind` decides
        as if no fee were charged (a baseline). `equalizer` False: no equalizer bids (the
        accumulator's pairing bids close the gap)."""
    @property
    def mode(self) -> Mode: ...
    @property
    def target_pair_cost(self) -> int: ...
    @property
    def entry_max_price(self) -> int: ...
    @property
    def max_pair_cost(self) -> int: ...
    @property
    def trade_size(self) -> int: ...
    @property
    def min_order_size(self) -> int: ...
    @property
    def max_delta(self) -> int: ...
    @property
    def hedge_slippage(self) -> int: ...
    @property
    def liquidity_multiple(self) -> int: ...
    @property
    def open_cutoff_ms(self) -> int: ...
    @property
    def quote_cutoff_ms(self) -> int: ...
    @property
    def taker_cutoff_ms(self) -> int: ...
    @property
    def stop_loss_ppm(self) -> int: ...
    @property
    def fee_blind(self) -> bool: ...
    @property
    def unhedged_cap(self) -> int: ...
    @property
    def delta_per_pair_ppm(self) -> int: ...
    @property
    def skew_ticks_per_clip(self) -> int: ...
    @property
    def lag_bid_ticks(self) -> int: ...
    @property
    def mid_edge(self) -> int | None: ...
    @property
    def excess_min_mid(self) -> int: ...
    @property
    def equalizer(self) -> bool: ...

@final
class Intent:
    """An order the strategy wants on the exchange (immutable, hashable, compares by value).
    Sizes are whole 0.01 shares."""

    @property
    def outcome(self) -> Outcome: ...
    @property
    def action(self) -> Action: ...
    @property
    def price(self) -> int:
        """Maker: the bid to rest. Taker: the worst price to take (the limit)."""
    @property
    def size(self) -> int: ...
    @property
    def order_type(self) -> OrderType: ...
    @property
    def post_only(self) -> bool: ...
    @property
    def rule(self) -> Rule:
        """Which rule produced it, so each fill can be checked against that rule."""

def accumulate(
    market: Market,
    position: Position,
    params: StrategyParams,
    fees: FeeSchedule,
    ms_to_end: int,
    *,
    halted: bool = False,
    feed_stale: bool = False,
    capital_room: int | None = None,
    unhedged_room: int | None = None,
) -> list[Intent]:
    """The accumulator's buys right now. Maker mode: the post-only GTC bids that should rest
    (0..2; cancel/replace whatever rests and is not listed). Taker mode: FAK orders to send.

    Pairing rule (other side held): price + fee/share + avg_other <= target_pair_cost.
    Opening rule (other side not held): price + fee/share <= entry_max_price. The fee per share
    is the order's own fee / its size (0 for a maker). A maker bid is the highest such price
    on the tick grid, at most one tick over the best bid and below the best ask; a taker
    order walks the asks up to the highest such price (its limit is the worst level taken).
    Instant pair: both best asks, taker fees included, below target -> two FAK buys, and
    nothing else. Sizes: trade_size, cut so |delta| <= max_delta were it to fill, floored to
    0.01 share, never below min_order_size; a FAK buy is worth at least $1.
    Liquidity: a buy that could raise |delta| needs the other side's asks within
    hedge_slippage of its best to hold liquidity_multiple x trade_size (else it shrinks to
    the gap). Inside open_cutoff (ms_to_end <= it) only bids that shrink |delta|; inside
    quote_cutoff, when halted, when the feed is stale, when |delta| > max_delta or a book has
    no snapshot: nothing. `capital_room` (pico-dollars, None = no cap): the intents together
    cannot cost more, fees included, were they all to fill at their limits. `unhedged_room`
    (micro-shares, None = no cap): a buy that, were it alone to fill, would raise |delta| by
    more is dropped."""

def equalize(
    market: Market,
    position: Position,
    params: StrategyParams,
    fees: FeeSchedule,
    ms_to_end: int,
    *,
    fills_confirmed: bool = True,
    urgent: bool = False,
    halted: bool = False,
) -> list[Intent]:
    """At most one buy of the lagging side, once |delta| >= min_order_size: min(trade_size,
    |delta|) shares (never past zero delta), at the highest price keeping the resulting pair
    cost, fees included, strictly below max_pair_cost. A post-only maker bid (as
    `accumulate` prices one), or a FAK repair when `urgent` and `fills_confirmed` and
    ms_to_end > taker_cutoff_ms and the book offers one. Nothing when halted or inside
    quote_cutoff."""

def buy_within_rule(
    rule: str,
    params: StrategyParams,
    *,
    price: int,
    size: int,
    fee: int,
    qty_self: int,
    cost_self: int,
    qty_other: int,
    cost_other: int,
) -> bool:
    """Whether a buy of `size` at `price` with `fee` (micro-dollars) met `rule`, judged on the
    position just before it (quantities micro-shares, costs pico-dollars), with the scan's
    own bounds: opening p_eff <= entry_max_price, pairing p_eff + avg_other <=
    target_pair_cost (always true while the other side is empty: an instant pair's first
    leg), equalizing avg_self + avg_other < max_pair_cost (strictly, as `equalize` prices
    it; true while the other side is empty), stop-loss and "" (no rule): true. p_eff =
    price + fee / size; compared exactly. Raises ParamsError for an unknown rule name."""

def worst_buy_cost(
    fees: FeeSchedule,
    price: int,
    size: int,
    order_type: OrderType | Literal["FOK"],
    post_only: bool,
) -> int:
    """Pico-dollars a buy of `size` with limit `price` may cost if it fills in full, fee
    included, as the scan reserves capital for its intents: a post-only GTC bid fills as a
    maker at its price; any other order (FOK too) may take up to its limit, with the fee of p =
    min(limit, 0.50), where the fee per share peaks. Raises ParseError for a bad price or
    size, ParamsError for an unknown order type."""

@final
class RiskMetrics:
    """A window's exposure. Money in pico-dollars, quantities in micro-shares."""

    @property
    def delta(self) -> int: ...
    @property
    def unhedged(self) -> int:
        """|delta|."""
    @property
    def heavy(self) -> Outcome | None:
        """The outcome holding the excess; None when flat."""
    @property
    def over_max_delta(self) -> bool: ...
    @property
    def exit_liquidity_ok(self) -> bool:
        """Every held side's total bid depth covers the unhedged quantity."""
    @property
    def capital_deployed(self) -> int:
        """cost_up + cost_down."""
    @property
    def unhedged_mark_loss(self) -> int:
        """Average cost of the excess minus its value at its best bid (nothing without a
        bid), floored to a pico; 0 if not a loss."""
    @property
    def stop_loss_triggered(self) -> bool:
        """unhedged_mark_loss (exact) > stop_loss_ppm / 1e6 x the stop's base: the capital
        deployed, but at least max_delta shares x $1 (so a lone opening leg is not sold
        for a one-tick move)."""
    @property
    def mark_pnl(self) -> int: ...
    @property
    def worst_case_pnl(self) -> int: ...
    @property
    def best_case_pnl(self) -> int: ...

def risk_metrics(market: Market, position: Position, params: StrategyParams) -> RiskMetrics:
    """The risk task's figures for one window (exit fees are weighed by `flatten`)."""

def flatten(
    market: Market, position: Position, params: StrategyParams, fees: FeeSchedule
) -> list[Intent]:
    """The stop-loss / panic exit of the unhedged excess: one FAK, either selling it at the
    bids (`stop_loss_sell`) or buying the missing leg at the asks (`stop_loss_buy`),
    whichever leaves the better worst-case PnL with taker fees (the sell on a tie). Sized to
    what the book can fill now, floored to 0.01 share; empty when flat or when neither
    exit reaches min_order_size."""

# ---- simwire: the simulator's price_change frame -------------------------------------------

def sim_price_change(
    up_token: str,
    down_token: str,
    condition_id: str,
    up_bid: int,
    up_ask: int,
    changes: list[tuple[int, int, int]],
    first_hash: int,
    ts_ms: int,
) -> str:
    """The simulator's `price_change` text: each (side 0 bid / 1 ask, price in thousandths,
    total in hundredths of a share) of the Up book as its Up entry and its Down mirror, hashed
    sha1("<up_token>:<n>") from n = first_hash. ValueError for a price outside 0..=1000."""

# ---- sign: CLOB V2 orders, signed in the core -------------------------------------------

ClobSide = Literal["BUY", "SELL"]
ClobOrderType = Literal["GTC", "GTD", "FOK", "FAK"]

def clob_limit_amounts(
    side: ClobSide, price: int, size: int, tick: int, min_size: int
) -> tuple[int, int]:
    """(maker, taker) micro-units of a resting order of `size` micro-shares (cut to 2 decimals)
    at `price`: a BUY pays size x price pUSD for size shares, a SELL the mirror. `tick` one of
    100_000, 10_000, 1_000, 100. OrderAmountError for a price off the tick or outside
    [tick, 1 - tick], or a size below `min_size` (the market's orderMinSize)."""

def clob_market_amounts(side: ClobSide, price: int, amount: int, tick: int) -> tuple[int, int]:
    """(maker, taker) of a marketable (FOK/FAK) order at worst price `price`: a BUY spends
    `amount` micro-dollars (2 decimals) for shares cut to 4 decimals; a SELL sells `amount`
    micro-shares. OrderAmountError below $1 or for a bad price."""

def clob_l2_signature(secret: str, timestamp: str, method: str, path: str, body: str) -> str:
    """`POLY_SIGNATURE` of an L2 request: urlsafe base64 HMAC-SHA256 of timestamp + method +
    path + body under the urlsafe-base64 secret. SigningError for a secret that is not base64."""

@final
class SignedClobOrder:
    """A signed V2 order: its fields, the exchange's order id and the signature (`0x` hex)."""

    @property
    def order_id(self) -> str: ...
    @property
    def signature(self) -> str: ...
    @property
    def salt(self) -> int: ...
    @property
    def maker(self) -> str: ...
    @property
    def signer(self) -> str: ...
    @property
    def token_id(self) -> str: ...
    @property
    def maker_amount(self) -> int: ...
    @property
    def taker_amount(self) -> int: ...
    @property
    def side(self) -> ClobSide: ...
    @property
    def signature_type(self) -> int: ...
    @property
    def timestamp_ms(self) -> int: ...
    @property
    def expiration(self) -> int: ...
    @property
    def neg_risk(self) -> bool: ...
    def order_json(self) -> str:
        """The signed order object as compact JSON (salt a number, amounts strings)."""
    def post_body(
        self,
        owner: str,
        order_type: ClobOrderType,
        post_only: bool = False,
        defer_exec: bool = False,
    ) -> str:
        """The `POST /order` body, compact JSON in the exchange's field order. SigningError for
        post-only FOK/FAK, a GTD order without expiration or another type with one."""

@final
class ClobOrderSigner:
    """A private key bound to its funder and signature type (0 EOA, 1 proxy, 2 Safe, 3
    deposit wallet), signing for Polygon (chain 137). The key is never shown."""

    def __new__(cls, private_key: str, funder: str | None = None, signature_type: int = 0) -> Self:
        """PrivateKeyError, AddressError (funder required for types 1-3) or SigningError."""
    @property
    def address(self) -> str: ...
    @property
    def funder(self) -> str: ...
    @property
    def signature_type(self) -> int: ...
    def sign_limit(
        self,
        token_id: str,
        side: ClobSide,
        price: int,
        size: int,
        tick: int,
        min_size: int,
        neg_risk: bool,
        salt: int,
        timestamp_ms: int,
        expiration: int = 0,
    ) -> SignedClobOrder:
        """A resting order, amounts as `clob_limit_amounts`. `neg_risk` picks the exchange."""
    def sign_market(
        self,
        token_id: str,
        side: ClobSide,
        price: int,
        amount: int,
        tick: int,
        neg_risk: bool,
        salt: int,
        timestamp_ms: int,
    ) -> SignedClobOrder:
        """A marketable order, amounts as `clob_market_amounts`."""
    def sign_amounts(
        self,
        token_id: str,
        side: ClobSide,
        maker_amount: int,
        taker_amount: int,
        neg_risk: bool,
        salt: int,
        timestamp_ms: int,
        expiration: int = 0,
    ) -> SignedClobOrder:
        """An order with amounts already computed. SigningError for a salt above 2^53 - 1."""
    def clob_auth_signature(self, timestamp: int, nonce: int = 0) -> str:
        """The L1 `POLY_SIGNATURE` (EIP-712 ClobAuth) for `timestamp` unix seconds."""
