"""The core's fair value of Up against a plain-Python float model written from DESIGN.md, and
its properties: monotone in the reference price, Up + Down = $1, certain at the end."""

from __future__ import annotations

import math
from fractions import Fraction
from statistics import NormalDist

import pytest
from gabagool.core import (
    ParamsError,
    ParseError,
    Volatility,
    WindowOpen,
    fair_anchored,
    fair_model,
    format_reference_price,
    parse_reference_price,
)
from hypothesis import given, settings
from hypothesis import strategies as st

ATTO = 10**18
MICRO = 1_000_000
NORMAL = NormalDist()
OPEN = 100_000 * ATTO


def usd(text: str) -> int:
    return parse_reference_price(text)


# ---- the float reference ------------------------------------------------------------------


def ref_level(spot: int, ms_left: int, window_ms: int, fixed: int | None) -> Fraction:
    """The settlement's expected level M in dollars, exactly."""
    t = max(ms_left, 0)
    if window_ms == 0 or t >= window_ms:
        return Fraction(spot, ATTO)
    a = spot if fixed is None else fixed
    return Fraction((window_ms - t) * a + t * spot, window_ms * ATTO)


def ref_sd(sigma_ppb: int, ms_left: int, window_ms: int) -> float:
    sigma, t, w = sigma_ppb / 1e9, max(ms_left, 0) / 1000, window_ms / 1000
    if window_ms == 0:
        return sigma * math.sqrt(t)
    if t < w:
        return sigma * (t / w) * math.sqrt(t / 3)
    return sigma * math.sqrt(t - 2 * w / 3)


def ref_model(spot: int, open_: int, sigma_ppb: int, ms_left: int, window_ms: int = 60_000,
              fixed: int | None = None) -> float:
    level, base = ref_level(spot, ms_left, window_ms, fixed), Fraction(open_, ATTO)
    sd = ref_sd(sigma_ppb, ms_left, window_ms)
    if sd == 0:
        return 1.0 if level >= base else 0.0
    return NORMAL.cdf(math.log1p(float((level - base) / base)) / sd)


def ref_anchored(mid: int, at_book: int, spot: int, open_: int, sigma_ppb: int, ms_left: int,
                 window_ms: int = 60_000, fixed: int | None = None) -> float:
    sd = ref_sd(sigma_ppb, ms_left, window_ms)
    if sd == 0:
        return ref_model(spot, open_, sigma_ppb, ms_left, window_ms, fixed)
    if spot == at_book or mid in (0, MICRO):
        return mid / MICRO
    now, then = (ref_level(s, ms_left, window_ms, fixed) for s in (spot, at_book))
    level = mid / MICRO
    return NORMAL.cdf(NORMAL.inv_cdf(level) + math.log1p(float((now - then) / then)) / sd)


def micros(p: float) -> int:
    return min(max(math.floor(p * MICRO + 0.5), 0), MICRO)


# ---- strategies ---------------------------------------------------------------------------

# within +-2% of a BTC-like open, to 8 decimals as PolyBolt sends them
spots = st.integers(-200_000_000_000, 200_000_000_000).map(lambda d: OPEN + d * 10**10)
sigmas = st.integers(10_000, 500_000)
windows = st.sampled_from([60_000, 0, 30_000])
times = st.one_of(st.integers(0, 900_000), st.integers(0, 70_000), st.integers(0, 50))
mids = st.integers(0, MICRO)


# ---- agreement with the reference ---------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(spot=spots, sigma=sigmas, ms_left=times, window=windows, fixed=st.none() | spots)
def test_model_agrees_with_the_float_reference_to_a_micro_dollar(
    spot: int, sigma: int, ms_left: int, window: int, fixed: int | None
) -> None:
    up, down = fair_model(spot, OPEN, sigma, ms_left, window, fixed)
    assert abs(up - micros(ref_model(spot, OPEN, sigma, ms_left, window, fixed))) <= 1
    assert up + down == MICRO


@settings(max_examples=400, deadline=None)
@given(mid=mids, at_book=spots, spot=spots, sigma=sigmas, ms_left=times, window=windows,
       fixed=st.none() | spots)
