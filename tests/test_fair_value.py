"""A window's reference state: the open, S, the running TWAP, the anchored fair value, its
age and the resolution check."""

from __future__ import annotations

import pytest
from gabagool.config import load_settings
from gabagool.core import Volatility, fair_anchored, fair_model, parse_reference_price
from gabagool.fair_value import FairSettings, WindowFair, buy_gate, log_loss, resolution_check
from gabagool.venues.polymarket.reference_frames import ReferenceTick
from hypothesis import given, settings
from hypothesis import strategies as st

START, END = 1_800_000_000_000, 1_800_000_900_000
OPEN = parse_reference_price("100000")
FAIR = FairSettings()


def usd(text: str) -> int:
    return parse_reference_price(text)


def spot(ts_ms: int, price: int, asset: str = "btc") -> ReferenceTick:
    return ReferenceTick(asset, "polybolt", "spot", price, ts_ms)


def window(**kwargs: int) -> WindowFair:
    return WindowFair("btc", START, END, FAIR, **kwargs)


def test_settings_convert_to_the_core_units() -> None:
    fair = FairSettings.from_settings(load_settings(dotenv=None, environ={}).reference)
    assert fair == FairSettings()
    custom = load_settings(dotenv=None, environ={"GABAGOOL_REFERENCE_STALE_AFTER": "2.5",
                                                 "GABAGOOL_REFERENCE_VOL_CAP": "0.001",
                                                 "GABAGOOL_REFERENCE_FAIR_EDGE": "0.025",
                                                 "GABAGOOL_REFERENCE_WHEN_STALE": "pause"})
    converted = FairSettings.from_settings(custom.reference)
    assert (converted.stale_after_ms, converted.vol_cap_ppb) == (2_500, 1_000_000)
    assert (converted.fair_edge, converted.when_stale) == (25_000, "pause")


def test_the_open_is_the_first_tick_at_or_after_the_start() -> None:
    fair = window()
    fair.on_tick(spot(START - 1, usd("99000")))
    assert fair.open_price is None and fair.value(START) is None
    fair.on_tick(spot(START + 300, OPEN))
    fair.on_tick(spot(START + 1300, usd("100100")))
    assert fair.open_price == OPEN
    other = window(price_to_beat=usd("100050"))
    other.on_tick(spot(START + 300, OPEN))
    assert other.open_price == usd("100050")


def test_without_a_book_the_value_is_the_model_and_says_so() -> None:
    fair = window()
    fair.on_tick(spot(START, OPEN))
    fair.on_tick(spot(START + 60_000, usd("100040")))
    value = fair.value(START + 61_000)
    assert value is not None and not value.anchored
    expected, _ = fair_model(usd("100040"), OPEN, fair.volatility.sigma_ppb, END - START - 61_000)
    assert (value.up, value.model_up, value.up + value.down) == (expected, expected, 1_000_000)
    assert (value.age_ms, value.ms_left, value.stale) == (1_000, END - START - 61_000, False)


def test_anchored_on_the_mid_moved_by_the_reference_since_the_book_moved() -> None:
    # the anchored value alone (no model in the mix)
    fair = WindowFair("btc", START, END, FairSettings(model_weight=0))
    fair.on_tick(spot(START, OPEN))
    fair.on_tick(spot(START + 1_000, usd("100010")))
    now = START + 2_000
    fair.on_mid(455_000, now)
    value = fair.value(now)
    assert value is not None and value.anchored and value.up == 455_000
    fair.on_tick(spot(START + 2_000, usd("100030")))  # the reference moves, the book not yet
    value = fair.value(now)
    assert value is not None
    sigma = fair.volatility.sigma_ppb
    assert (value.up, value.down) == fair_anchored(455_000, usd("100010"), usd("100030"), OPEN,
                                                   sigma, END - now, book_ms_left=END - now)
    assert value.up > 455_000
    fair.on_mid(470_000, now)  # the book catches up: the anchor moves with it
    value = fair.value(now)
    assert value is not None and value.up == 470_000
    fair.on_mid(470_000, now)  # an unchanged mid is not a book move
    fair.on_tick(spot(START + 3_000, usd("100000")))
    value = fair.value(now)
    assert value is not None and value.up < 470_000
    # without a time, the book moved when the latest reference price was stamped; as time
    # passes with the price above the open, the value sharpens as the model does
    fair.on_tick(spot(START + 4_000, usd("100030")))
    fair.on_mid(520_000)
    assert fair.value(START + 4_000).up == 520_000  # type: ignore[union-attr]
    later = fair.value(END - 120_000)
    assert later is not None and later.up > 520_000


