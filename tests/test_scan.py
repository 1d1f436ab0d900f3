"""The strategy scan: hand-worked rules, and invariants over random books and positions.

Every intent the core returns is checked against an independent Fraction computation of the
rule it claims (reference.py): the pairing and opening bounds with the order's own fee per
share, max_delta, the cutoffs, a halt, the liquidity rule, the capital room, and for the
equalizer zero delta and max_pair_cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import pytest
from gabagool import _core
from gabagool.errors import ParamsError
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import MICRO, PICO, SIZE_STEP, buy_cost, dollars, per_share, taker_fee

SHARE = MICRO
OPEN = 600_000  # ms to the window's end: well outside both cutoffs
OTHER = {"up": "down", "down": "up"}
CRYPTO = _core.FeeSchedule(72_000)


def mirrored(up_bids: list[tuple[int, int]], up_asks: list[tuple[int, int]], tick: int = 10_000):
    """A window whose Down book mirrors Up's: an Up bid at p is a Down ask at 1 - p."""
    market = _core.Market("up-token", "down-token", tick)
    market.apply_snapshot("up", up_bids, up_asks)
    market.apply_snapshot(
        "down", [(MICRO - p, s) for p, s in up_asks], [(MICRO - p, s) for p, s in up_bids]
    )
    return market