def test_anchored_agrees_with_the_float_reference_to_a_micro_dollar(
    mid: int, at_book: int, spot: int, sigma: int, ms_left: int, window: int, fixed: int | None
) -> None:
    up, down = fair_anchored(mid, at_book, spot, OPEN, sigma, ms_left, window, fixed)
    expected = ref_anchored(mid, at_book, spot, OPEN, sigma, ms_left, window, fixed)
    assert abs(up - micros(expected)) <= 1
    assert up + down == MICRO


def test_known_values() -> None:
    # 3.75 bps above the open with 421 s left at 5e-5/sqrt(s): Phi(0.3843...) = 0.64957...
    assert fair_model(usd("100037.5"), OPEN, 50_000, 421_000) == (649_572, 350_428)
    assert fair_model(OPEN, OPEN, 50_000, 421_000) == (500_000, 500_000)


# ---- properties ---------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(a=spots, b=spots, sigma=sigmas, ms_left=times, window=windows, fixed=st.none() | spots)
def test_model_is_monotone_in_the_reference_price(
    a: int, b: int, sigma: int, ms_left: int, window: int, fixed: int | None
) -> None:
    low, high = sorted((a, b))
    assert fair_model(low, OPEN, sigma, ms_left, window, fixed)[0] <= fair_model(
        high, OPEN, sigma, ms_left, window, fixed)[0]


@settings(max_examples=300, deadline=None)
@given(mid=mids, at_book=spots, a=spots, b=spots, sigma=sigmas, ms_left=times, window=windows)
def test_anchored_is_monotone_in_the_reference_price_and_stays_a_probability(
    mid: int, at_book: int, a: int, b: int, sigma: int, ms_left: int, window: int
) -> None:
    low, high = sorted((a, b))
    up_low, _ = fair_anchored(mid, at_book, low, OPEN, sigma, ms_left, window)
    up_high, _ = fair_anchored(mid, at_book, high, OPEN, sigma, ms_left, window)
    assert 0 <= up_low <= up_high <= MICRO


@settings(max_examples=300, deadline=None)
@given(spot=spots, sigma=sigmas, ms_left=st.integers(60_000, 900_000))
def test_a_log_move_up_is_worth_what_the_same_move_down_costs(
    spot: int, sigma: int, ms_left: int
) -> None:
    mirrored = OPEN * OPEN // spot  # ln(mirrored / open) = -ln(spot / open), to 1e-18
    up, _ = fair_model(spot, OPEN, sigma, ms_left)
    _, down_of_mirror = fair_model(mirrored, OPEN, sigma, ms_left)
    assert abs(up - down_of_mirror) <= 1


@settings(max_examples=200, deadline=None)
@given(spot=spots, sigma=sigmas, window=windows)
def test_with_no_time_left_the_outcome_is_certain_and_ties_go_up(
    spot: int, sigma: int, window: int
) -> None:
    up, _ = fair_model(spot, OPEN, sigma, 0, window, spot)
    assert up == (MICRO if spot >= OPEN else 0)
    assert fair_model(OPEN, OPEN, sigma, 0, window)[0] == MICRO


@settings(max_examples=200, deadline=None)
@given(bps=st.integers(1, 200), up_side=st.booleans(), sigma=sigmas, ms_left=st.integers(1, 20))
def test_as_time_runs_out_a_clear_lead_becomes_certain(
    bps: int, up_side: bool, sigma: int, ms_left: int
) -> None:
    move = OPEN // 10_000 * bps * (1 if up_side else -1)
    up, _ = fair_model(OPEN + move, OPEN, sigma, ms_left, 60_000, OPEN + move)
    assert up == (MICRO if up_side else 0)
    spot_settled, _ = fair_model(OPEN + move, OPEN, sigma, 1, 0)
    assert spot_settled == (MICRO if up_side else 0)


@settings(max_examples=200, deadline=None)
@given(mid=mids, spot=spots, sigma=sigmas, ms_left=st.integers(1, 900_000))
def test_anchored_is_the_mid_while_the_reference_has_not_moved(
    mid: int, spot: int, sigma: int, ms_left: int
) -> None:
    assert fair_anchored(mid, spot, spot, OPEN, sigma, ms_left) == (mid, MICRO - mid)