def test_a_price_sampled_before_the_book_moved_but_received_after_is_its_anchor() -> None:
    # the feed lags: the book moved at +2.5 s, the price sampled at +2.0 s arrives later
    fair = WindowFair("btc", START, END, FairSettings(model_weight=0))
    fair.on_tick(spot(START, OPEN))
    fair.on_tick(spot(START + 1_000, usd("100010")))
    fair.on_mid(455_000, START + 2_500)
    fair.on_tick(spot(START + 2_000, usd("100030")))
    value = fair.value(START + 2_500)
    assert value is not None and value.up == 455_000  # the book had seen that move
    fair.on_tick(spot(START + 3_000, usd("100050")))  # sampled after: a move the book missed
    value = fair.value(START + 3_100)
    sigma = fair.volatility.sigma_ppb
    assert value is not None and value.up > 455_000
    assert (value.up, value.down) == fair_anchored(
        455_000, usd("100030"), usd("100050"), OPEN, sigma, END - START - 3_100,
        book_ms_left=END - START - 2_500)


def test_model_weight_is_a_setting_in_thousandths_between_0_and_1() -> None:
    from gabagool.config import ConfigError

    def weight(text: str) -> int:
        environ = {"GABAGOOL_REFERENCE_MODEL_WEIGHT": text}
        return FairSettings.from_settings(load_settings(dotenv=None, environ=environ)
                                          .reference).model_weight

    assert (weight("0"), weight("0.25"), weight("1")) == (0, 250, 1000)
    for bad in ("1.001", "-0.1", "0.0005"):
        with pytest.raises(ConfigError, match="reference.model_weight"):
            weight(bad)


def test_the_fair_value_mixes_the_anchored_value_and_the_model_per_mille() -> None:
    values = {}
    for weight in (0, 500, 1000):
        fair = WindowFair("btc", START, END, FairSettings(model_weight=weight))
        fair.on_tick(spot(START, OPEN))
        fair.on_tick(spot(START + 1_000, usd("100020")))
        fair.on_mid(430_000, START + 1_000)
        values[weight] = fair.value(START + 1_000)
    book, mixed, model = (values[w] for w in (0, 500, 1000))
    assert book is not None and mixed is not None and model is not None
    assert book.up == 430_000 and model.up == model.model_up > 500_000
    assert mixed.up == (book.up + model.up + 1) // 2 and mixed.up + mixed.down == 1_000_000
    with pytest.raises(ValueError, match="model_weight"):
        FairSettings(model_weight=1001)


def test_the_running_twap_is_the_exact_time_weighted_spot_of_the_last_minute() -> None:
    fair = window()
    fair.on_tick(spot(START, OPEN))
    twap_start = END - 60_000
    fair.on_tick(spot(twap_start - 5_000, usd("100010")))  # held into the window
    assert fair.twap_fixed(twap_start) is None
    fair.on_tick(spot(twap_start + 20_000, usd("100040")))
    # 20 s at 100010, then 10 s at 100040 so far
    assert fair.twap_fixed(twap_start + 30_000) == (usd("100010") * 20 + usd("100040") * 10) // 30
    value = fair.value(twap_start + 30_000)
    assert value is not None
    fixed = fair.twap_fixed(twap_start + 30_000)
    expected, _ = fair_model(usd("100040"), OPEN, fair.volatility.sigma_ppb, 30_000, 60_000, fixed)
    assert value.model_up == expected


def test_a_silent_feed_ages_into_stale_and_old_ticks_are_ignored() -> None:
    fair = window()
    assert fair.stale(START)
    fair.on_tick(spot(START + 1_000, OPEN))
    assert not fair.stale(START + 6_000)
    assert fair.stale(START + 6_001)
    value = fair.value(START + 6_001)
    assert value is not None and value.stale and value.age_ms == 5_001
    fair.on_tick(spot(START + 500, usd("1")))
    fair.on_tick(spot(START + 2_000, usd("5"), asset="eth"))
    assert (fair.spot, fair.out_of_order) == (OPEN, 1)
    fair.on_tick(ReferenceTick("btc", "polybolt", "twap", usd("99990"), START + 1_500))
    assert (fair.twap, fair.spot) == (usd("99990"), OPEN)


def test_resolution_from_the_twap_at_the_end_against_the_exchange() -> None:
    fair = window()
    fair.on_tick(spot(START, OPEN))
    assert fair.resolution("up").agree is None
    fair.on_tick(ReferenceTick("btc", "polybolt", "twap", usd("99990"), END - 1_000))
    fair.on_tick(ReferenceTick("btc", "polybolt", "twap", usd("100001"), END + 1_000))
    fair.on_tick(ReferenceTick("btc", "polybolt", "twap", usd("99999"), END))
    check = fair.resolution("up")
    assert (check.ours, check.settlement, check.agree) == ("down", usd("99999"), False)
    assert fair.resolution("down").agree is True