def shares(levels: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return [(price, n * SHARE) for price, n in levels]


def by_outcome(intents: list[_core.Intent]) -> dict[str, _core.Intent]:
    return {intent.outcome: intent for intent in intents}


# ---- hand-worked rules ---------------------------------------------------------------------


def test_up_ask_at_040_opens_with_a_bid_joining_the_best_bid() -> None:
    market = mirrored(shares([(390_000, 100)]), shares([(400_000, 100)]))
    intents = by_outcome(
        _core.accumulate(market, _core.Position(), _core.StrategyParams(), CRYPTO, OPEN)
    )
    up = intents["up"]
    # The opening rule allows 0.45, but a bid at the 0.40 ask would cross: join 0.39.
    assert (up.action, up.price, up.size, up.rule) == ("buy", 390_000, 10 * SHARE, "opening")
    assert (up.order_type, up.post_only) == ("GTC", True)
    # Down's bid is 0.60: its opening bid rests at the 0.45 bound, below the market.
    assert intents["down"].price == 450_000


def test_down_at_055_pairs_with_avg_up_040_under_target_098_minus_the_fee() -> None:
    position = _core.Position()
    position.buy("up", 400_000, 10 * SHARE, 0)
    taker = _core.StrategyParams(mode="taker")
    # Down ask 0.55: 0.55 + fee 0.01782 + 0.40 = 0.96782 <= 0.98.
    market = mirrored(shares([(450_000, 100)]), shares([(460_000, 100)]))
    down = by_outcome(_core.accumulate(market, position, taker, CRYPTO, OPEN))["down"]
    assert (down.price, down.size, down.rule, down.order_type) == (
        550_000,
        10 * SHARE,
        "pairing",
        "FAK",
    )
    # Down ask 0.57: 0.57 + 0.01764 + 0.40 > 0.98, although 0.57 <= 0.58 before the fee.
    market = mirrored(shares([(430_000, 100)]), shares([(440_000, 100)]))
    assert "down" not in by_outcome(_core.accumulate(market, position, taker, CRYPTO, OPEN))
    # As a maker (no fee) the Down bid may rest at 0.58 exactly.
    market = mirrored(shares([(400_000, 100)]), shares([(430_000, 100)]))
    maker = by_outcome(_core.accumulate(market, position, _core.StrategyParams(), CRYPTO, OPEN))
    assert (maker["down"].price, maker["down"].rule) == (580_000, "pairing")


def test_taker_walks_the_book_up_to_the_rules_limit() -> None:
    position = _core.Position()
    position.buy("up", 400_000, 10 * SHARE, 0)
    taker = _core.StrategyParams(mode="taker", trade_size=20 * SHARE)
    # Down asks: 6 at 0.54, 6 at 0.55, 50 at 0.60 (beyond the 0.56 limit): 12 shares.
    market = mirrored(shares([(460_000, 6), (450_000, 6), (400_000, 50)]), shares([(470_000, 100)]))
    down = by_outcome(_core.accumulate(market, position, taker, CRYPTO, OPEN))["down"]
    assert (down.price, down.size) == (550_000, 12 * SHARE)


def test_instant_pair_takes_both_asks() -> None:
    market = _core.Market("u", "d")
    market.apply_snapshot("up", shares([(390_000, 50)]), shares([(400_000, 50)]))
    market.apply_snapshot("down", shares([(480_000, 50)]), shares([(500_000, 50)]))
    intents = _core.accumulate(market, _core.Position(), _core.StrategyParams(), CRYPTO, OPEN)
    assert [(i.outcome, i.price, i.rule, i.order_type) for i in intents] == [
        ("up", 400_000, "instant_pair", "FAK"),
        ("down", 500_000, "instant_pair", "FAK"),
    ]


def test_cutoffs_halt_and_stale_feed() -> None:
    position = _core.Position()
    position.buy("up", 400_000, 8 * SHARE, 0)
    market = mirrored(shares([(390_000, 100)]), shares([(400_000, 100)]))
    params = _core.StrategyParams()
    inside_open = _core.accumulate(market, position, params, CRYPTO, 120_000)
    assert [(i.outcome, i.size) for i in inside_open] == [("down", 8 * SHARE)]
    assert _core.accumulate(market, position, params, CRYPTO, 10_000) == []
    assert _core.accumulate(market, position, params, CRYPTO, OPEN, halted=True) == []
    assert _core.accumulate(market, position, params, CRYPTO, OPEN, feed_stale=True) == []
    assert _core.accumulate(market, position, params, CRYPTO, OPEN, capital_room=0) == []


def test_the_unhedged_room_drops_only_buys_that_would_add_exposure_beyond_it() -> None:
    # 40 Up held: a 10-share Up bid adds 10 unhedged shares, the Down bid removes 10
    position = _core.Position()
    position.buy("up", 300_000, 40 * SHARE, 0)
    market = mirrored(shares([(390_000, 100)]), shares([(400_000, 100)]))
    params = _core.StrategyParams()
    both = ["up", "down"]
    for room, sides in ((None, both), (10 * SHARE, both), (5 * SHARE, ["down"]), (0, ["down"])):
        intents = _core.accumulate(market, position, params, CRYPTO, OPEN, unhedged_room=room)
        assert [i.outcome for i in intents] == sides, room


def test_equalizer_buys_the_lagging_side_under_max_pair_cost() -> None:
    position = _core.Position()
    position.buy("up", 400_000, 30 * SHARE, 0)
    position.buy("down", 500_000, 10 * SHARE, 0)
    params = _core.StrategyParams()
    # 10 Down at p: (5 + 10p)/20 + 0.40 < 1  <=>  p < 0.70; Down's bid 0.71 caps nothing.
    market = mirrored(shares([(250_000, 100)]), shares([(290_000, 100)]))
    [bid] = _core.equalize(market, position, params, CRYPTO, OPEN)
    assert (bid.outcome, bid.price, bid.size, bid.rule) == (
        "down",
        690_000,
        10 * SHARE,
        "equalize_maker",
    )
    market = mirrored(shares([(350_000, 100)]), shares([(360_000, 100)]))
    [repair] = _core.equalize(market, position, params, CRYPTO, OPEN, urgent=True)
    assert (repair.price, repair.order_type, repair.rule) == (650_000, "FAK", "equalize_taker")
    [bid] = _core.equalize(
        market, position, params, CRYPTO, OPEN, urgent=True, fills_confirmed=False
    )
    assert bid.rule == "equalize_maker"
    assert _core.equalize(market, position, params, CRYPTO, OPEN, halted=True) == []


def test_risk_metrics_and_flatten_of_a_skewed_position() -> None:
    position = _core.Position()
    position.buy("up", 500_000, 30 * SHARE, 0)
    position.buy("down", 450_000, 10 * SHARE, 0)
    market = _core.Market("u", "d")
    market.apply_snapshot("up", shares([(400_000, 50)]), shares([(420_000, 50)]))
    market.apply_snapshot("down", shares([(560_000, 50)]), shares([(580_000, 50)]))
    params = _core.StrategyParams(max_delta=15 * SHARE)
    risk = _core.risk_metrics(market, position, params)
    assert (risk.delta, risk.unhedged, risk.heavy) == (20 * SHARE, 20 * SHARE, "up")
    assert risk.over_max_delta and risk.exit_liquidity_ok and risk.stop_loss_triggered
    # The excess cost 10 and is marked at 20 x 0.40 = 8 at the bid.
    assert risk.unhedged_mark_loss == 2_000_000 * MICRO
    assert risk.capital_deployed == 19_500_000 * MICRO
    [exit_] = _core.flatten(market, position, params, CRYPTO)
    # Buying 20 Down at 0.58 (+0.35078) beats selling 20 Up at 0.40 (-0.3456): -1.45 vs -1.85.
    assert (exit_.outcome, exit_.action, exit_.price, exit_.rule) == (
        "down",
        "buy",
        580_000,
        "stop_loss_buy",
    )


def test_params_validate_with_the_field_and_value() -> None:
    with pytest.raises(ParamsError, match="min_order_size = 20000000"):
        _core.StrategyParams(min_order_size=20 * SHARE)
    with pytest.raises(ParamsError, match='mode = "both"'):
        _core.StrategyParams(mode="both")
    params = _core.StrategyParams(mode="taker", max_delta=0)
    assert (params.mode, params.max_delta, params.target_pair_cost) == ("taker", 0, 980_000)


# ---- invariants over random books and positions -------------------------------------------


@dataclass
class Case:
    market: _core.Market
    position: _core.Position
    params: _core.StrategyParams
    fees: tuple[int, int, bool]
    ms_to_end: int

    @property
    def schedule(self) -> _core.FeeSchedule:
        return _core.FeeSchedule(*self.fees)

    def qty(self, outcome: str) -> int:
        return self.position.qty_up if outcome == "up" else self.position.qty_down

    def cost(self, outcome: str) -> int:
        return self.position.cost_up if outcome == "up" else self.position.cost_down


@st.composite
def ladders(draw: st.DrawFn, tick: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Bids below asks on the tick grid, sizes in micro-shares."""
    slots = MICRO // tick
    # Mostly near the middle, where both rules bite; sometimes anywhere.
    middle = st.integers(slots // 4, 3 * slots // 4)
    bid_top = draw(middle | middle | st.integers(1, slots - 2))
    ask_bottom = draw(st.integers(bid_top + 1, min(slots - 1, bid_top + 12)))
    sizes = st.integers(1, 80).map(lambda n: n * SHARE) | st.integers(1, 80 * SHARE)
    bid_slots = draw(st.lists(st.integers(max(1, bid_top - 8), bid_top), max_size=5, unique=True))
    ask_slots = draw(
        st.lists(st.integers(ask_bottom, min(slots - 1, ask_bottom + 8)), max_size=5, unique=True)
    )
    return (
        [(k * tick, draw(sizes)) for k in bid_slots],
        [(k * tick, draw(sizes)) for k in ask_slots],
    )


@st.composite
def cases(draw: st.DrawFn) -> Case:
    tick = draw(st.sampled_from([10_000, 10_000, 1_000]))
    market = _core.Market("u", "d", tick)
    up_bids, up_asks = draw(ladders(tick))
    market.apply_snapshot("up", up_bids, up_asks)
    shape = draw(st.sampled_from(["mirrored", "shifted", "independent"]))
    if shape == "independent":
        down_bids, down_asks = draw(ladders(tick))
        market.apply_snapshot("down", down_bids, down_asks)
    else:
        # "shifted": the mirror moved down a few ticks, so both asks can sum below $1 for a
        # moment (where instant pairs live).
        shift = draw(st.integers(0, 10)) * tick if shape == "shifted" else 0
        mirror = [(MICRO - p - shift, s) for p, s in up_asks if MICRO - p - shift > 0]
        market.apply_snapshot(
            "down", mirror, [(MICRO - p - shift, s) for p, s in up_bids if MICRO - p - shift > 0]
        )
    fees = draw(
        st.sampled_from([(72_000, 1, True), (0, 1, True), (250_000, 2, True), (72_000, 1, False)])
    )
    position = _core.Position()
    for outcome, price, size in draw(
        st.lists(
            st.tuples(
                st.sampled_from(["up", "down"]),
                st.integers(250_000, 600_000) | st.integers(1, 999_999),
                st.integers(1, 30 * SHARE),
            ),
            max_size=3,
        )
    ):
        position.buy(outcome, price, size, taker_fee(fees[0], fees[1], price, size))
    trade_size = draw(
        st.integers(1, 30).map(lambda n: n * SHARE) | st.integers(SIZE_STEP, 30 * SHARE)
    )
    target = draw(st.integers(850_000, 1_050_000))
    params = _core.StrategyParams(
        mode=draw(st.sampled_from(["maker", "taker"])),
        target_pair_cost=target,
        entry_max_price=draw(st.integers(200_000, 600_000)),
        max_pair_cost=draw(st.integers(target, 1_100_000)),
        trade_size=trade_size,
        min_order_size=draw(st.integers(SIZE_STEP, trade_size)),
        max_delta=draw(st.integers(0, 100 * SHARE) | st.just(50 * SHARE)),
        hedge_slippage=draw(st.integers(0, 50_000)),
        liquidity_multiple=draw(st.integers(0, 3)),
        open_cutoff_ms=120_000,
        quote_cutoff_ms=10_000,
        taker_cutoff_ms=30_000,
        stop_loss_ppm=draw(st.integers(0, 100_000)),
    )
    ms_to_end = draw(
        st.sampled_from([OPEN, OPEN, OPEN, 0, 10_000, 10_001, 30_000, 30_001, 120_000, 120_001])
    )
    return Case(market, position, params, fees, ms_to_end)


def max_cost(case: Case, intent: _core.Intent) -> Fraction:
    """The most an intent could cost filled in full: a FAK at up to its limit, and the fee
    per share peaks at 0.5."""
    rate, exponent, taker_only = case.fees
    if intent.order_type == "GTC":
        return buy_cost(rate, exponent, taker_only, intent.price, intent.size, True)
    fee_price = min(intent.price, MICRO // 2)
    return dollars(intent.price) * dollars(intent.size) + dollars(
        taker_fee(rate, exponent, fee_price, intent.size)
    )


def hedgeable(case: Case, outcome: str) -> bool:
    asks = case.market.levels(outcome, "ask")
    if not asks:
        return False
    bound = asks[0][0] + case.params.hedge_slippage
    depth = sum(size for price, size in asks if price <= bound)
    return depth >= case.params.liquidity_multiple * case.params.trade_size


def check_order_shape(case: Case, intent: _core.Intent) -> None:
    """Maker: a post-only bid on the grid, never crossing, at most one tick over the best bid.
    Taker: a FAK whose limit touches the book and is worth $1."""
    tick = case.market.tick(intent.outcome)
    best_bid = case.market.best_bid(intent.outcome)
    best_ask = case.market.best_ask(intent.outcome)
    assert intent.size % SIZE_STEP == 0 and intent.size > 0
    if intent.order_type == "GTC":
        assert intent.post_only and intent.action == "buy"
        assert intent.price % tick == 0
        assert best_ask is None or intent.price < best_ask[0]
        assert best_bid is None or intent.price <= best_bid[0] + tick
    else:
        assert intent.order_type == "FAK" and not intent.post_only
        if intent.action == "buy":
            assert intent.price * intent.size >= PICO
            filled, _, worst = case.market.walk(intent.outcome, "ask", intent.size, intent.price)
            assert (filled, worst) == (intent.size, intent.price)


def next_tick_allowed_by_book(case: Case, intent: _core.Intent) -> int | None:
    """The maker bid one tick higher, if the book's caps would still allow it."""
    tick = case.market.tick(intent.outcome)
    higher = intent.price + tick
    best_bid = case.market.best_bid(intent.outcome)
    best_ask = case.market.best_ask(intent.outcome)
    if higher >= MICRO or (best_ask is not None and higher >= best_ask[0]):
        return None
    if best_bid is not None and higher > best_bid[0] + tick:
        return None
    return higher


def check_accumulate(case: Case, flags: dict, intents: list[_core.Intent]) -> None:
    params, pos = case.params, case.position
    rate, exponent, taker_only = case.fees
    if (
        flags["halted"]
        or flags["feed_stale"]
        or case.ms_to_end <= params.quote_cutoff_ms
        or abs(pos.delta) > params.max_delta
    ):
        assert intents == []
        return
    inside_open = case.ms_to_end <= params.open_cutoff_ms
    room = flags["capital_room"]
    if room is not None:
        assert sum(max_cost(case, i) for i in intents) * PICO <= room
    if intents and intents[0].rule == "instant_pair":
        up, down = intents
        assert not inside_open
        assert (up.outcome, down.outcome, up.size) == ("up", "down", down.size)
        size = up.size
        assert params.min_order_size <= size <= params.trade_size
        assert abs(pos.delta) + size <= params.max_delta
        for leg in intents:
            check_order_shape(case, leg)
            assert leg.price == case.market.best_ask(leg.outcome)[0]
        both = sum(buy_cost(rate, exponent, taker_only, leg.price, size, False) for leg in intents)
        assert both < dollars(params.target_pair_cost) * dollars(size)
        return
    assert len(intents) <= 2 and len({i.outcome for i in intents}) == len(intents)
    for intent in intents:
        check_order_shape(case, intent)
        assert (intent.action, intent.order_type) == (
            "buy",
            "GTC" if params.mode == "maker" else "FAK",
        )
        side, other = intent.outcome, OTHER[intent.outcome]
        size = intent.size
        assert params.min_order_size <= size <= params.trade_size
        gap = max(case.qty(other) - case.qty(side), 0)
        new_delta = case.qty(side) + size - case.qty(other)
        assert abs(new_delta) <= params.max_delta
        if inside_open:
            assert size <= gap, "inside the open cutoff only |delta|-reducing bids"
        if size > gap:
            assert hedgeable(case, other), "new exposure needs the other side's depth"
        cost = per_share(rate, exponent, taker_only, intent.price, size, intent.order_type == "GTC")
        if case.qty(other) > 0:
            assert intent.rule == "pairing"
            bound = dollars(params.target_pair_cost) - Fraction(
                case.cost(other), case.qty(other) * MICRO
            )
        else:
            assert intent.rule == "opening"
            bound = dollars(params.entry_max_price)
        assert cost <= bound
        higher = next_tick_allowed_by_book(case, intent) if intent.order_type == "GTC" else None
        if higher is not None:  # the bid is the highest the rule allows
            assert per_share(rate, exponent, taker_only, higher, size, True) > bound


accumulate_flags = st.fixed_dictionaries(
    {
        "halted": st.sampled_from([False, False, False, False, True]),
        "feed_stale": st.sampled_from([False, False, False, False, True]),
        "capital_room": st.none() | st.none() | st.integers(0, 20 * PICO),
    }
)


def test_a_taker_buy_cut_by_the_book_below_the_minimum_order_is_not_sent() -> None:
    """Found by hypothesis: 1 micro-share of Up held at 0.25, Down's ask holds 2 shares, the
    minimum order is 2.000001: the 3-share FAK shrank to the 2 offered and was sent."""
    position = _core.Position()
    position.buy("up", 250_000, 1, 0)
    params = _core.StrategyParams(
        mode="taker", target_pair_cost=850_000, entry_max_price=200_000, max_pair_cost=850_000,
        trade_size=3 * SHARE, min_order_size=2 * SHARE + 1, max_delta=50 * SHARE,
        hedge_slippage=0, liquidity_multiple=0, open_cutoff_ms=120_000, quote_cutoff_ms=10_000,
        taker_cutoff_ms=30_000, stop_loss_ppm=0,
    )
    no_flags = {"halted": False, "feed_stale": False, "capital_room": None}
    for depth, sent in ((2, False), (3, True)):
        market = mirrored(shares([(500_000, depth)]), shares([(510_000, 10)]))
        case = Case(market, position, params, (72_000, 1, True), OPEN)
        intents = _core.accumulate(market, position, params, case.schedule, OPEN)
        check_accumulate(case, no_flags, intents)
        assert [(i.outcome, i.size) for i in intents] == ([("down", 3 * SHARE)] if sent else [])


@given(case=cases(), flags=accumulate_flags)
@settings(max_examples=250, deadline=None)
def test_accumulate_never_breaks_a_rule(case: Case, flags: dict) -> None:
    intents = _core.accumulate(
        case.market, case.position, case.params, case.schedule, case.ms_to_end, **flags
    )
    check_accumulate(case, flags, intents)


@given(
    case=cases(),
    urgent=st.booleans(),
    fills_confirmed=st.booleans(),
    halted=st.sampled_from([False, False, False, True]),
)
@settings(max_examples=250, deadline=None)
def test_equalizer_never_overshoots_zero_delta_or_reaches_max_pair_cost(
    case: Case, urgent: bool, fills_confirmed: bool, halted: bool
) -> None:
    params, pos = case.params, case.position
    intents = _core.equalize(
        case.market,
        pos,
        params,
        case.schedule,
        case.ms_to_end,
        urgent=urgent,
        fills_confirmed=fills_confirmed,
        halted=halted,
    )
    lag = abs(pos.delta)
    if halted or case.ms_to_end <= params.quote_cutoff_ms or lag < params.min_order_size:
        assert intents == []
        return
    assert len(intents) <= 1
    if not intents:
        return
    [intent] = intents
    check_order_shape(case, intent)
    side = "down" if pos.delta > 0 else "up"
    heavy = OTHER[side]
    assert (intent.outcome, intent.action) == (side, "buy")
    assert params.min_order_size <= intent.size <= min(lag, params.trade_size)
    if intent.rule == "equalize_taker":
        assert urgent and fills_confirmed and case.ms_to_end > params.taker_cutoff_ms
    else:
        assert intent.rule == "equalize_maker"
    rate, exponent, taker_only = case.fees
    avg_heavy = Fraction(case.cost(heavy), case.qty(heavy) * MICRO)
    maker = intent.order_type == "GTC"

    def pair_cost_after(price: int) -> Fraction:
        paid = buy_cost(rate, exponent, taker_only, price, intent.size, maker)
        held = Fraction(case.cost(side), PICO) + paid
        return held / dollars(case.qty(side) + intent.size) + avg_heavy

    assert pair_cost_after(intent.price) < dollars(params.max_pair_cost)
    higher = next_tick_allowed_by_book(case, intent) if maker else None
    if higher is not None:  # the bid is raised as far as the bound allows
        assert pair_cost_after(higher) >= dollars(params.max_pair_cost)


def mark_value(case: Case, outcome: str, size: int) -> Fraction:
    bid = case.market.best_bid(outcome)
    return Fraction(0) if bid is None else dollars(bid[0]) * dollars(size)


@given(case=cases())
@settings(max_examples=200, deadline=None)
def test_risk_metrics_match_the_reference(case: Case) -> None:
    pos, params = case.position, case.params
    risk = _core.risk_metrics(case.market, pos, params)
    excess = abs(pos.delta)
    assert (risk.delta, risk.unhedged) == (pos.delta, excess)
    assert risk.over_max_delta == (excess > params.max_delta)
    assert risk.capital_deployed == pos.cost_up + pos.cost_down
    assert (risk.worst_case_pnl, risk.best_case_pnl) == (pos.worst_case_pnl, pos.best_case_pnl)
    assert risk.mark_pnl == pos.mark_pnl(case.market)
    held_ok = all(
        case.qty(o) == 0 or sum(s for _, s in case.market.levels(o, "bid")) >= excess
        for o in ("up", "down")
    )
    assert risk.exit_liquidity_ok == held_ok
    if excess == 0:
        assert (risk.heavy, risk.unhedged_mark_loss, risk.stop_loss_triggered) == (None, 0, False)
        return
    heavy = "up" if pos.delta > 0 else "down"
    assert risk.heavy == heavy
    loss = Fraction(case.cost(heavy), PICO) * excess / case.qty(heavy) - mark_value(
        case, heavy, excess
    )
    assert risk.unhedged_mark_loss == max(0, int(loss * PICO // 1))
    # The stop's base never falls below what the window may hold unhedged.
    base = max(Fraction(risk.capital_deployed, PICO), dollars(params.max_delta))
    threshold = Fraction(params.stop_loss_ppm, MICRO) * base
    assert risk.stop_loss_triggered == (params.stop_loss_ppm > 0 and loss > threshold)  # 0: off


def fill_through(case: Case, outcome: str, side: str, size: int) -> _core.Position | None:
    """The position after taking `size` level by level (each level its own taker fill)."""
    after = case.position.copy()
    rate, exponent, _ = case.fees
    left = size
    for price, level in case.market.levels(outcome, side):
        take = min(level, left)
        if take == 0:
            break
        fee = taker_fee(rate, exponent, price, take)
        (after.sell if side == "bid" else after.buy)(outcome, price, take, fee)
        left -= take
    return after if left == 0 else None


@given(case=cases())
@settings(max_examples=200, deadline=None)
def test_flatten_takes_the_exit_with_the_better_worst_case(case: Case) -> None:
    pos, params = case.position, case.params
    intents = _core.flatten(case.market, pos, params, case.schedule)
    if pos.delta == 0:
        assert intents == []
        return
    heavy = "up" if pos.delta > 0 else "down"
    light = OTHER[heavy]
    excess = abs(pos.delta) // SIZE_STEP * SIZE_STEP
    options: dict[str, int] = {}
    for name, outcome, side in (("stop_loss_sell", heavy, "bid"), ("stop_loss_buy", light, "ask")):
        depth = sum(s for _, s in case.market.levels(outcome, side))
        size = min(excess, depth) // SIZE_STEP * SIZE_STEP
        if size < params.min_order_size:
            continue
        after = fill_through(case, outcome, side, size)
        if after is None:
            continue
        if side == "ask":
            worst_price = [p for p, _ in case.market.levels(outcome, "ask")]
            taken = case.market.walk(outcome, "ask", size)[2]
            assert taken in worst_price
            if taken * size < PICO:
                continue
        options[name] = after.worst_case_pnl
    if not options:
        assert intents == []
        return
    [intent] = intents
    assert intent.order_type == "FAK" and intent.size <= excess
    assert intent.rule in options
    assert options[intent.rule] == max(options.values())
    if intent.rule == "stop_loss_sell":
        assert (intent.outcome, intent.action) == (heavy, "sell")
    else:
        assert (intent.outcome, intent.action) == (light, "buy")


@given(
    up_ask=st.integers(10, 90).map(lambda c: c * 10_000),
    down_ask=st.integers(10, 90).map(lambda c: c * 10_000),
    fees=st.sampled_from([(72_000, 1, True), (0, 1, True), (250_000, 2, True)]),
    mode=st.sampled_from(["maker", "taker"]),
)
@settings(max_examples=150, deadline=None)
def test_instant_pair_fires_exactly_when_both_asks_with_fees_are_below_target(
    up_ask: int, down_ask: int, fees: tuple[int, int, bool], mode: str
) -> None:
    market = _core.Market("u", "d")
    market.apply_snapshot("up", [], shares([(up_ask, 100)]))
    market.apply_snapshot("down", [], shares([(down_ask, 100)]))
    params = _core.StrategyParams(mode=mode)
    intents = _core.accumulate(market, _core.Position(), params, _core.FeeSchedule(*fees), OPEN)
    size = params.trade_size
    both = buy_cost(*fees, up_ask, size, False) + buy_cost(*fees, down_ask, size, False)
    fires = both < dollars(params.target_pair_cost) * dollars(size)
    pairs = [(i.outcome, i.price, i.size) for i in intents if i.rule == "instant_pair"]
    assert pairs == ([("up", up_ask, size), ("down", down_ask, size)] if fires else [])