def test_the_last_minute_weighs_the_fixed_part_of_the_twap() -> None:
    # below the open now, but 50 of the 60 s already averaged above it: Up is nearly sure
    up, _ = fair_model(usd("99990"), OPEN, 50_000, 10_000, 60_000, usd("100050"))
    assert up > 900_000
    assert fair_model(usd("99990"), OPEN, 50_000, 10_000, 60_000, None)[0] < 100_000


# ---- inputs -------------------------------------------------------------------------------


def test_reference_prices_parse_exactly() -> None:
    assert usd("64119.87342100") == 64_119_873_421_000_000_000_000
    assert usd("76566.66361659291") == 76_566_663_616_592_910_000_000
    assert format_reference_price(usd("64123.50000000")) == "64123.5"
    for bad in ["", "1e5", "-3", "0", "1.", "NaN", "1.0000000000000000001"]:
        with pytest.raises(ParseError):
            parse_reference_price(bad)


def test_bad_model_inputs_are_refused_with_their_name() -> None:
    with pytest.raises(ParseError):
        fair_model(0, OPEN, 50_000, 1000)
    with pytest.raises(ParamsError, match="sigma_ppb"):
        fair_model(OPEN, OPEN, -1, 1000)
    with pytest.raises(ParamsError, match="twap_window_ms"):
        fair_model(OPEN, OPEN, 1, 1000, -5)
    with pytest.raises(ParamsError, match="mid"):
        fair_anchored(MICRO + 1, OPEN, OPEN, OPEN, 50_000, 1000)


# ---- volatility and the open --------------------------------------------------------------


def ref_sigma_ppb(ticks: list[tuple[int, int]], halflife_ms: int, initial: int, floor: int,
                  cap: int) -> int:
    variance, anchor = (initial / 1e9) ** 2, None
    for ts, price in ticks:
        if anchor is None:
            anchor = (ts, price)
            continue
        dt = ts - anchor[0]
        if dt < 1000:
            continue
        last = anchor[1]
        anchor = (ts, price)
        if dt > 60_000:
            continue
        r = math.log1p(float(Fraction(price - last, last)))
        keep = 0.5 ** (dt / halflife_ms)
        variance = keep * variance + (1 - keep) * r * r / (dt / 1000)
    return math.floor(min(max(math.sqrt(variance), floor / 1e9), cap / 1e9) * 1e9 + 0.5)


@settings(max_examples=100, deadline=None)
@given(steps=st.lists(st.tuples(st.integers(200, 3_000), st.integers(-300, 300)), max_size=200))
def test_volatility_agrees_with_the_float_reference(steps: list[tuple[int, int]]) -> None:
    ticks, ts, price = [], 0, OPEN
    for dt, bps_x100 in steps:  # moves of up to 3 bps
        ts += dt
        price += OPEN // 1_000_000 * bps_x100
        ticks.append((ts, price))
    vol = Volatility(120_000, 50_000, 20_000, 400_000)
    for ts, price in ticks:
        vol.update(ts, price)
    assert abs(vol.sigma_ppb - ref_sigma_ppb(ticks, 120_000, 50_000, 20_000, 400_000)) <= 1


def test_volatility_refuses_bad_settings() -> None:
    with pytest.raises(ParamsError, match="initial_ppb"):
        Volatility(1000, 10, 20, 30)
    with pytest.raises(ParamsError, match="halflife_ms"):
        Volatility(0, 20, 20, 30)


def test_window_open_prefers_the_price_to_beat() -> None:
    opening = WindowOpen(900_000)
    assert (opening.price, opening.source) == (None, None)
    assert not opening.observe(899_000, usd("1"))
    assert opening.observe(900_250, usd("2"))
    assert (opening.price, opening.source) == (usd("2"), "reference")
    opening.set_price_to_beat(usd("3"))
    assert not opening.observe(900_000, usd("4"))
    assert (opening.price, opening.source) == (usd("3"), "price_to_beat")