def test_resolution_falls_back_to_our_own_spot_average() -> None:
    fair = window()
    fair.on_tick(spot(START, OPEN))
    fair.on_tick(spot(END - 60_000, usd("100000")))
    fair.on_tick(spot(END - 30_000, usd("99998")))
    assert fair.settlement_price() is None  # the window is not over
    fair.on_tick(spot(END + 1_000, usd("99000")))
    assert fair.settlement_price() == ((usd("100000") + usd("99998")) // 2, "spot average")
    assert fair.resolution("down").agree is True


def test_the_buy_gate_asks_for_the_edge_below_fair_and_follows_the_stale_setting() -> None:
    fair = WindowFair("btc", START, END, FairSettings(model_weight=0))  # fair value = the mid
    fair.on_tick(spot(START, OPEN))
    fair.on_mid(400_000)
    value = fair.value(START + 1_000)
    assert value is not None and (value.up, value.down) == (400_000, 600_000)
    up, down = buy_gate(value, "up", FAIR), buy_gate(value, "down", FAIR)
    assert (up.limit, down.limit) == (385_000, 585_000)  # the default edge, 1.5 cents
    assert up.allows(385_000) and not up.allows(385_001)
    stale = fair.value(START + 10_000)
    assert stale is not None and stale.stale
    fallback = buy_gate(stale, "up", FAIR)
    assert (fallback.limit, fallback.paused, fallback.reason) == (None, False, "stale reference")
    assert fallback.allows(990_000)
    pause = FairSettings(when_stale="pause")
    assert not buy_gate(stale, "up", pause).allows(1)
    assert buy_gate(None, "down", pause).reason == "no reference"


def test_the_volatility_can_carry_over_from_the_previous_window() -> None:
    first = window()
    for i in range(30):  # 2 bp moves every second
        first.on_tick(spot(START + i * 1000, OPEN + (OPEN // 5000 if i % 2 else 0)))
    assert first.volatility.sigma_ppb > FAIR.vol_initial_ppb
    carried = WindowFair("btc", END, END + 900_000, FAIR, volatility=first.volatility)
    fresh = WindowFair("btc", END, END + 900_000, FAIR)
    assert carried.volatility.sigma_ppb == first.volatility.sigma_ppb
    assert fresh.volatility.sigma_ppb == FAIR.vol_initial_ppb
    assert isinstance(fresh.volatility, Volatility)


def test_log_loss_scores_forecasts_against_winners() -> None:
    assert log_loss([]) is None
    assert log_loss([(500_000, "up"), (500_000, "down")]) == pytest.approx(0.693147, abs=1e-6)
    sure = log_loss([(900_000, "up"), (100_000, "down")])
    unsure = log_loss([(600_000, "up"), (400_000, "down")])
    assert sure is not None and unsure is not None and sure < unsure
    assert log_loss([(1_000_000, "down")]) == pytest.approx(13.8155, abs=1e-3)


def test_ties_resolve_up() -> None:
    assert resolution_check(OPEN, OPEN, "up").ours == "up"
    assert resolution_check(OPEN, OPEN - 1, "up").agree is False
    assert resolution_check(None, OPEN, "up").ours is None


def test_a_window_must_end_after_it_starts() -> None:
    with pytest.raises(ValueError, match="not after its start"):
        WindowFair("btc", END, START, FAIR)


@settings(max_examples=100, deadline=None)
@given(moves=st.lists(st.tuples(st.integers(1, 4_000), st.integers(-50, 50),
                                st.none() | st.integers(1, 999_999)), min_size=1, max_size=80),
       now_after=st.integers(0, 10_000))
def test_any_stream_gives_a_probability_and_the_running_twap_stays_in_range(
    moves: list[tuple[int, int, int | None]], now_after: int
) -> None:
    fair = window()
    ts, price, prices = END - 90_000, OPEN, []
    for dt, bps, mid in moves:
        ts += dt
        price += OPEN // 10_000 * bps
        prices.append(price)
        fair.on_tick(spot(ts, price))
        if mid is not None:
            fair.on_mid(mid)
    fair.set_price_to_beat(OPEN)
    value = fair.value(ts + now_after)
    assert value is not None and value.up + value.down == 1_000_000
    assert 0 <= value.up <= 1_000_000
    fixed = fair.twap_fixed(ts + now_after)
    if fixed is not None:
        assert min(prices) <= fixed <= max(prices)
